// app.js: the sample's screens. The GMS tab sends the request and then does what the server's
// answers say: the scenarios are server-driven (the help's "Implemented Scenarios"), so the app
// only knows the kinds of dialog (`_action`) and follows the URLs they carry:
//
//   ConfirmationDialog  a message and an OK button (following `_user_action_url` if it has one)
//   DisplayMenu         `_content` groups of items, each with a URL to request when chosen
//   DialNumber          the number to call (`_tel_url`): dialled on a phone, shown on a desktop
//   StartChat           a chat started at `_start_chat_url`, the agent's lines pushed over CometD
//   get-dialog*         (in a push) the dialog to fetch: GET /genesys/1/service/{_id}/{_action}
//
// Delayed scenarios wait for a push (`service.agentavailable.<id>` on /_genesys); the app never
// polls for an agent. The Log tab shows every request, answer and push; Queue asks where the
// request stands; Settings keeps the server URL, the gms_user and the scenario list.

import {
  DEFAULT_SERVICES, GmsClient, GmsError, REQUEST_INTERACTION, defaultBaseUrl, isoUtc, loadActive,
  loadSettings, newGmsUser, saveActive, saveSettings,
} from "./gms.js";

const $ = (id) => document.getElementById(id);

/** An element with attributes (`text` sets its text) and children. */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") el.textContent = v;
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c !== undefined && c !== null && c !== false) el.append(c);
  }
  return el;
}

const pretty = (v) => (typeof v === "string" ? v : JSON.stringify(v, null, 2));
const clock = (d = new Date()) => d.toTimeString().slice(0, 8) + "." + String(d.getMilliseconds()).padStart(3, "0");
const FINAL_STATES = new Set(["COMPLETED"]);
const isMobile = () => /Android|iPhone|iPad|iPod|Mobile/i.test(navigator.userAgent);

let settings = loadSettings();
let client = null;
/** The request the GMS tab follows: `{service, id, kind: "callback"|"interaction", state, reason}`. */
let active = loadActive();

// ---- tabs (WAI-ARIA tabs pattern: arrows, Home and End move between tabs) -------------------

const tabs = Array.from(document.querySelectorAll('[role="tab"]'));

function selectTab(tab, focus = false) {
  for (const t of tabs) {
    const selected = t === tab;
    t.setAttribute("aria-selected", String(selected));
    t.tabIndex = selected ? 0 : -1;
    $(t.getAttribute("aria-controls")).hidden = !selected;
  }
  if (focus) tab.focus();
}

for (const tab of tabs) {
  tab.addEventListener("click", () => selectTab(tab));
  tab.addEventListener("keydown", (e) => {
    const i = tabs.indexOf(tab);
    const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    selectTab(tabs[(to + tabs.length) % tabs.length], true);
  });
}

// ---- log ---------------------------------------------------------------------------------

const MAX_LOG = 500;
const logList = $("log");

function updateLogSummary() {
  const n = logList.children.length;
  $("log-summary").textContent = n === 0 ? "No messages yet." : `${n} message(s), newest first.`;
}

/**
 * One log entry: `kind` is request, response, push, info or error; `title` the one-line
 * summary; `body` (any JSON or text) shown under it.
 */
function log(kind, title, body, { status } = {}) {
  const entry = h("li", { class: `entry entry-${kind}`, "data-kind": kind },
    h("div", { class: "entry-head" },
      h("time", { text: clock() }),
      h("span", { class: "kind", text: { request: "→", response: "←", push: "⇠ push", info: "•", error: "✖" }[kind] || kind }),
      status !== undefined ? h("span", { class: `status s${String(status)[0]}`, text: String(status) }) : null,
      h("span", { class: "title", text: title })),
    body === undefined || body === null || body === "" ? null : h("pre", { text: pretty(body) }));
  logList.prepend(entry);
  while (logList.children.length > MAX_LOG) logList.lastElementChild.remove();
  updateLogSummary();
}

$("log-clear").addEventListener("click", () => {
  logList.replaceChildren();
  updateLogSummary();
});

