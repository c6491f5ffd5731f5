// npm cometd@9 with its AckExtension (long-polling) against ringback: the handshake reply
// says ext.ack=true, connect replies carrying messages carry batch numbers, and three pushes
// arrive in order.
// usage: node ack_client.mjs http://127.0.0.1:PORT
import { adapt } from "cometd-nodejs-client";
import { CometD } from "cometd";
import { AckExtension } from "cometd/AckExtension.js";
import { root, log, fail, deadline, subscribeDevice, publish } from "./common.mjs";

deadline(20000);
adapt();
const cometd = new CometD();
cometd.unregisterTransport("websocket");
cometd.registerExtension("ack", new AckExtension());
import { user } from "./common.mjs";
cometd.configure({ url: `${root}/genesys/cometd`, logLevel: "warn", requestHeaders: { gms_user: user } });

let handshakeExt = null;
const batches = [];
cometd.addListener("/meta/handshake", (m) => { handshakeExt = m.ext; });
cometd.addListener("/meta/connect", (m) => { if (m.ext && typeof m.ext.ack === "number") batches.push(m.ext.ack); });

const seen = [];
await subscribeDevice("service.ack.*");
cometd.handshake((hs) => {
  if (!hs.successful) return;
  cometd.subscribe("/_genesys", (msg) => {
    seen.push(msg.data.message.n);
    if (seen.length === 3) {
      if (!handshakeExt || handshakeExt.ack !== true) fail(`handshake ext ${JSON.stringify(handshakeExt)}`);
      if (JSON.stringify(seen) !== "[1,2,3]") fail(`order ${seen}`);
      if (!batches.some((b) => b >= 1)) fail(`no ack batch numbers on connect replies: ${batches}`);
      log("received", seen, "ack batches", batches);
      cometd.disconnect(() => { log("PASS ack"); process.exit(0); });
    }
  }, async (reply) => {
    if (!reply.successful) fail(`subscribe ${reply.error}`);
    for (let n = 1; n <= 3; n++) await publish(`service.ack.n.${n}`, { n });
  });
});
