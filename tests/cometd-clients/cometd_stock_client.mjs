// npm cometd@9 + cometd-nodejs-client@2, unmodified: the gms_user header is given only through
// `requestHeaders` (XHR), so the websocket upgrade carries none. The server refuses such an
// upgrade; the client must fall back to long-polling on its own and receive its pushes there.
// usage: node cometd_stock_client.mjs http://127.0.0.1:PORT
import { adapt } from "cometd-nodejs-client";
import { CometD } from "cometd";
import { root, user, log, fail, deadline, subscribeDevice, publish } from "./common.mjs";

deadline(30000);
adapt();
const cometd = new CometD();
cometd.configure({ url: `${root}/genesys/cometd`, logLevel: "warn", requestHeaders: { gms_user: user } });

const handshook = new Promise((resolve) => {
  cometd.addListener("/meta/handshake", (m) => {
    if (m.successful) resolve(m);
    else log("handshake attempt failed:", JSON.stringify(m.error || m.failure));
  });
});
cometd.handshake();
const h = await handshook;
log(`handshake clientId=${h.clientId} transport=${cometd.getTransport().type}`);
if (cometd.getTransport().type !== "long-polling") {
  fail(`expected the fallback to long-polling, got ${cometd.getTransport().type}`);
}
await subscribeDevice("service.stock.*");
const tag = `service.stock.status.${process.pid}`;
const got = await new Promise((resolve) => {
  cometd.subscribe("/_genesys", (msg) => {
    if (msg.data.tag === tag) resolve(msg);
  }, (reply) => {
    if (!reply.successful) fail(`subscribe failed: ${reply.error}`);
    publish(tag, { state: "QUEUED" }).then((r) => log("published", r.id));
  });
});
if (got.data.message.state !== "QUEUED") fail(`bad push ${JSON.stringify(got)}`);
log("received", JSON.stringify(got.data));
cometd.disconnect();
console.log("ok: a stock client without websocket headers fell back to long-polling and received its push");
process.exit(0);