/** A URL as the log shows it: the path, when it is on the configured server. */
function shortUrl(url) {
  return url.startsWith(client.baseUrl) ? url.slice(client.baseUrl.length) || "/" : url;
}

// ---- errors and notices ------------------------------------------------------------------

/** Shows a failed request in `where` (an alert region): GMS's message, its status and exception. */
function showError(where, e) {
  const box = $(where);
  box.replaceChildren();
  if (e instanceof GmsError) {
    box.append(
      h("p", { class: "error-title", text: e.status ? `The server answered ${e.status}` : "No answer from the server" }),
      h("p", { class: "error-message", text: e.message }));
    if (e.exception) box.append(h("p", { class: "error-exception" }, h("code", { text: e.exception })));
  } else {
    box.append(h("p", { class: "error-message", text: String(e && e.message ? e.message : e) }));
  }
  box.hidden = false;
}

function clearError(where) {
  $(where).hidden = true;
  $(where).replaceChildren();
}

function notice(text) {
  $("gms-notice").textContent = text;
}

// ---- the current request -------------------------------------------------------------------

function setActive(next) {
  if (!next || !active || next.id !== active.id) {
    // Another request: what the Queue screen showed was about the previous one.
    $("queue-result").hidden = true;
    clearError("queue-error");
  }
  active = next;
  saveActive(active);
  renderActive();
}

function renderActive() {
  const has = Boolean(active);
  $("request").hidden = !has;
  $("queue-none").hidden = has;
  $("queue-current").hidden = !has;
  const isCallback = has && active.kind === "callback";
  $("cancel").disabled = !isCallback || FINAL_STATES.has(active.state);
  $("check-queue").disabled = !isCallback;
  $("refresh-status").disabled = !isCallback;
  if (!has) return;
  const service = active.kind === "interaction" ? "REQUEST-INTERACTION" : active.service;
  $("request-service").textContent = service;
  $("request-id").textContent = active.id;
  $("queue-service").textContent = service;
  $("queue-id").textContent = active.id;
  const state = active.state ? `${active.state}${active.reason ? ` (${active.reason})` : ""}` : "—";
  $("request-state").textContent = state;
  $("request-state").dataset.state = active.state || "";
  $("queue-state").textContent = state;
}

/** Notes a callback's state from any answer that carries it (record, queue position, push). */
function noteState(id, state, reason) {
  if (!active || active.id !== id || !state) return;
  // A reason comes only with the record: keep the one known while the state stays.
  if (reason || state !== active.state) active.reason = reason || undefined;
  active.state = state;
  saveActive(active);
  renderActive();
}

/** `GET /genesys/1/service/callback/{service}/{id}`: the record's state, into the screens. */
async function refreshStatus(where = "gms-error") {
  if (!active || active.kind !== "callback") return;
  const { service, id } = active;
  try {
    const record = await client.callbackRecord(service, id);
    noteState(id, record._callback_state, record._callback_reason);
  } catch (e) {
    showError(where, e);
  }
}

// ---- dialogs -----------------------------------------------------------------------------

function hideDialog() {
  $("dialog").hidden = true;
  $("dialog-title").textContent = "";
  $("dialog-body").replaceChildren();
}

function showDialog(title, ...body) {
  const dialog = $("dialog");
  $("dialog-title").textContent = title;
  $("dialog-body").replaceChildren(...body.flat().filter(Boolean));
  dialog.hidden = false;
  // The server's next step is the thing to look at (a pushed dialog pops up like a phone's):
  // into view, and focus on it, so a screen reader reads its title.
  dialog.focus({ preventScroll: true });
  dialog.scrollIntoView({ block: "nearest" });
}

/** A button that runs `action`, disabled while it runs (so a slow server gets one request). */
function actionButton(label, action, cls) {
  const b = h("button", { type: "button", class: cls, text: label });
  b.addEventListener("click", async () => {
    b.disabled = true;
    try {
      await action();
    } finally {
      b.disabled = false;
    }
  });
  return b;
}

