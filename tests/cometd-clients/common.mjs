// Helpers shared by the Node client checks: the server's REST calls a test makes around a
// client (a comet notification subscription, a publish, ending a device's sessions), and a
// deadline so a stuck check fails instead of hanging CI.

export const root = process.argv[2] || "http://127.0.0.1:8080";
export const user = process.env.GMS_USER || `device-${process.pid}`;

export function log(...args) {
  console.log(`[${new Date().toISOString().slice(11, 23)}]`, ...args);
}

export function fail(why) {
  console.error("FAIL:", why);
  process.exit(1);
}

export function deadline(ms) {
  setTimeout(() => fail(`no result within ${ms} ms`), ms).unref();
}

async function call(method, path, body) {
  const resp = await fetch(root + path, {
    method,
    headers: { "content-type": "application/json", gms_user: user },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await resp.text();
  if (resp.status !== 200) fail(`${method} ${path}: ${resp.status} ${text}`);
  return JSON.parse(text);
}

// A comet subscription for this device: what GMS pushes on /_genesys.
export async function subscribeDevice(filter) {
  const r = await call("POST", "/genesys/1/notification/subscription", {
    subscriberId: user, providerName: "ringback-ci",
    notificationDetails: { deviceId: user, type: "comet" }, expire: 300, filter,
  });
  return r.id;
}

export async function publish(tag, message) {
  return call("POST", "/genesys/1/notification/publish", { tag, message, mediaType: "string" });
}

// The server forgets this device's sessions: its clients must handshake again.
export async function forgetDevice() {
  return call("DELETE", `/genesys/1/admin/cometd/sessions/${encodeURIComponent(user)}`);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
