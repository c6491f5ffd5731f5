// npm cometd@9 + cometd-nodejs-client@2 against ringback.
// usage: node cometd_client.mjs http://127.0.0.1:PORT websocket|long-polling   (GMS_USER names the device)
// Handshakes, subscribes to /_genesys, receives a push the server publishes (notification
// API), unsubscribes; makes a batched subscribe+publish (one POST / one frame) on a broadcast
// channel and a /service/echo request-reply; then has the server forget the session and waits
// for the client to handshake again (402::session_unknown + advice reconnect=handshake) and
// receive again.
import { adapt } from "cometd-nodejs-client";
import { CometD } from "cometd";
import * as ws from "ws";
import { root, user, log, fail, deadline, subscribeDevice, publish, forgetDevice, sleep } from "./common.mjs";

const transport = process.argv[3] || "websocket";
deadline(30000);
adapt();
// GMS requires gms_user on every CometD HTTP request: XHR gets it from requestHeaders, and the
// websocket upgrade from this subclass (the ws package takes headers; browsers use ?gms_user=).
window.WebSocket = class extends ws.WebSocket {
  constructor(url, protocols) { super(url, protocols, { headers: { gms_user: user } }); }
};

const cometd = new CometD();
if (transport === "long-polling") cometd.unregisterTransport("websocket");
cometd.configure({ url: `${root}/genesys/cometd`, logLevel: "warn", requestHeaders: { gms_user: user } });

let handshakes = 0;
let resolveHandshake;
let handshook = new Promise((r) => (resolveHandshake = r));
cometd.addListener("/meta/handshake", (m) => {
  if (!m.successful) { log("handshake attempt failed", JSON.stringify(m.error || m.failure)); return; }
  handshakes += 1;
  log(`handshake #${handshakes} clientId=${m.clientId} transport=${cometd.getTransport().type} reestablish=${m.reestablish}`);
  resolveHandshake(m);
});
let unsuccessful = [];
cometd.addListener("/meta/connect", (m) => { if (!m.successful) unsuccessful.push(m.error); });

function receiveOne(tag) {
  return new Promise((resolve) => {
    const sub = cometd.subscribe("/_genesys", (msg) => {
      log("received", JSON.stringify(msg.data));
      if (msg.data.tag === tag) resolve({ sub, msg });
    }, (reply) => {
      if (!reply.successful) fail(`subscribe failed: ${reply.error}`);
      log("subscribed to /_genesys");
      publish(tag, { state: "QUEUED", ewt: 42 }).then((r) => log("published", r.id));
    });
  });
}

cometd.handshake();
await handshook;
if (cometd.getTransport().type !== transport) fail(`expected transport ${transport}, got ${cometd.getTransport().type}`);
await subscribeDevice("service.ci.*");
const tag1 = `service.ci.status.${process.pid}-1`;
const { sub, msg } = await receiveOne(tag1);
if (msg.channel !== "/_genesys" || msg.data.message.ewt !== 42 || !msg.data.id) fail(`bad push ${JSON.stringify(msg)}`);
await new Promise((resolve) => cometd.unsubscribe(sub, (r) => {
  if (!r.successful) fail(`unsubscribe failed: ${r.error}`);
  log("unsubscribed");
  resolve();
}));

// A batch: subscribe and publish in one request; the publisher gets its own message back.
await new Promise((resolve) => {
  cometd.batch(() => {
    const echo = cometd.subscribe("/ci/room", (m) => {
      if (m.data.n !== 7) fail(`broadcast ${JSON.stringify(m)}`);
      log("broadcast received");
      cometd.unsubscribe(echo);
      resolve();
    }, (r) => { if (!r.successful) fail(`subscribe /ci/room: ${r.error}`); });
    cometd.publish("/ci/room", { n: 7 }, (p) => { if (!p.successful) fail(`publish: ${p.error}`); });
  });
});
// /service/** request-reply: the answer comes to the sender only.
await new Promise((resolve) => {
  const l = cometd.addListener("/service/echo", (m) => {
    if (m.data.ping !== "pong?") fail(`echo ${JSON.stringify(m)}`);
    log("service reply received");
    cometd.removeListener(l);
    resolve();
  });
  cometd.publish("/service/echo", { ping: "pong?" }, (p) => { if (!p.successful) fail(`service: ${p.error}`); });
});

// The server forgets the session; the client must handshake again by itself.
handshook = new Promise((r) => (resolveHandshake = r));
const forgot = await forgetDevice();
if (forgot.removed !== 1) fail(`expected to end 1 session, ended ${forgot.removed}`);
const again = await handshook;
if (handshakes !== 2) fail(`expected a second handshake, saw ${handshakes}`);
if (!unsuccessful.some((e) => String(e).startsWith("402::"))) fail(`no 402 seen on connect: ${unsuccessful}`);
log("re-handshook after", JSON.stringify(unsuccessful), "reestablish", again.reestablish);
await sleep(50);
const tag2 = `service.ci.status.${process.pid}-2`;
await receiveOne(tag2);
cometd.disconnect(() => { log("PASS cometd", transport); process.exit(0); });
