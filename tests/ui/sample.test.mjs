// The JavaScript sample (samples/web/, served at /genesys/sample/) in a real browser: its four
// screens and settings; a server error and REQUEST-INTERACTION's number to call; callback-immediate
// run to COMPLETED with an agent driven through the agent desktop API, from a page that also
// holds an administrator's login cookie; callback-delayed run to COMPLETED inside an iframe of the
// Service Management UI, driven by the CometD push `service.agentavailable.<id>`; and
// chat-immediate, the agent's lines pushed to the app.
//
// The server serves the sample when [features] enable-sample = true (tests/ui/run.sh sets it).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ROOT, login, newPage, noPageErrors, shot } from './helpers.mjs';

const SAMPLE = `${ROOT}/genesys/sample/`;

/** Opens the sample at the top of `page`: the server must answer it. */
async function openSample(page) {
  const response = await page.goto(SAMPLE);
  assert.equal(response.status(), 200, `GET /genesys/sample/ answered ${response.status()}: is [features] enable-sample = true?`);
}

// ---- the server around the app: agents (the desktop API) and callback records ---------------

async function call(method, path, form) {
  const r = await fetch(`${ROOT}${path}`, {
    method,
    headers: form ? { 'Content-Type': 'application/x-www-form-urlencoded' } : {},
    body: form ? new URLSearchParams(form).toString() : undefined,
  });
  const text = await r.text();
  assert.ok(r.ok, `${method} ${path}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

const agentApi = (method, agent, rest = '') => call(method, `/ringback/1/agents/${agent}${rest}`);

/**
 * The agent's next event of `type` after `since` that `match` accepts, by the desktop API's long
 * poll; with the sequence number to wait from next.
 */
async function nextEvent(agent, since, type, match = () => true) {
  for (let i = 0; i < 12; i++) {
    const page = await agentApi('GET', agent, `/events?since=${since}&timeout=5`);
    for (const e of page.events) {
      since = e.seq;
      if (e.type === type && match(e)) return { event: e, since };
    }
  }
  assert.fail(`agent ${agent} never got a '${type}' event`);
}

/** Logs `agent` in and makes it ready; the event sequence to wait from. */
async function agentReady(agent) {
  const since = (await agentApi('POST', agent, '/login')).last_event;
  await agentApi('POST', agent, '/ready');
  return since;
}

/** The agent accepts the offer of callback `id` (and only that one); then waits to be connected. */
async function agentTakes(agent, since, id) {
  const offer = await nextEvent(agent, since, 'offer', (e) => e.user_data.GMS_ServiceID === id);
  assert.equal(offer.event.queue, 'Callbacks');
  await agentApi('POST', agent, `/offers/${offer.event.offer}/accept`);
  const connected = await nextEvent(agent, offer.since, 'interaction_connected');
  return { interaction: connected.event.interaction, since: connected.since };
}

const record = (service, id) => call('GET', `/genesys/1/service/callback/${service}/${id}`);

/**
 * The services of samples/ringback.ini that queue in `Callbacks`. A callback another test left
 * waiting there would be offered to the agent first (one queue, oldest first): cancelled.
 */
const CALLBACKS_QUEUE = ['callback-immediate', 'callback-delayed', 'callback-scheduled', 'voice-userorig-immediate',
  'voice-userorig-delay', 'callback-preview'];
async function emptyCallbacksQueue() {
  const waiting = await call('GET', '/genesys/1/service/callback?_callback_state=QUEUED');
  for (const r of waiting.filter((w) => CALLBACKS_QUEUE.includes(w._service_name))) {
    await call('DELETE', `/genesys/1/service/callback/${r._service_name}/${r._id}`);
  }
}

// ---- the app -------------------------------------------------------------------------------

/** The sample's screens, in `root` (a page or a frame). */
function screens(root) {
  const tab = (name) => root.getByRole('tab', { name, exact: true });
  return {
    tab,
    gms: root.getByRole('tabpanel', { name: 'GMS' }),
    log: root.getByRole('tabpanel', { name: 'Log' }),
    queue: root.getByRole('tabpanel', { name: 'Queue' }),
    settings: root.getByRole('tabpanel', { name: 'Settings' }),
    dialog: root.getByRole('dialog'),
    /** The request's state as the GMS screen shows it, once it matches `text`. */
    state: (text) => root.locator('#request-state', { hasText: text }),
    /** The push channel's status line, once it matches `text`. */
    push: (text = 'Push: connected (long-polling)') => root.locator('#push-status', { hasText: text }),
  };
}

/** Fills the request form and presses Connect. */
async function connect(s, scenario, number, extra = {}) {
  await s.tab('GMS').click();
  await s.gms.getByLabel('Scenario').selectOption(scenario);
  await s.gms.getByLabel('Contact #').fill(number);
  if (extra.first) await s.gms.getByLabel('First name').fill(extra.first);
  if (extra.last) await s.gms.getByLabel('Last name').fill(extra.last);
  await s.gms.getByRole('button', { name: 'Connect' }).click();
}

/**
 * Presses Refresh status (Queue) until the app shows `state` (the chart moves the record just
 * after the event that caused it). Each try is a real request, paced by Playwright's wait.
 */
async function untilState(s, state) {
  await s.tab('Queue').click();
  for (let i = 0; i < 40; i++) {
    await s.queue.getByRole('button', { name: 'Refresh status' }).click();
    try {
      await s.queue.locator('#queue-state', { hasText: new RegExp(`^${state}\\b`) }).waitFor({ timeout: 250 });
      return s.queue.locator('#queue-state').textContent();
    } catch {
      // not yet
    }
  }
  assert.fail(`the app never showed ${state}: ${await s.queue.locator('#queue-state').textContent()}`);
}

describe('JavaScript sample', () => {
  test('four screens; settings kept in the browser; the push channel connected with the gms_user', async () => {
    const page = await newPage();
    await openSample(page);
    const s = screens(page);
    assert.deepEqual(await page.getByRole('tab').allTextContents(), ['GMS', 'Log', 'Queue', 'Settings']);
    assert.equal(await s.tab('GMS').getAttribute('aria-selected'), 'true');
    await s.push().waitFor();
    const scenarios = await s.gms.getByLabel('Scenario').locator('option').allTextContents();
    assert.deepEqual(scenarios, ['callback-immediate', 'callback-delayed', 'callback-scheduled', 'voice-userorig-immediate',
      'voice-userorig-delay', 'callback-preview', 'chat-immediate', 'chat-delayed', 'REQUEST-INTERACTION']);
    await shot(page, 'sample-01-gms');

    // The handshake went out with this browser's gms_user, shown in Settings.
    await s.tab('Log').click();
    const connected = s.log.getByText(/CometD connected over long-polling as sample-[0-9a-f]{16}, subscribed to \/_genesys/);
    const said = await connected.textContent();
    await s.tab('Settings').click();
    assert.equal(await s.settings.getByLabel('Server URL').inputValue(), ROOT);
    const user = await s.settings.getByLabel('gms_user').inputValue();
    assert.match(said, new RegExp(` as ${user},`));
    // Arrow keys move between tabs.
    await s.tab('Settings').press('ArrowLeft');
    assert.equal(await s.tab('Queue').getAttribute('aria-selected'), 'true');
    await s.tab('Settings').click();

    // An edited scenario list is kept (localStorage) and fills the GMS screen's list.
    await s.settings.getByLabel('Scenarios').fill('callback-immediate\nrequest-interaction\nno-such-service');
    await s.settings.getByRole('button', { name: 'Save' }).click();
    await s.settings.getByText('Saved. Push restarted with these settings.').waitFor();
    await page.reload();
    await s.push().waitFor();
    assert.deepEqual(await s.gms.getByLabel('Scenario').locator('option').allTextContents(),
      ['callback-immediate', 'REQUEST-INTERACTION', 'no-such-service']);
    await s.tab('Settings').click();
    assert.equal(await s.settings.getByLabel('gms_user').inputValue(), user);
    await shot(page, 'sample-02-settings');

    // A service the server does not have: GMS's error body, shown as it is.
    await connect(s, 'no-such-service', '5550401');
    const alert = s.gms.getByRole('alert');
    await alert.getByText('The server answered 404').waitFor();
    assert.match(await alert.textContent(), /no-such-service/);
    assert.match(await alert.textContent(), /CallbackExceptionNotFound/);

    // REQUEST-INTERACTION: the number to call, as a tel: link.
    await connect(s, 'request-interaction', '6505550142');
    await s.dialog.getByText('Number to Call', { exact: true }).waitFor();
    assert.equal(await s.gms.getByRole('alert').count(), 0);
    const tel = s.dialog.getByRole('link');
    assert.match(await tel.getAttribute('href'), /^tel:650466320\d$/);
    await shot(page, 'sample-03-request-interaction');

    // On a phone-sized screen nothing is wider than the screen.
    await page.setViewportSize({ width: 375, height: 740 });
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 375), 'wider than a phone');
    await shot(page, 'sample-04-phone');
    noPageErrors();
  });

  test('callback-immediate: Connect, confirm, an agent takes it, the customer is called, COMPLETED', async () => {
    // An administrator's login cookie is in this browser too (as when the UI shows the sample):
    // the app, a customer's, must not send it (its POSTs would need the UI's CSRF token).
    const page = await newPage();
    await login(page, 'ann');
    await openSample(page);
    const s = screens(page);
    await s.push().waitFor();
    await emptyCallbacksQueue();

    await connect(s, 'callback-immediate', '5550411', { first: 'Ada', last: 'Lovelace' });
    await s.dialog.getByText('You will receive the call shortly').waitFor();
    const id = await page.locator('#request-id').textContent();
    assert.match(id, /\S/);
    await s.state('QUEUED').waitFor();
    await shot(page, 'sample-05-immediate-confirmation');
    await s.dialog.getByRole('button', { name: 'Ok' }).click();
    assert.equal(await s.dialog.isVisible(), false);
    const stored = await record('callback-immediate', id);
    assert.equal(stored._customer_number, '5550411');
    assert.equal(stored.first_name, 'Ada');
    assert.equal(stored.last_name, 'Lovelace');
    assert.ok(stored._gms_user && stored._gms_user.startsWith('sample-'), JSON.stringify(stored));

    // Queue: first in line.
    await s.tab('Queue').click();
    await s.queue.getByRole('button', { name: 'Check queue position' }).click();
    await s.queue.locator('#queue-position', { hasText: /^1$/ }).waitFor();
    assert.match(await s.queue.locator('#queue-state').textContent(), /^QUEUED/);
    await shot(page, 'sample-06-immediate-queue');

    const agent = 'bob';
    try {
      const since = await agentReady(agent);
      const { interaction } = await agentTakes(agent, since, id);
      assert.match(await untilState(s, 'PROCESSING'), /^PROCESSING/);
      assert.equal((await record('callback-immediate', id))._agent, agent);
      // The agent hangs up: the callback is done.
      await agentApi('POST', agent, `/interactions/${interaction}/hangup`);
      assert.equal(await untilState(s, 'COMPLETED'), 'COMPLETED (AGENT_CONNECTED)');
    } finally {
      await agentApi('POST', agent, '/logout');
    }
    const done = await record('callback-immediate', id);
    assert.equal(done._callback_state, 'COMPLETED');
    assert.equal(done._callback_reason, 'AGENT_CONNECTED');
    await s.tab('GMS').click();
    assert.equal(await s.state(/^COMPLETED/).textContent(), 'COMPLETED (AGENT_CONNECTED)');
    assert.equal(await s.gms.getByRole('button', { name: 'Cancel callback' }).isDisabled(), true);

    // Every request and answer is in the Log.
    await s.tab('Log').click();
    await s.log.getByText(`POST /genesys/1/service/callback/callback-immediate`, { exact: true }).first().waitFor();
    await s.log.getByText(`GET /genesys/1/service/${id}/check-queue-position`, { exact: true }).first().waitFor();
    await shot(page, 'sample-07-immediate-log');
    noPageErrors();
  });

  test('callback-delayed inside the Service Management UI: the agent-available push, Call me now, COMPLETED', async () => {
    const page = await newPage();
    await login(page, 'ann');
    // Tools > Sample: the sample in an iframe of the UI's page.
    await page.getByRole('navigation', { name: 'Panels' }).getByRole('link', { name: 'Tools' }).click();
    await page.getByRole('navigation', { name: 'Tools' }).getByRole('link', { name: 'Sample' }).click();
    const frame = page.frameLocator('iframe[title="GMS Sample"]');
    const s = screens(frame);
    await s.push().waitFor();
    await emptyCallbacksQueue();

    await connect(s, 'callback-delayed', '5550412');
    await s.dialog.getByText('We will notify you when agent is available').waitFor();
    const id = await frame.locator('#request-id').textContent();
    await s.dialog.getByRole('button', { name: 'Ok' }).click();
    await s.state('QUEUED').waitFor();

    const agent = 'carol';
    try {
      const since = await agentReady(agent);
      const offer = await nextEvent(agent, since, 'offer', (e) => e.user_data.GMS_ServiceID === id);
      await agentApi('POST', agent, `/offers/${offer.event.offer}/accept`);

      // Pushed, not polled: the app shows the dialog the push names.
      await s.dialog.getByText('Agent is available').waitFor();
      await s.dialog.getByRole('group', { name: 'An agent is ready to call you' }).waitFor();
      assert.deepEqual(await s.dialog.getByRole('button').allTextContents(), ['Call me now', 'Later', 'Cancel']);
      await shot(page, 'sample-08-delayed-agent-available');
      await s.tab('Log').click();
      const pushed = s.log.locator('li[data-kind="push"]', { hasText: `service.agentavailable.${id}` });
      await pushed.waitFor();
      assert.match(await pushed.textContent(), /get-dialog-user-confirmation/);
      await s.log.getByText(`GET /genesys/1/service/${id}/get-dialog-user-confirmation`, { exact: true }).first().waitFor();
      await shot(page, 'sample-09-delayed-log');

      await s.tab('GMS').click();
      await s.dialog.getByRole('button', { name: 'Call me now' }).click();
      await s.dialog.getByText('You will receive the call shortly').waitFor();
      await s.dialog.getByRole('button', { name: 'Ok' }).click();
      const connected = await nextEvent(agent, offer.since, 'interaction_connected');
      assert.match(await untilState(s, 'PROCESSING'), /^PROCESSING/);
      await agentApi('POST', agent, `/interactions/${connected.event.interaction}/hangup`);
      assert.equal(await untilState(s, 'COMPLETED'), 'COMPLETED (AGENT_CONNECTED)');
    } finally {
      await agentApi('POST', agent, '/logout');
    }
    assert.equal((await record('callback-delayed', id))._callback_state, 'COMPLETED');
    await shot(page, 'sample-10-delayed-completed');
    noPageErrors();
  });

  test('chat-immediate: Start Chat, the agent\'s line pushed, the customer answers, End chat, COMPLETED', async () => {
    const page = await newPage();
    await openSample(page);
    const s = screens(page);
    await s.push().waitFor();
    await emptyCallbacksQueue();

    await connect(s, 'chat-immediate', '6502388511', { first: 'John' });
    await s.dialog.getByRole('button', { name: 'Start Chat' }).click();
    const chat = page.getByRole('region', { name: 'Chat' });
    const transcript = chat.getByRole('log', { name: 'Transcript' });
    await transcript.getByText('John joined the chat').waitFor();
    const id = await page.locator('#request-id').textContent();

    const agent = 'alice';
    try {
      const since = await agentReady(agent);
      const offer = await nextEvent(agent, since, 'offer', (e) => e.user_data.GMS_ServiceID === id);
      assert.equal(offer.event.media, 'chat');
      await agentApi('POST', agent, `/offers/${offer.event.offer}/accept`);
      const started = await nextEvent(agent, offer.since, 'interaction_started');
      await call('POST', `/ringback/1/agents/${agent}/interactions/${started.event.interaction}/send`,
        { message: 'Hello John, how can I help?' });
      // Pushed (service.chat.refresh.<id>), then read from the transcript.
      await transcript.getByText('Hello John, how can I help?').waitFor();
      await chat.getByLabel('Message').fill('My bill is wrong');
      await chat.getByRole('button', { name: 'Send' }).click();
      await transcript.getByText('My bill is wrong').waitFor();
      assert.deepEqual(await transcript.locator('li').allTextContents(),
        ['John joined the chat', `${agent} joined the chat`, `${agent}: Hello John, how can I help?`, 'John: My bill is wrong']);
      await shot(page, 'sample-11-chat');
      await chat.getByRole('button', { name: 'End chat' }).click();
      await transcript.getByText('The chat has ended.').waitFor();
      assert.equal(await untilState(s, 'COMPLETED'), 'COMPLETED (AGENT_CONNECTED)');
    } finally {
      await agentApi('POST', agent, '/logout');
    }
    await s.tab('Log').click();
    await s.log.locator('li[data-kind="push"]', { hasText: `service.chat.refresh.${id}` }).waitFor();
    noPageErrors();
  });
});
