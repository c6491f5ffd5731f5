// npm faye@1.4 against ringback.
// usage: node faye_client.js http://127.0.0.1:PORT websocket|long-polling [gms_user]
// Faye handshakes over HTTP and (websocket mode) moves the session onto a websocket. It
// subscribes to /_genesys, receives a push the server publishes, unsubscribes, then the server
// forgets the session and Faye must handshake again and receive again.
const faye = require("faye");
const root = process.argv[2] || "http://127.0.0.1:8080";
const mode = process.argv[3] || "websocket";
const user = process.argv[4] || `faye-${process.pid}`;

const log = (...a) => console.log(`[${new Date().toISOString().slice(11, 23)}]`, ...a);
const fail = (why) => { console.error("FAIL:", why); process.exit(1); };
setTimeout(() => fail("no result within 30000 ms"), 30000).unref();

async function call(method, path, body) {
  const resp = await fetch(root + path, {
    method, headers: { "content-type": "application/json", gms_user: user },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await resp.text();
  if (resp.status !== 200) fail(`${method} ${path}: ${resp.status} ${text}`);
  return JSON.parse(text);
}

const client = new faye.Client(`${root}/genesys/cometd`, { timeout: 10, retry: 1 });
client.setHeader("gms_user", user); // GMS: every CometD request carries gms_user
if (mode === "long-polling") client.disable("websocket");

let handshakes = 0;
const connectionTypes = new Set();
client.addExtension({
  incoming(msg, cb) {
    if (msg.channel === "/meta/handshake" && msg.successful) { handshakes += 1; log(`handshake #${handshakes} clientId=${msg.clientId}`); }
    if (msg.channel === "/meta/connect" && !msg.successful) log("connect unsuccessful", msg.error, JSON.stringify(msg.advice));
    cb(msg);
  },
  outgoing(msg, cb) {
    if (msg.channel === "/meta/connect") connectionTypes.add(msg.connectionType);
    cb(msg);
  },
});

function receiveOne(tag) {
  return new Promise((resolve) => {
    const sub = client.subscribe("/_genesys", (data) => {
      log("received", JSON.stringify(data));
      if (data.tag === tag) resolve({ sub, data });
    });
    sub.then(() => {
      log("subscribed");
      call("POST", "/genesys/1/notification/publish", { tag, message: { state: "QUEUED", ewt: 42 } })
        .then((r) => log("published", r.id));
    }, (e) => fail(`subscribe failed: ${e && e.message}`));
  });
}

(async () => {
  await call("POST", "/genesys/1/notification/subscription", {
    subscriberId: user, notificationDetails: { deviceId: user, type: "comet" }, expire: 300, filter: "service.ci.*",
  });
  const { sub, data } = await receiveOne(`service.ci.status.${process.pid}-1`);
  if (data.message.ewt !== 42) fail(`bad push ${JSON.stringify(data)}`);
  await sub.cancel();
  log("unsubscribed");
  const forgot = await call("DELETE", `/genesys/1/admin/cometd/sessions/${encodeURIComponent(user)}`);
  if (forgot.removed !== 1) fail(`expected to end 1 session, ended ${forgot.removed}`);
  // Faye handshakes again on its own (advice reconnect=handshake, seen on its next connect).
  while (handshakes < 2) await new Promise((r) => setTimeout(r, 20));
  await receiveOne(`service.ci.status.${process.pid}-2`);
  if (handshakes < 2) fail(`expected a second handshake, saw ${handshakes}`);
  const expected = mode === "websocket" ? "websocket" : "long-polling";
  if (!connectionTypes.has(expected)) fail(`never connected over ${expected}: ${[...connectionTypes]}`);
  log("connection types used:", [...connectionTypes].join(","));
  await client.disconnect();
  log("PASS faye", mode);
  process.exit(0);
})().catch((e) => fail(e && e.stack));