/** Requests a URL the server gave (menu item, follow-up) and handles the answer. */
async function follow(url, method, context) {
  clearError("gms-error");
  try {
    const answer = await client.follow(url, method);
    await handleAnswer(answer, context);
  } catch (e) {
    showError("gms-error", e);
  }
  await refreshStatus();
}

/** The items of a DisplayMenu's `_content`: groups of items, or items. */
function menuGroups(content) {
  if (!Array.isArray(content)) return [];
  const groups = [];
  let loose = null;
  for (const entry of content) {
    if (entry && Array.isArray(entry._group_content)) {
      groups.push({ name: entry._group_name, items: entry._group_content });
    } else if (entry) {
      if (!loose) groups.push((loose = { name: null, items: [] }));
      loose.items.push(entry);
    }
  }
  return groups;
}

/** What choosing a menu item requests: its URL (and method), or its `_action` on the service. */
function itemTarget(item, id) {
  const url = item._user_action_url || item._url || item._action_url;
  if (url) return { url, method: item._method || "POST" };
  if (item._action && id) return { url: client.api(`/service/${encodeURIComponent(id)}/${encodeURIComponent(item._action)}`), method: item._method || "GET" };
  return null;
}

/** A DialNumber (or an access number without a dialog): the number to call. */
function showNumber(answer) {
  const number = answer._access_number || String(answer._tel_url || "").replace(/^tel:/, "");
  const tel = answer._tel_url || `tel:${number}`;
  const link = h("a", { href: tel, class: "tel", text: number });
  const code = answer._access_code && answer._access_code !== "n/a" ? answer._access_code : null;
  showDialog(answer._label || "Call us",
    h("dl", { class: "facts" },
      h("dt", { text: "Number to Call" }), h("dd", {}, link),
      code ? [h("dt", { text: "Access code" }), h("dd", { class: "mono", text: code })] : null,
      answer._expiration_time ? [h("dt", { text: "Call within" }), h("dd", { text: `${answer._expiration_time} s` })] : null),
    h("p", { class: "hint", text: isMobile() ? "Dialling…" : "Call this number from the customer's phone." }),
    h("div", { class: "actions" }, actionButton("Close", async () => hideDialog())));
  // "DialNumber - The app makes a phone call when running on a mobile browser."
  if (isMobile()) link.click();
}

/**
 * Handles one answer of the server (to a create, a menu choice, a fetched dialog): shows the
 * dialog its `_action` names, or what it says without one. `depth` bounds dialogs that name
 * further dialogs to fetch.
 */
async function handleAnswer(answer, context = {}, depth = 0) {
  if (answer === null || answer === undefined || answer === "") {
    notice("Done.");
    return;
  }
  if (typeof answer !== "object") {
    showDialog("Answer", h("pre", { text: String(answer) }),
      h("div", { class: "actions" }, actionButton("Close", async () => hideDialog())));
    return;
  }
  const id = answer._id || context.id;
  const action = answer._action;
  if (action === "ConfirmationDialog" || (!action && answer._text && !answer._access_number)) {
    // An alert: the text and one button. A follow-up URL, when given, is requested on OK.
    const next = answer._user_action_url ? { url: answer._user_action_url, method: answer._method || "POST" } : null;
    showDialog("Confirmation",
      h("p", { class: "dialog-text", text: answer._text || "" }),
      h("div", { class: "actions" }, actionButton(answer._ok_title || "OK", async () => {
        hideDialog();
        if (next) await follow(next.url, next.method, { ...context, id });
      }, "primary")));
  } else if (action === "DisplayMenu") {
    const groups = menuGroups(answer._content);
    showDialog(answer._label || "Menu",
      groups.map((g) => h("div", { class: "menu-group", role: "group", "aria-label": g.name || answer._label || "Menu" },
        g.name ? h("p", { class: "menu-title", text: g.name }) : null,
        h("div", { class: "menu-items" }, g.items.map((item) => {
          const target = itemTarget(item, id);
          const b = actionButton(item._label || item._action || "?", async () => {
            hideDialog();
            await follow(target.url, target.method, { ...context, id });
          });
          if (!target) b.disabled = true;
          return b;
        })))));
  } else if (action === "DialNumber" || (!action && answer._access_number)) {
    showNumber(answer);
  } else if (action === "StartChat" || (!action && answer["_chatIxnAPI-CREATE-URL"])) {
    const url = answer._start_chat_url || answer["_chatIxnAPI-CREATE-URL"];
    const subject = answer._chat_parameters && answer._chat_parameters.subject;
    showDialog(answer._label || "Start Chat",
      h("p", { class: "dialog-text", text: "An agent will join the chat." }),
      h("div", { class: "actions" }, actionButton(answer._label || "Start Chat", async () => {
        hideDialog();
        await startChat(id, url, subject);
      }, "primary")));
  } else if (typeof action === "string" && action && id && depth < 3) {
    // get-dialog-...: the dialog is the server's to say.
    const dialog = await client.dialog(id, action);
    await handleAnswer(dialog, { ...context, id }, depth + 1);
  } else {
    showDialog(answer.error ? "Message" : "Answer",
      answer.error ? h("p", { class: "dialog-text", text: answer.error }) : null,
      h("pre", { text: pretty(answer) }),
      h("div", { class: "actions" }, actionButton("Close", async () => hideDialog())));
  }
}

