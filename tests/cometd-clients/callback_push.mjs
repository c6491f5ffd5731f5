// A delayed callback scenario pushed to an app that uses the stock npm cometd client (gms_user
// given only through requestHeaders, so it runs on long-polling): the app creates the callback
// as the help's sample does (_device_os=comet, _device_notification_id=<gms_user>), an agent
// becomes available, and the app must receive the help's push on /_genesys, then fetch the
// dialog it names and connect. For chat-delayed it also starts the chat and receives the agent's
// message as a push.
// usage: node callback_push.mjs http://127.0.0.1:PORT SERVICE AGENT
import { adapt } from "cometd-nodejs-client";
import { CometD } from "cometd";
import { root, user, log, fail, deadline } from "./common.mjs";

const service = process.argv[3];
const agent = process.argv[4];
deadline(40000);
adapt();

async function http(method, path, form) {
  const resp = await fetch(root + path, {
    method,
    headers: { "content-type": "application/x-www-form-urlencoded", gms_user: user },
    body: form === undefined ? undefined : new URLSearchParams(form).toString(),
  });
  const text = await resp.text();
  return { status: resp.status, body: text ? JSON.parse(text) : null };
}
async function ok(method, path, form, status = 200) {
  const r = await http(method, path, form);
  if (r.status !== status) fail(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}
function same(got, want, what) {
  const a = JSON.stringify(got, Object.keys(got).sort());
  const b = JSON.stringify(want, Object.keys(want).sort());
  if (a !== b) fail(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
}

const cometd = new CometD();
cometd.configure({ url: `${root}/genesys/cometd`, logLevel: "warn", requestHeaders: { gms_user: user } });
const pushes = [];
let waiter = null;
const handshook = new Promise((resolve) => {
  cometd.addListener("/meta/handshake", (m) => { if (m.successful) resolve(m); });
});
cometd.handshake();
await handshook;
await new Promise((resolve) => {
  cometd.subscribe("/_genesys", (msg) => {
    pushes.push(msg.data);
    if (waiter) waiter();
  }, (reply) => { if (!reply.successful) fail(`subscribe: ${reply.error}`); resolve(); });
});
async function nextPush(tagPrefix) {
  for (;;) {
    const i = pushes.findIndex((p) => p.tag.startsWith(tagPrefix));
    if (i >= 0) return pushes.splice(i, 1)[0];
    await new Promise((r) => { waiter = r; });
  }
}
log(`subscribed as ${user} over ${cometd.getTransport().type}`);

// 1. The app asks for the callback, as in the help's sample request.
const created = await ok("POST", `/genesys/1/service/callback/${service}`, {
  _customer_number: "6504661232", usr_customer_name: "Bob Markel", usr_reason: "billing question",
  _device_notification_id: user, _device_os: "comet",
});
const id = created._id;
same(created, { _id: id, _text: "We will notify you when agent is available" }, "create answer");
log("created", id);

// 2. An agent becomes available (accepts the reservation).
await ok("POST", `/ringback/1/agents/${agent}/login`);
await ok("POST", `/ringback/1/agents/${agent}/ready`);
let offer = null;
for (let i = 0; i < 200 && !offer; i++) {
  const a = await ok("GET", `/ringback/1/agents/${agent}`);
  offer = a.offers.find((o) => o.user_data.GMS_ServiceID === id);
}
if (!offer) fail("the agent was never offered the callback");
await ok("POST", `/ringback/1/agents/${agent}/offers/${offer.id}/accept`);

// 3. The push the help shows.
const push = await nextPush(`service.agentavailable.${id}`);
const action = service.startsWith("callback-delayed") ? "get-dialog-user-confirmation"
  : "get-dialog-user-confirmation-provide_code-false";
same(push.message, { _action: action, _id: id }, "push message");
if (push.tag !== `service.agentavailable.${id}` || typeof push.id !== "string") fail(`push ${JSON.stringify(push)}`);
log("pushed", JSON.stringify(push));

// 4. The app fetches the dialog the push names, then connects.
const dialog = await ok("GET", `/genesys/1/service/${id}/${push.message._action}`);
if (!dialog._action) fail(`dialog ${JSON.stringify(dialog)}`);
const connected = await ok("POST", `/genesys/1/service/${id}/connect`);
log("connect answered", JSON.stringify(connected));
if (service.startsWith("chat")) {
  if (connected._action !== "StartChat") fail(`connect: ${JSON.stringify(connected)}`);
  const started = await ok("POST", `/genesys/1/service/${id}/ixn/chat`, { notify_by: "comet", firstName: "John" });
  same(started, { _id: id, comet_channel: "/_genesys" }, "chat start");
  // The agent gets the chat and writes; the app is pushed the message.
  let ixn = null;
  for (let i = 0; i < 200 && !ixn; i++) {
    const a = await ok("GET", `/ringback/1/agents/${agent}`);
    ixn = (a.interactions.find((x) => x.media === "chat" && x.call_state) || {}).id;
  }
  if (!ixn) fail("the chat never reached the agent");
  await ok("POST", `/ringback/1/agents/${agent}/interactions/${ixn}/send`, { message: "Hello Bob" });
  const said = await nextPush(`service.chat.refresh.${id}`);
  if (said.message.transcriptToShow[0][2] !== "Hello Bob") fail(`chat push ${JSON.stringify(said)}`);
  await ok("POST", `/genesys/1/service/${id}/ixn/chat/disconnect`);
} else if (service.startsWith("voice-userorig")) {
  if (connected._action !== "DialNumber") fail(`connect: ${JSON.stringify(connected)}`);
  const call = await ok("POST", "/ringback/1/telephony/calls", { ani: "6504661232", dnis: connected._access_number }, 201);
  if (call.session !== id) fail(`the call went to ${call.session}`);
  await ok("POST", `/ringback/1/telephony/calls/${call.interaction}/hangup`);
} else {
  if (connected._action !== "ConfirmationDialog") fail(`connect: ${JSON.stringify(connected)}`);
}
// 5. The record ends COMPLETED (the user-terminated call is still up: the app hangs up).
let rec = null;
for (const until = Date.now() + 15000; Date.now() < until; ) {
  [rec] = await ok("GET", `/genesys/1/service/callback?_id=${id}`);
  if (rec._callback_state === "PROCESSING" && !service.startsWith("callback-delayed")) continue;
  if (rec._callback_state === "COMPLETED" || rec._callback_state === "PROCESSING") break;
}
log("record", rec._callback_state, rec._callback_reason || "");
if (!["COMPLETED", "PROCESSING"].includes(rec._callback_state)) fail(`record ${JSON.stringify(rec)}`);
cometd.disconnect();
console.log(`ok: ${service} pushed ${action} to a stock long-polling client and went on to ${rec._callback_state}`);
process.exit(0);
