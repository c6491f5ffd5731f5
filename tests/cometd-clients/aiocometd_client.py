"""PyPI aiocometd-ng 0.5.6 against ringback.

usage: python aiocometd_client.py http://127.0.0.1:PORT websocket|long-polling [gms_user]

Handshakes (over long-polling, then moving to a websocket when asked), subscribes to
/_genesys, receives a push the server publishes, unsubscribes, then the server forgets the
session: the client must handshake again (402 + advice reconnect=handshake) and receive again.
gms_user rides on the URL's query string: aiocometd cannot set headers on its websocket.
"""
import asyncio
import json
import os
import sys
import urllib.request

from aiocometd_ng import Client, ConnectionType

root = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080"
mode = sys.argv[2] if len(sys.argv) > 2 else "websocket"
user = sys.argv[3] if len(sys.argv) > 3 else f"py-{os.getpid()}"


def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(root + path, data=data, method=method,
                                 headers={"content-type": "application/json", "gms_user": user})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200, (method, path, resp.status)
        return json.loads(resp.read())


async def receive(client, tag):
    loop = asyncio.get_running_loop()
    reply = await loop.run_in_executor(None, call, "POST", "/genesys/1/notification/publish",
                                       {"tag": tag, "message": {"state": "QUEUED", "ewt": 42}})
    print("published", reply["id"], flush=True)
    async for message in client:
        print("received", message, flush=True)
        if message["channel"] == "/_genesys" and message["data"]["tag"] == tag:
            return message


async def main():
    call("POST", "/genesys/1/notification/subscription", {
        "subscriberId": user, "notificationDetails": {"deviceId": user, "type": "comet"},
        "expire": 300, "filter": "service.ci.*"})
    ctype = ConnectionType.WEBSOCKET if mode == "websocket" else ConnectionType.LONG_POLLING
    url = f"{root}/genesys/cometd?gms_user={user}"
    async with Client(url, connection_types=[ctype]) as client:
        first_id = client._transport.client_id
        print("open, connection_type =", client.connection_type.value, flush=True)
        assert client.connection_type == ctype, client.connection_type
        await client.subscribe("/_genesys")
        msg = await receive(client, f"service.ci.status.{os.getpid()}-1")
        assert msg["data"]["message"]["ewt"] == 42, msg
        await client.unsubscribe("/_genesys")
        print("unsubscribed", flush=True)
        forgot = call("DELETE", f"/genesys/1/admin/cometd/sessions/{user}")
        assert forgot["removed"] == 1, forgot
        # aiocometd handshakes again by itself (402 + advice reconnect=handshake on its held
        # connect); wait for the new client id, then subscribe anew.
        for _ in range(200):
            if client._transport.client_id not in (None, first_id):
                break
            await asyncio.sleep(0.05)
        assert client._transport.client_id not in (None, first_id), "no second handshake"
        await client.subscribe("/_genesys")
        await receive(client, f"service.ci.status.{os.getpid()}-2")
        print("client ids", first_id, client._transport.client_id, flush=True)
    print("PASS aiocometd", mode, flush=True)


asyncio.run(asyncio.wait_for(main(), 30))