// ---- chat (Chat API v1 with notify_by=comet) -----------------------------------------------

/** The chat of the current request: its id and how much of the transcript is shown. */
let chat = null;
/** Chat requests one at a time, so transcript positions never overlap. */
let chatQueue = Promise.resolve();

function chatRequest(op, fields = {}) {
  const run = chatQueue.then(async () => {
    if (!chat) return;
    const answer = await client.chat(chat.id, op, { transcriptPosition: chat.position, ...fields });
    showTranscript(answer);
  });
  chatQueue = run.catch(() => {});
  return run;
}

function showTranscript(answer) {
  if (!chat || !answer || typeof answer !== "object") return;
  const lines = Array.isArray(answer.transcriptToShow) ? answer.transcriptToShow : [];
  for (const [type, nick, text] of lines) {
    const who = nick || "";
    let line;
    if (type === "Message.Text") line = h("li", { class: "line line-message" }, h("strong", { text: `${who}: ` }), text || "");
    else if (type === "Notice.Joined") line = h("li", { class: "line line-notice", text: `${who} joined the chat` });
    else if (type === "Notice.Left") line = h("li", { class: "line line-notice", text: `${who} left the chat` });
    else continue; // typing notices
    $("transcript").append(line);
  }
  if (typeof answer.transcriptPosition === "number") chat.position = answer.transcriptPosition;
  else if (answer.transcriptPosition !== undefined) chat.position = Number(answer.transcriptPosition) || chat.position;
  if (answer.chatIxnState === "DISCONNECTED" && !chat.ended) endChatView();
}

function endChatView() {
  chat.ended = true;
  $("chat-message").disabled = true;
  $("chat-send").disabled = true;
  $("chat-end").disabled = true;
  $("transcript").append(h("li", { class: "line line-notice", text: "The chat has ended." }));
}

async function startChat(id, url, subject) {
  clearError("gms-error");
  chat = { id, position: 0 };
  $("transcript").replaceChildren();
  for (const el of ["chat-message", "chat-send", "chat-end"]) $(el).disabled = false;
  $("chat").hidden = false;
  try {
    const first = $("first-name").value.trim();
    const last = $("last-name").value.trim();
    await client.startChat(url, {
      firstName: first, lastName: last, subject: subject || "",
      userDisplayName: [first, last].filter(Boolean).join(" ") || $("contact").value.trim(),
    });
    await chatRequest("refresh");
  } catch (e) {
    showError("gms-error", e);
  }
  await refreshStatus();
}

$("chat-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const input = $("chat-message");
  const message = input.value.trim();
  if (!message || !chat) return;
  input.value = "";
  try {
    await chatRequest("send", { message });
  } catch (err) {
    showError("gms-error", err);
  }
});

$("chat-end").addEventListener("click", async () => {
  try {
    await chatRequest("disconnect");
  } catch (err) {
    showError("gms-error", err);
  }
  await refreshStatus();
});

