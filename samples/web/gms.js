// gms.js: how the sample talks to GMS. The HTTP API (callback services, the generic service
// API, the per-session dialogs and chat) and the CometD push channel `/_genesys`, with the
// `gms_user` header on every request. No DOM here: `app.js` draws what this module reports.
//
// Two details a web app embedded in another page must get right, both handled below:
// * GMS knows a device by its `gms_user` header. Browsers cannot put headers on a websocket, so
//   CometD runs on long-polling, whose requests carry the header (`requestHeaders`).
// * The sample is a customer's app, not an administrator's: it sends no cookies, so a login
//   cookie of the Service Management UI around it (the Tools > Sample panel) is never taken as
//   the customer's identity. Plain `fetch` with `credentials: "omit"`, and a long-polling
//   transport that does the same (the stock one uses XMLHttpRequest, which always sends the
//   cookies of its own origin).

import { CometD, LongPollingTransport } from "./vendor/cometd/cometd.js";

/** The scenarios of the server's sample configuration (`samples/ringback.ini`). */
export const DEFAULT_SERVICES = [
  "callback-immediate",
  "callback-delayed",
  "callback-scheduled",
  "voice-userorig-immediate",
  "voice-userorig-delay",
  "callback-preview",
  "chat-immediate",
  "chat-delayed",
  "request-interaction",
];

/** The scenario that is not a callback service: `POST /genesys/1/service/request-interaction`. */
export const REQUEST_INTERACTION = "request-interaction";

/** The channel GMS pushes service notifications on (gms-api.md §4). */
export const GENESYS_CHANNEL = "/_genesys";

const SETTINGS_KEY = "gms-sample.settings";
const ACTIVE_KEY = "gms-sample.active";