// ---- the GMS tab: Connect and Cancel ----------------------------------------------------------

function fillScenarios() {
  const select = $("scenario");
  const previous = select.value;
  select.replaceChildren(...settings.services.map((s) => h("option", {
    value: s, text: s.toLowerCase() === REQUEST_INTERACTION ? "REQUEST-INTERACTION" : s,
  })));
  if (settings.services.includes(previous)) select.value = previous;
}

$("connect-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  clearError("gms-error");
  notice("");
  const service = $("scenario").value;
  const number = $("contact").value.trim();
  if (!number) {
    showError("gms-error", new Error("Enter the Contact # (the customer's phone number)."));
    $("contact").focus();
    return;
  }
  const userData = { first_name: $("first-name").value.trim(), last_name: $("last-name").value.trim() };
  const interaction = service.toLowerCase() === REQUEST_INTERACTION;
  let desired;
  if (!interaction && $("desired-time").value) {
    desired = isoUtc($("desired-time").value);
    if (!desired) {
      showError("gms-error", new Error("The desired time is not a valid date and time."));
      return;
    }
  }
  const button = $("connect");
  button.disabled = true;
  hideDialog();
  $("chat").hidden = true;
  chat = null;
  try {
    const answer = interaction
      ? await client.requestInteraction({ _phone_number: number, ...userData })
      : await client.startCallback(service, { _customer_number: number, _desired_time: desired, ...userData });
    const id = answer && answer._id;
    if (id) {
      setActive({ service: interaction ? REQUEST_INTERACTION : service, id, kind: interaction ? "interaction" : "callback" });
    }
    await handleAnswer(answer, { service, id });
    await refreshStatus();
  } catch (err) {
    showError("gms-error", err);
  } finally {
    button.disabled = false;
  }
});

$("cancel").addEventListener("click", async () => {
  if (!active || active.kind !== "callback") return;
  clearError("gms-error");
  const button = $("cancel");
  button.disabled = true;
  try {
    const answer = await client.cancelCallback(active.service, active.id);
    await handleAnswer(answer, { service: active.service, id: active.id });
  } catch (err) {
    showError("gms-error", err);
  }
  await refreshStatus();
  renderActive();
});

// ---- the Queue tab ---------------------------------------------------------------------------

$("check-queue").addEventListener("click", async () => {
  if (!active) return;
  clearError("queue-error");
  const button = $("check-queue");
  button.disabled = true;
  try {
    const q = await client.checkQueuePosition(active.id);
    const eta = q._eta ?? q.ewt;
    $("queue-position").textContent = q._position ?? "not in a queue";
    $("queue-ewt").textContent = typeof eta === "number" ? `${Math.round(eta)} s` : (eta || "unknown");
    $("queue-total").textContent = q._total_waiting ?? "—";
    $("queue-threshold").textContent = q._agent_ready_threshold_passed === undefined ? "—"
      : `${q._agent_ready_threshold_passed ? "yes" : "no"}${q._agent_ready_threshold_passed_reason ? ` (${q._agent_ready_threshold_passed_reason})` : ""}`;
    $("queue-time").textContent = new Date().toLocaleTimeString();
    noteState(active.id, q._callback_state);
    $("queue-result").hidden = false;
  } catch (e) {
    showError("queue-error", e);
  } finally {
    button.disabled = !active || active.kind !== "callback";
  }
});

$("refresh-status").addEventListener("click", async () => {
  clearError("queue-error");
  const button = $("refresh-status");
  button.disabled = true;
  await refreshStatus("queue-error");
  button.disabled = !active || active.kind !== "callback";
});

// ---- push --------------------------------------------------------------------------------------

/** A push's `message`: an object, or JSON in a string (GMS sends both). */
function pushMessage(data) {
  const m = data && data.message;
  if (typeof m === "string") {
    try {
      return JSON.parse(m);
    } catch {
      return m;
    }
  }
  return m;
}