/** A new opaque device id. `crypto.randomUUID` needs a secure context; this does not. */
export function newGmsUser() {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return `sample-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/**
 * The server the page came from. Served by GMS at `<prefix>/genesys/sample/`, the API is at
 * `<prefix>/genesys/1`; anywhere else, assume the page's origin.
 */
export function defaultBaseUrl(loc = window.location) {
  if (!/^https?:$/.test(loc.protocol)) return "http://127.0.0.1:8080";
  const m = loc.pathname.match(/^(.*?)\/genesys\/sample(\/|$)/);
  return loc.origin + (m ? m[1] : "");
}

/** The settings kept in this browser: server URL, gms_user, the scenario list. */
export function loadSettings(storage = window.localStorage) {
  let saved = {};
  try {
    saved = JSON.parse(storage.getItem(SETTINGS_KEY) || "{}") || {};
  } catch {
    saved = {};
  }
  const settings = {
    baseUrl: typeof saved.baseUrl === "string" && saved.baseUrl.trim() ? saved.baseUrl.trim() : defaultBaseUrl(),
    gmsUser: typeof saved.gmsUser === "string" && saved.gmsUser.trim() ? saved.gmsUser.trim() : newGmsUser(),
    services: Array.isArray(saved.services) && saved.services.length ? saved.services : DEFAULT_SERVICES.slice(),
  };
  // The gms_user is this browser's for good: keep a new one at once.
  if (!saved.gmsUser) saveSettings(settings, storage);
  return settings;
}

export function saveSettings(settings, storage = window.localStorage) {
  storage.setItem(SETTINGS_KEY, JSON.stringify(settings));
}

/** The request the GMS tab follows (kept so a reload, or a push after one, finds it again). */
export function loadActive(storage = window.localStorage) {
  try {
    const a = JSON.parse(storage.getItem(ACTIVE_KEY) || "null");
    return a && typeof a.id === "string" ? a : null;
  } catch {
    return null;
  }
}

export function saveActive(active, storage = window.localStorage) {
  if (active) storage.setItem(ACTIVE_KEY, JSON.stringify(active));
  else storage.removeItem(ACTIVE_KEY);
}

/** `2026-03-02T14:30` (a datetime-local value, local time) as GMS's `yyyy-MM-ddTHH:mm:ss.SSSZ`. */
export function isoUtc(localValue) {
  const d = new Date(localValue);
  if (Number.isNaN(d.getTime())) return null;
  return d.toISOString();
}

/**
 * A failed request: the HTTP status and GMS's error body, `{"exception": "<java class>",
 * "message": "<text>"}` (gms-api.md "Generic error body"), or whatever else came back.
 */
export class GmsError extends Error {
  constructor(status, body, text, url) {
    const said = body && typeof body === "object" && !Array.isArray(body)
      ? body.message || body.error || body.phrase
      : null;
    const fallback = status === 0 ? "the server could not be reached" : (text || "").trim().slice(0, 300);
    super(said || fallback || `HTTP ${status}`);
    this.name = "GmsError";
    this.status = status;
    this.body = body;
    this.url = url;
    this.exception = body && typeof body === "object" ? body.exception || null : null;
  }
}

/**
 * The long-polling transport of the cometd package, sending with `fetch` and no cookies (see the
 * top of this file). Only `xhrSend` changes: what it returns stands in for the XMLHttpRequest
 * that the transport may later read `status` and `readyState` from, or `abort()`.
 */
class CookielessLongPollingTransport extends LongPollingTransport {
  xhrSend(packet) {
    const controller = new AbortController();
    const request = { readyState: 1 /* OPENED */, status: 0, abort: () => controller.abort() };
    fetch(packet.url, {
      method: "POST",
      credentials: "omit",
      cache: "no-store",
      // A synchronous send only happens while the page unloads: let the browser finish it.
      keepalive: packet.sync === true,
      headers: { ...(packet.headers || {}), "Content-Type": "application/json" },
      body: packet.body,
      signal: controller.signal,
    }).then(async (response) => {
      request.status = response.status;
      const text = await response.text();
      request.readyState = 4; // DONE
      if (response.status === 200) packet.onSuccess(text);
      else packet.onError(response.statusText || `HTTP ${response.status}`);
    }, (e) => {
      request.readyState = 4;
      packet.onError(e && e.name === "AbortError" ? "abort" : String(e), e);
    });
    return request;
  }
}

/**
 * One GMS server as the sample uses it. Events (an `EventTarget`):
 * * `exchange`: `{detail: {kind: "request"|"response", method, url, status, body}}` for the log;
 * * `push`: `{detail: {channel, data}}` for each message on `/_genesys`;
 * * `push-status`: `{detail: {state: "connecting"|"connected"|"disconnected"|"failed", transport, error}}`.
 */
export class GmsClient extends EventTarget {
  #cometd = null;

  constructor({ baseUrl, gmsUser }) {
    super();
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.gmsUser = gmsUser;
  }

  /** The URL of an API path (`/service/...`) under `<base>/genesys/1`. */
  api(path) {
    return `${this.baseUrl}/genesys/1${path}`;
  }

  /**
   * A URL the server handed out (`_user_action_url`, `_start_chat_url`, ...), on the server
   * this page talks to: GMS builds them from the address it was reached at (or its
   * `external_url_base`), which may not be the one this page may connect to.
   */
  resolve(url) {
    if (!url) return url;
    if (/^[a-z]+:/i.test(url)) {
      const u = new URL(url);
      const at = u.pathname.indexOf("/genesys/");
      return at >= 0 ? this.baseUrl + u.pathname.slice(at) + u.search : url;
    }
    return this.baseUrl + (url.startsWith("/") ? url : `/${url}`);
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  /**
   * A request with the `gms_user` header; `form` (an object, entries with empty values left
   * out) goes as `application/x-www-form-urlencoded`, as the GMS service API takes it.
   * Resolves to the parsed answer of a 2xx; rejects with a `GmsError` otherwise.
   */
  async request(method, url, form) {
    const headers = { gms_user: this.gmsUser, Accept: "application/json" };
    let body;
    if (form !== undefined) {
      const fields = new URLSearchParams();
      for (const [k, v] of Object.entries(form)) {
        if (v !== undefined && v !== null && String(v) !== "") fields.append(k, String(v));
      }
      body = fields.toString();
      headers["Content-Type"] = "application/x-www-form-urlencoded";
    }
    this.#emit("exchange", { kind: "request", method, url, body: body ? Object.fromEntries(new URLSearchParams(body)) : undefined });
    let response;
    try {
      response = await fetch(url, { method, headers, body, credentials: "omit", cache: "no-store" });
    } catch (e) {
      const err = new GmsError(0, null, String(e), url);
      this.#emit("exchange", { kind: "response", method, url, status: 0, body: err.message, error: true });
      throw err;
    }
    const text = await response.text();
    let parsed = null;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = null;
      }
    }
    this.#emit("exchange", {
      kind: "response", method, url, status: response.status, body: parsed ?? text, error: !response.ok,
    });
    if (!response.ok) throw new GmsError(response.status, parsed, text, url);
    return parsed ?? (text ? text : null);
  }

  // ---- the calls the scenarios make -----------------------------------------------------

  /**
   * `POST /genesys/1/service/callback/{service}`: a callback for `_customer_number`. The device
   * fields tell GMS to push this callback's notifications to this browser over CometD (the
   * server would also use the `gms_user` header alone).
   */
  startCallback(service, fields) {
    return this.request("POST", this.api(`/service/callback/${encodeURIComponent(service)}`), {
      _device_os: "comet",
      _device_notification_id: this.gmsUser,
      ...fields,
    });
  }

  /** `POST /genesys/1/service/request-interaction`: an access number for `_phone_number`. */
  requestInteraction(fields) {
    return this.request("POST", this.api(`/service/${REQUEST_INTERACTION}`), fields);
  }

  /** `DELETE /genesys/1/service/callback/{service}/{id}`. */
  cancelCallback(service, id) {
    return this.request("DELETE", this.api(`/service/callback/${encodeURIComponent(service)}/${encodeURIComponent(id)}`));
  }

  /** `GET /genesys/1/service/callback/{service}/{id}`: the callback's record (its state). */
  callbackRecord(service, id) {
    return this.request("GET", this.api(`/service/callback/${encodeURIComponent(service)}/${encodeURIComponent(id)}`));
  }

  /** `GET /genesys/1/service/{id}/check-queue-position`: position and EWT. */
  checkQueuePosition(id) {
    return this.request("GET", this.api(`/service/${encodeURIComponent(id)}/check-queue-position`));
  }

  /** `GET /genesys/1/service/{id}/{action}`: the dialog a push names (`get-dialog-...`). */
  dialog(id, action) {
    return this.request("GET", this.api(`/service/${encodeURIComponent(id)}/${encodeURIComponent(action)}`));
  }

  /** A URL the server gave (a menu item, a follow-up), with its method (POST unless told). */
  follow(url, method = "POST", form) {
    const m = String(method || "POST").toUpperCase();
    return this.request(m, this.resolve(url), m === "GET" || m === "DELETE" ? undefined : (form || {}));
  }

  /** Chat API v1: `POST {_start_chat_url}` with `notify_by=comet` (the agent's lines are pushed). */
  startChat(url, fields) {
    return this.request("POST", this.resolve(url), { notify_by: "comet", ...fields });
  }

  /** Chat API v1: `POST /genesys/1/service/{id}/ixn/chat/{send|refresh|disconnect|...}`. */
  chat(id, op, fields = {}) {
    return this.request("POST", this.api(`/service/${encodeURIComponent(id)}/ixn/chat/${op}`), fields);
  }

  // ---- push ------------------------------------------------------------------------------

  /**
   * Starts the CometD client: handshake on `<base>/genesys/cometd` with the `gms_user` header,
   * and a subscription to `/_genesys` after every successful handshake (a handshake, the first
   * or one the server asked for after forgetting the session, starts without subscriptions).
   */
  startPush() {
    this.stopPush();
    const cometd = new CometD("gms-sample");
    this.#cometd = cometd;
    cometd.unregisterTransports();
    cometd.registerTransport("long-polling", new CookielessLongPollingTransport());
    cometd.configure({
      url: `${this.baseUrl}/genesys/cometd`,
      requestHeaders: { gms_user: this.gmsUser },
      logLevel: "warn",
      // CometD would run its timers in a Worker made from a blob: URL (so a background tab's
      // throttling does not delay them), which a Content-Security-Policy without
      // `worker-src blob:` forbids; blocked, the timers would never fire. Window timers then.
      useWorkerScheduler: false,
    });
    let last = null;
    let subscribed = false;
    // Reports a change of state (not every connect of a healthy session).
    const status = (state, error) => {
      const key = `${state}|${error || ""}`;
      if (key === last) return;
      last = key;
      this.#emit("push-status", {
        state, error, transport: cometd.getTransport() ? cometd.getTransport().type : "long-polling",
      });
    };
    cometd.addListener("/meta/handshake", (m) => {
      if (cometd !== this.#cometd) return;
      subscribed = false;
      if (!m.successful) {
        status("failed", m.error || (m.failure && m.failure.reason) || "handshake refused");
        return;
      }
      cometd.subscribe(GENESYS_CHANNEL, (msg) => {
        this.#emit("push", { channel: msg.channel, data: msg.data });
      }, (reply) => {
        subscribed = reply.successful;
        if (reply.successful) status("connected");
        else status("failed", reply.error || "subscription refused");
      });
    });
    cometd.addListener("/meta/connect", (m) => {
      if (cometd !== this.#cometd || cometd.isDisconnected()) return;
      // A failed connect: CometD retries (or handshakes again) by itself.
      if (!m.successful) status("connecting", m.error || (m.failure && m.failure.reason));
      else if (subscribed) status("connected");
    });
    status("connecting");
    cometd.handshake();
  }

  /** Ends the CometD session (on leaving the page, or before a new one with new settings). */
  stopPush() {
    const cometd = this.#cometd;
    this.#cometd = null;
    if (cometd && !cometd.isDisconnected()) cometd.disconnect();
  }
}