async function onPush(data) {
  const tag = (data && data.tag) || "";
  const message = pushMessage(data);
  log("push", tag || "/_genesys", data);
  const id = (message && message._id) || tag.slice(tag.lastIndexOf(".") + 1);
  try {
    if (tag.startsWith("service.chat.")) {
      // The agent wrote: read the transcript from where this page is.
      if (chat && chat.id === id) await chatRequest("refresh");
      return;
    }
    if (message && typeof message === "object" && message._callback_state) {
      noteState(id, message._callback_state, message._callback_reason);
    }
    if (message && typeof message === "object" && typeof message._action === "string") {
      // service.agentavailable.<id>: the dialog to show now (the delayed scenarios).
      clearError("gms-error");
      notice(tag.startsWith("service.agentavailable.") ? "An agent is available." : `Notification: ${tag}`);
      selectTab($("tab-gms"));
      await handleAnswer(message, { id, service: active && active.id === id ? active.service : undefined });
      await refreshStatus();
    }
  } catch (e) {
    showError("gms-error", e);
  }
}

function showPushStatus({ state, transport, error }) {
  const el = $("push-status");
  el.dataset.state = state;
  const text = {
    connecting: "Push: connecting…",
    connected: `Push: connected (${transport})`,
    disconnected: "Push: off",
    failed: "Push: failed",
  }[state] || `Push: ${state}`;
  el.textContent = error ? `${text} — ${error}` : text;
  if (state === "connected") log("info", `CometD connected over ${transport} as ${settings.gmsUser}, subscribed to /_genesys`);
  else if (error) log(state === "failed" ? "error" : "info", `CometD ${state}: ${error}`);
}

// ---- settings and start ------------------------------------------------------------------------

function showSettings() {
  $("base-url").value = settings.baseUrl;
  $("gms-user").value = settings.gmsUser;
  $("services").value = settings.services.join("\n");
}

/** A client for the current settings, its events wired to the screens, push started. */
function startClient() {
  if (client) client.stopPush();
  client = new GmsClient(settings);
  client.addEventListener("exchange", ({ detail: x }) => {
    if (x.kind === "request") log("request", `${x.method} ${shortUrl(x.url)}`, x.body);
    else log(x.error ? "error" : "response", `${x.method} ${shortUrl(x.url)}`, x.body, { status: x.status });
  });
  client.addEventListener("push", ({ detail }) => onPush(detail.data));
  client.addEventListener("push-status", ({ detail }) => showPushStatus(detail));
  client.startPush();
}

$("settings-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const baseUrl = $("base-url").value.trim().replace(/\/+$/, "");
  const gmsUser = $("gms-user").value.trim();
  const services = $("services").value.split(/[\n,]/).map((s) => s.trim()).filter(Boolean);
  try {
    const u = new URL(baseUrl);
    if (!/^https?:$/.test(u.protocol)) throw new Error();
  } catch {
    $("settings-notice").textContent = "The server URL must be an http(s) address.";
    return;
  }
  if (!gmsUser || !services.length) {
    $("settings-notice").textContent = "gms_user and at least one scenario are needed.";
    return;
  }
  settings = { baseUrl, gmsUser, services: [...new Set(services)] };
  saveSettings(settings);
  showSettings();
  fillScenarios();
  startClient();
  $("settings-notice").textContent = "Saved. Push restarted with these settings.";
});

$("gms-user-new").addEventListener("click", () => {
  $("gms-user").value = newGmsUser();
});

$("settings-reset").addEventListener("click", () => {
  $("base-url").value = defaultBaseUrl();
  $("services").value = DEFAULT_SERVICES.join("\n");
  $("settings-notice").textContent = "Defaults filled in: Save to keep them (the gms_user stays).";
});

window.addEventListener("pagehide", () => client && client.stopPush());

showSettings();
fillScenarios();
renderActive();
startClient();
if (active && active.kind === "callback") {
  // The request of an earlier visit: its state now, or forgotten if the server no longer has it.
  client.callbackRecord(active.service, active.id).then(
    (record) => noteState(active.id, record._callback_state, record._callback_reason),
    (e) => {
      if (e instanceof GmsError && e.status === 404) {
        log("info", `Request ${active.id} is no longer known to the server: forgotten`);
        setActive(null);
      }
    });
}
