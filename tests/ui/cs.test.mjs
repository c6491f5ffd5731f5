// The Context Services and Journey Timeline panels in a real browser, over journeys seeded
// through the API: a customer found by phone number, a state started and a task completed
// through the UI (and seen in the HTTP Request History), a service deleted after its
// confirmation, several customers or none, IDs searched for; the timeline of a customer found
// by email with its bars, zoom, drag, moves and filter, its states and tasks, its profile and
// KPIs; and who sees the two panels.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { asUser, fetchFromPage, login, newPage, noPageErrors, shot, tabs } from './helpers.mjs';

const CS = '/genesys/1/cs';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Date.now();
const at = (ms) => new Date(ms).toISOString();

async function ok(method, path, body, status) {
  const r = await asUser('ann', method, `${CS}${path}`, body);
  assert.equal(r.status, status, `${method} ${path}: ${r.text}`);
  return r.json;
}
const profile = async (p) => (await ok('POST', '/profiles', p, 201)).customer_id;
async function service(owner, type, started, completed, fields = {}) {
  const { service_id: id } = await ok('POST', '/services/start', { ...owner, service_type: type, timestamp: at(started), ...fields }, 201);
  if (completed) await ok('POST', `/services/${id}/end`, { timestamp: at(completed) }, 204);
  return id;
}
async function state(sid, type, started, completed) {
  const { state_id: id } = await ok('POST', `/services/${sid}/states/start`, { state_type: type, timestamp: at(started) }, 201);
  if (completed) await ok('POST', `/services/${sid}/states/${id}/end`, { timestamp: at(completed) }, 204);
  return id;
}
async function task(sid, type, stateId, started, completed) {
  const { task_id: id } = await ok('POST', `/services/${sid}/tasks/start`, { task_type: type, state_id: stateId, timestamp: at(started) }, 201);
  if (completed) await ok('POST', `/services/${sid}/tasks/${id}/end`, { timestamp: at(completed) }, 204);
  return id;
}

// Jane Jones's journeys: five services over twenty days, two of them active.
const jane = { ids: {}, expect: { services: { total: 5, active: 2 }, states: { total: 4, active: 1 } } };
before(async () => {
  const cid = await profile({
    FirstName: 'Jane', LastName: 'Jones', PhoneNumber: ['5125', '6504661100'],
    EmailAddress: ['jones@demosrv.genesyslab.com', 'jane@gmail.ca'], Title: 'Sr. Product Manager', Company: 'Genesys',
    City: 'Smallville', Language: 'English', Sentiment: 'Positive',
  });
  const owner = { customer_id: cid };
  const ids = jane.ids;
  ids.cid = cid;
  ids.s1 = await service(owner, 'BlueSky Flight Status', NOW - 20 * DAY, NOW - 20 * DAY + 2 * HOUR);
  await state(ids.s1, 'BlueSky Preferred Airport', NOW - 20 * DAY + HOUR, NOW - 20 * DAY + 90 * 60_000);
  ids.s2 = await service(owner, 'BlueSky Book Flight', NOW - 10 * DAY, null,
    { media_type: 'voice', interaction_id: 'IX-2', application_type: 'IVR', resource_type: 'agent' });
  ids.s2upsell = await state(ids.s2, 'BlueSky Upsell', NOW - 10 * DAY + HOUR, NOW - 10 * DAY + 2 * HOUR);
  ids.s2confirm = await state(ids.s2, 'BlueSky Confirmation', NOW - 10 * DAY + 2 * HOUR, NOW - 10 * DAY + 3 * HOUR);
  ids.s2task = await task(ids.s2, 'BlueSky Confirm Booking', ids.s2confirm, NOW - 10 * DAY + 2 * HOUR, NOW - 10 * DAY + 150 * 60_000);
  await ok('POST', `/services/${ids.s2}/end`, { timestamp: at(NOW - 9 * DAY) }, 204);
  ids.s3 = await service(owner, 'Agency', NOW - 5 * DAY, NOW - 4 * DAY);
  ids.s4 = await service(owner, 'BlueSky Book Flight', NOW - 2 * DAY, null);
  ids.s4upsell = await state(ids.s4, 'BlueSky Upsell', NOW - 2 * DAY + HOUR, null);
  ids.s4task = await task(ids.s4, 'BlueSky Confirm Booking', ids.s4upsell, NOW - 2 * DAY + HOUR, null);
  ids.s4email = await task(ids.s4, 'Send Confirmation Email', null, NOW - 2 * DAY + 2 * HOUR, null);
  ids.s5 = await service(owner, 'BlueSky Flight Status', NOW - 3 * HOUR, null);
  const sum = await ok('GET', `/customers/${cid}/summary`, undefined, 200);
  assert.deepEqual([sum.services.total, sum.services.active, sum.states.total, sum.states.active], [5, 2, 4, 1]);
});

async function openPanel(page, user, title) {
  await login(page, user);
  await page.getByRole('navigation', { name: 'Panels' }).getByRole('link', { name: title }).click();
}

/** The Context Services panel, searched: key (its label in the drop-down) and value. */
async function csSearch(page, key, value) {
  const form = page.getByRole('search', { name: 'Search' });
  await form.getByLabel('Search key').locator('option', { hasText: key }).first().waitFor({ state: 'attached' });
  await form.getByLabel('Search key').selectOption({ label: key });
  await form.getByLabel('Search value').fill(value);
  await form.getByRole('button', { name: 'Search' }).click();
}

const item = (page, column, id) => page.getByRole('region', { name: column, exact: true }).locator(`li[data-id="${id}"]`);

describe('Context Services', () => {
  test('a customer by phone number: a state started and a task completed through the UI, in the HTTP Request History', async () => {
    const page = await newPage();
    await openPanel(page, 'ann', 'Context Services');
    await csSearch(page, 'PhoneNumber', '5125');
    const services = page.getByRole('region', { name: 'Services', exact: true });
    await item(page, 'Services', jane.ids.s4).waitFor();
    assert.equal(await services.locator('li').count(), 5);
    // Latest first by default; Oldest First turns the list round.
    const ids = () => services.locator('li').evaluateAll((ls) => ls.map((l) => l.dataset.id));
    assert.deepEqual(await ids(), [jane.ids.s5, jane.ids.s4, jane.ids.s3, jane.ids.s2, jane.ids.s1]);
    await page.getByLabel('Sort').selectOption({ label: 'Oldest First' });
    assert.deepEqual(await ids(), [jane.ids.s1, jane.ids.s2, jane.ids.s3, jane.ids.s4, jane.ids.s5]);
    await services.getByLabel('Filter services').fill('agency');
    await services.locator('li').nth(0).and(item(page, 'Services', jane.ids.s3)).waitFor();
    assert.equal(await services.locator('li').count(), 1);
    await services.getByLabel('Filter services').fill('');

    await item(page, 'Services', jane.ids.s4).locator('button.cs-item').click();
    const details = page.getByRole('region', { name: 'Service details' });
    await details.locator('td[data-field="id"]', { hasText: jane.ids.s4 }).waitFor();
    assert.equal(await details.locator('td[data-field="type"]').textContent(), 'BlueSky Book Flight (2452)');
    await details.getByText(jane.ids.cid).waitFor();
    await item(page, 'States', jane.ids.s4upsell).waitFor();
    await item(page, 'Tasks', jane.ids.s4task).waitFor();
    await shot(page, 'cs-customer');

    // + on States: a BlueSky Confirmation state with a media type and an extension.
    await page.getByRole('button', { name: 'Add a state' }).click();
    const start = page.getByRole('form', { name: 'Start a State' });
    await start.getByLabel('State Type').selectOption('BlueSky Confirmation');
    await start.getByLabel('media_type').fill('chat');
    assert.equal(await start.getByLabel('timestamp', { exact: true }).isDisabled(), true);
    await start.getByRole('button', { name: 'Add a property' }).click();
    await start.getByLabel('Property 1 name').fill('Feedback');
    await start.getByLabel('Property 1 value').fill('{"score": 5}');
    await start.getByRole('button', { name: 'Start' }).click();
    const stateDetails = page.getByRole('region', { name: 'State details' });
    await stateDetails.locator('td[data-field="type"]', { hasText: 'BlueSky Confirmation (2469)' }).waitFor();
    const newState = (await stateDetails.locator('td[data-field="id"]').textContent()).trim();
    assert.notEqual(newState, jane.ids.s4upsell);
    await stateDetails.getByRole('row', { name: /Media type \(Started\)\s*chat/ }).waitFor();
    await stateDetails.getByRole('row', { name: /Feedback/ }).getByText('{"score":5}').waitFor();
    assert.equal(await page.getByRole('region', { name: 'States', exact: true }).locator('li').count(), 2);
    const st = await ok('GET', `/services/${jane.ids.s4}/states/${newState}?extensions=*`, undefined, 200);
    assert.equal(st.state_type, 2469);
    assert.equal(st.started.media_type, 'chat');
    assert.deepEqual(st.Feedback, { score: 5 });
    jane.expect.states.total += 1;
    jane.expect.states.active += 1;
    await shot(page, 'cs-state-started');

    // Complete the BlueSky Confirm Booking task.
    await item(page, 'Tasks', jane.ids.s4task).locator('button.cs-item').click();
    const taskDetails = page.getByRole('region', { name: 'Task details' });
    await taskDetails.locator('td[data-field="id"]', { hasText: jane.ids.s4task }).waitFor();
    await taskDetails.getByRole('button', { name: 'Complete', exact: true }).click();
    const complete = page.getByRole('form', { name: 'Complete Task' });
    await complete.getByLabel('disposition', { exact: true }).fill('booked');
    await complete.getByLabel('disposition_desc').fill('Seat 12A');
    await complete.getByRole('button', { name: 'Complete', exact: true }).click();
    await taskDetails.getByRole('img', { name: 'Completed' }).waitFor();
    const t = await ok('GET', `/services/${jane.ids.s4}/tasks/${jane.ids.s4task}`, undefined, 200);
    assert.equal(t.completed.disposition, 'booked');
    assert.equal(t.completed.disposition_desc, 'Seat 12A');
    await taskDetails.getByRole('row', { name: /Disposition\s*booked/ }).waitFor();

    // The history: every request of this visit, the start (201) and the end (204) among them.
    await page.getByRole('button', { name: 'HTTP Request History' }).click();
    const history = page.getByRole('region', { name: 'HTTP Request History' });
    const rows = await history.locator('tbody tr').evaluateAll((rs) => rs.map((r) => [...r.cells].map((c) => c.textContent)));
    const find = (action) => rows.find((r) => r[0] === action);
    assert.deepEqual(find('Get Business Attributes').slice(1, 5), ['../1/cs/metadata/business-attributes', '', 'GET', '200 (OK)']);
    assert.equal(find('Query PhoneNumber')[4], '200 (OK)');
    assert.match(find('Query PhoneNumber')[2], /"PhoneNumber":"5125"/);
    assert.deepEqual(find('Query Customer ID').slice(1, 2), [`../1/cs/customers/${jane.ids.cid}/services`]);
    assert.match(find('Query Customer ID')[2], /"active_states":"true"/);
    const started = find('Start State');
    assert.deepEqual(started.slice(1, 5), [`../1/cs/services/${jane.ids.s4}/states/start`, started[2], 'POST', '201 (Created)']);
    assert.match(started[2], /"state_type":"BlueSky Confirmation"/);
    assert.match(started[2], /"Feedback":\{"score":5\}/);
    const ended = find(`Complete Task: ${jane.ids.s4task}`);
    assert.ok(ended, JSON.stringify(rows));
    assert.deepEqual(ended.slice(1, 5), [`../1/cs/services/${jane.ids.s4}/tasks/${jane.ids.s4task}/end`, ended[2], 'POST', '204 (No Content)']);
    assert.match(ended[2], /"disposition":"booked"/);
    await shot(page, 'cs-history');
    noPageErrors();
  });

  test('a service is deleted after its confirmation; a failure is in the history', async () => {
    const cid = await profile({ FirstName: 'Bob', LastName: 'Brown', PhoneNumber: ['5550199'] });
    const keep = await service({ customer_id: cid }, 'Agency', NOW - 3 * DAY, NOW - 2 * DAY);
    const gone = await service({ customer_id: cid }, 'BlueSky Flight Status', NOW - DAY, null);
    const page = await newPage();
    await openPanel(page, 'ann', 'Context Services');
    await csSearch(page, 'PhoneNumber', '5550199');
    await item(page, 'Services', gone).waitFor();
    // Only services have an x: states and tasks cannot be deleted.
    await item(page, 'Services', gone).getByRole('button', { name: 'Delete BlueSky Flight Status' }).click();
    let dialog = page.getByRole('dialog', { name: 'Delete Service' });
    await dialog.getByText('Are you sure you want to delete "BlueSky Flight Status"?').waitFor();
    await shot(page, 'cs-delete-confirm');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    assert.equal((await asUser('ann', 'GET', `${CS}/services/${gone}`)).status, 200);
    await item(page, 'Services', gone).getByRole('button', { name: 'Delete BlueSky Flight Status' }).click();
    dialog = page.getByRole('dialog', { name: 'Delete Service' });
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await item(page, 'Services', gone).waitFor({ state: 'detached' });
    await item(page, 'Services', keep).waitFor();
    assert.equal(await page.getByRole('region', { name: 'Services', exact: true }).locator('li').count(), 1);
    const r = await asUser('ann', 'GET', `${CS}/services/${gone}`);
    assert.equal(r.status, 400);
    assert.match(r.text, /NotFoundException/);
    assert.equal((await asUser('ann', 'GET', `${CS}/services/${keep}`)).status, 200);
    assert.equal(await page.getByRole('region', { name: 'States', exact: true }).getByRole('button', { name: /^Delete/ }).count(), 0);

    // + on Services: one for Bob, started at a time given.
    await page.getByRole('button', { name: 'Add a service' }).click();
    const start = page.getByRole('form', { name: 'Start a Service' });
    assert.equal(await start.getByLabel('Owner ID').inputValue(), cid);
    await start.getByLabel('Service Type').selectOption('BlueSky Book Flight');
    await start.getByLabel('Use Current Timestamp').uncheck();
    const when = at(NOW - 6 * HOUR);
    await start.getByLabel('timestamp', { exact: true }).fill(when);
    await start.getByLabel('est_duration').fill('600');
    await start.getByRole('button', { name: 'Start' }).click();
    const details = page.getByRole('region', { name: 'Service details' });
    await details.locator('td[data-field="type"]', { hasText: 'BlueSky Book Flight (2452)' }).waitFor();
    await details.getByRole('row', { name: `Time Started ${when}` }).waitFor();
    const made = (await details.locator('td[data-field="id"]').textContent()).trim();
    await item(page, 'Services', made).waitFor();
    const s = await ok('GET', `/services/${made}`, undefined, 200);
    assert.deepEqual([s.customer_id, s.started.timestamp, s.est_duration], [cid, when, 600]);

    // A Service ID nobody has: the message, and a 400 in the history.
    await csSearch(page, 'Service ID', gone);
    await page.getByText("Couldn't find any services..").waitFor();
    await page.getByRole('button', { name: 'HTTP Request History' }).click();
    const rows = await page.getByRole('region', { name: 'HTTP Request History' }).locator('tbody tr')
      .evaluateAll((rs) => rs.map((x) => [...x.cells].map((c) => c.textContent)));
    assert.ok(rows.some((x) => x[0] === 'Start Service' && x[1] === '../1/cs/services/start' && x[4] === '201 (Created)'), JSON.stringify(rows));
    assert.ok(rows.some((x) => x[0] === `Delete Service: ${gone}` && x[3] === 'DELETE' && x[4] === '200 (OK)'), JSON.stringify(rows));
    assert.ok(rows.some((x) => x[0] === 'Query Service ID' && x[1] === `../1/cs/services/${gone}` && x[4] === '400 (Bad Request)'), JSON.stringify(rows));
    noPageErrors();
  });

  test('several customers, none, an anonymous contact, and searches by Service and State ID', async () => {
    const first = await profile({ FirstName: 'John', LastName: 'Doe', PhoneNumber: ['5550123'], EmailAddress: 'john.doe@example.com' });
    await profile({ FirstName: 'Johnny', LastName: 'Doe', PhoneNumber: ['5550123'], EmailAddress: 'johnny.doe@example.com' });
    const his = await service({ customer_id: first }, 'Agency', NOW - DAY, null);
    const anon = await service({ contact_key: '5550777' }, 'Callback', NOW - HOUR, null);
    const page = await newPage();
    await openPanel(page, 'ann', 'Context Services');
    await csSearch(page, 'PhoneNumber', '5550123');
    const list = page.getByRole('region', { name: 'Customers' });
    await list.getByRole('heading', { name: 'Which of these customers are you referring to?' }).waitFor();
    assert.deepEqual((await list.getByRole('button').allTextContents()).sort(), ['Doe John', 'Doe Johnny']);
    await shot(page, 'cs-customers');
    await list.getByRole('button', { name: 'Doe John', exact: true }).click();
    await item(page, 'Services', his).waitFor();
    assert.equal(await page.getByRole('region', { name: 'Customers' }).count(), 0);

    // The Name key: last name, then first name.
    await csSearch(page, 'Name', 'Jones Jane');
    await item(page, 'Services', jane.ids.s1).waitFor();

    await csSearch(page, 'PhoneNumber', '0000000000');
    await page.getByText("Couldn't find any services..").waitFor();
    assert.equal(await page.getByRole('region', { name: 'Services', exact: true }).count(), 0);

    // No profile has 5550777: its anonymous services are shown.
    await csSearch(page, 'PhoneNumber', '5550777');
    await item(page, 'Services', anon).locator('button.cs-item').click();
    const details = page.getByRole('region', { name: 'Service details' });
    await details.getByRole('row', { name: /Anonymous ID\s*5550777/ }).waitFor();
    assert.equal(await details.locator('td[data-field="type"]').textContent(), 'Callback (2450)');

    // A Service ID opens that service, selected; a State ID selects the state in its service.
    await csSearch(page, 'Service ID', jane.ids.s2);
    await page.getByRole('region', { name: 'Service details' }).locator('td[data-field="id"]', { hasText: jane.ids.s2 }).waitFor();
    assert.equal(await page.getByRole('region', { name: 'Services', exact: true }).locator('li').count(), 1);
    await csSearch(page, 'State ID', jane.ids.s2confirm);
    const stateDetails = page.getByRole('region', { name: 'State details' });
    await stateDetails.locator('td[data-field="type"]', { hasText: 'BlueSky Confirmation (2469)' }).waitFor();
    await stateDetails.getByText('✓').waitFor();
    assert.equal(await item(page, 'States', jane.ids.s2confirm).getAttribute('class'), 'selected');
    await csSearch(page, 'Task ID', jane.ids.s2task);
    await page.getByRole('region', { name: 'Task details' }).locator('td[data-field="id"]', { hasText: jane.ids.s2task }).waitFor();
    noPageErrors();
  });

  test('Administrators and Supervisors have both panels; CallbackReadOnly users do not', async () => {
    const page = await newPage();
    await login(page, 'rob');
    assert.deepEqual(await tabs(page), ['Callback']);
    const me = JSON.parse((await fetchFromPage(page, 'GET', '/genesys/1/admin/me', undefined, false)).body);
    assert.deepEqual(me.context_services, { enabled: true, use_role: false, single_tenant: true });
    await page.goto(`${page.url().split('#')[0]}#/context-services`);
    await page.getByRole('heading', { name: 'Context Services' }).waitFor({ state: 'detached' });
    assert.equal(await page.getByRole('navigation', { name: 'Panels' }).getByRole('link', { name: 'Callback' }).getAttribute('aria-current'), 'page');

    const sam = await newPage();
    await login(sam, 'sam');
    const list = await tabs(sam);
    assert.deepEqual(list.slice(-2), ['Context Services', 'Journey Timeline']);
    // use-role is off: a Supervisor changes journeys as an Administrator does.
    await sam.getByRole('navigation', { name: 'Panels' }).getByRole('link', { name: 'Context Services' }).click();
    await csSearch(sam, 'PhoneNumber', '5125');
    await item(sam, 'Services', jane.ids.s1).waitFor();
    await sam.getByRole('button', { name: 'Add a service' }).waitFor();
    assert.equal(await sam.getByRole('note').filter({ hasText: 'Read-only' }).count(), 0);
    // The contextual help has a topic for each panel.
    await sam.getByRole('button', { name: 'Help', exact: true }).click();
    const help = sam.getByRole('complementary', { name: 'Help' });
    await help.getByRole('heading', { level: 3, name: 'Context Services', exact: true }).waitFor();
    await sam.getByRole('navigation', { name: 'Panels' }).getByRole('link', { name: 'Journey Timeline' }).click();
    await help.getByRole('heading', { level: 3, name: 'Journey Timeline', exact: true }).waitFor();
    assert.match(await help.textContent(), /Status filter|Move to Current Date/);
    noPageErrors();
  });
});

// ---- many services ---------------------------------------------------------------------------
// Max has 250 one-hour services, two hours apart, the last one ending an hour ago.
const many = { count: 250, ids: [] };
const manyStart = (i) => NOW - (many.count - i) * 2 * HOUR - HOUR;
async function seedMany() {
  if (many.cid) return;
  many.cid = await profile({ FirstName: 'Max', LastName: 'Many', EmailAddress: 'max.many@example.com', PhoneNumber: ['5550250'] });
  for (let i = 0; i < many.count; i += 25) {
    const batch = [];
    for (let j = i; j < Math.min(i + 25, many.count); j++) {
      batch.push(service({ customer_id: many.cid }, j % 2 ? 'Agency' : 'BlueSky Flight Status', manyStart(j), manyStart(j) + HOUR));
    }
    many.ids.push(...await Promise.all(batch));
  }
}

describe('Many services', () => {
  test('the Services column lists them 100 at a time; the timeline draws only the bars in view', async () => {
    await seedMany();
    const page = await newPage();
    await openPanel(page, 'ann', 'Context Services');
    await csSearch(page, 'EmailAddress', 'max.many@example.com');
    const services = page.getByRole('region', { name: 'Services', exact: true });
    await item(page, 'Services', many.ids[many.count - 1]).waitFor();
    assert.equal(await services.locator('li').count(), 100);
    await services.getByRole('heading', { name: 'Services 250' }).waitFor();
    await services.getByRole('button', { name: 'Show more (150 more)' }).click();
    await services.locator('li').nth(199).waitFor();
    assert.equal(await services.locator('li').count(), 200);
    await services.getByLabel('Filter services').fill('agency');
    await services.getByRole('heading', { name: 'Services 125 of 250' }).waitFor();

    await page.getByRole('navigation', { name: 'Panels' }).getByRole('link', { name: 'Journey Timeline' }).click();
    const form = page.getByRole('search', { name: 'Search a customer' });
    await form.getByLabel('Search key').selectOption({ label: 'Phone Number' });
    await form.getByLabel('Search value').fill('5550250');
    await form.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('heading', { name: 'Customer Name : Many Max' }).waitFor();
    const track = page.getByRole('group', { name: /Services timeline/ });
    await track.locator('.jt-bar').nth(many.count - 1).waitFor();
    for (let i = 0; i < 4; i++) await page.getByRole('button', { name: 'Expand Timeline' }).click();
    await page.waitForFunction((n) => document.querySelectorAll('.jt-bar').length < n / 4, many.count);
    const { from, to } = await range(track);
    const inView = many.ids.filter((_, i) => manyStart(i) <= to && manyStart(i) + HOUR >= from);
    const drawn = await track.locator('.jt-bar').evaluateAll((bs) => bs.map((b) => b.dataset.id));
    assert.deepEqual(drawn.sort(), inView.sort());
    assert.ok(drawn.length > 5, String(drawn.length));
    await shot(page, 'jt-many');
    noPageErrors();
  });
});

// ---- Journey Timeline ------------------------------------------------------------------------
async function openJane(page) {
  await openPanel(page, 'ann', 'Journey Timeline');
  const form = page.getByRole('search', { name: 'Search a customer' });
  await form.getByLabel('Search key').locator('option', { hasText: 'Email' }).waitFor({ state: 'attached' });
  await form.getByLabel('Search key').selectOption({ label: 'Email' });
  await form.getByLabel('Search value').fill('jane@gmail.ca');
  await form.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('heading', { name: 'Customer Name : Jones Jane' }).waitFor();
  const track = page.getByRole('group', { name: /Services timeline/ });
  await track.locator('.jt-bar').nth(4).waitFor();
  return track;
}
const range = async (track) => {
  const [from, to] = await Promise.all([track.getAttribute('data-from'), track.getAttribute('data-to')]);
  return { from: Number(from), to: Number(to), span: Number(to) - Number(from) };
};
const axis = (track) => track.locator('.jt-tick').allTextContents();
const bar = (track, id) => track.locator(`.jt-bar[data-id="${id}"]`);

describe('Journey Timeline', () => {
  test('a customer by email: the bars, the states and tasks of a service, the profile and the KPIs', async () => {
    const page = await newPage();
    const track = await openJane(page);
    assert.equal(await track.locator('.jt-bar').count(), 5);
    assert.equal(await track.locator('.jt-bar.active').count(), 2);
    await bar(track, jane.ids.s5).and(page.locator('.active')).waitFor();
    assert.match(await bar(track, jane.ids.s2).getAttribute('aria-label'), /^BlueSky Book Flight, started .*, completed /);
    await page.getByText('Filter Applied: None').waitFor();

    // Customer Profile: the sections of the configuration.
    const info = page.getByRole('region', { name: 'Information' });
    const row = (label) => info.locator(`tr[data-label="${label}"] td`);
    assert.equal(await row('Customer Name').textContent(), 'Jones Jane');
    assert.equal(await row('Title').textContent(), 'Sr. Product Manager');
    assert.equal(await row('Company').textContent(), 'Genesys');
    assert.equal(await row('City').textContent(), 'Smallville');
    assert.equal(await row('Phones').textContent(), '5125 6504661100');
    assert.equal(await row('Emails').textContent(), 'jones@demosrv.genesyslab.com jane@gmail.ca');
    await shot(page, 'jt-timeline');

    // KPIs: what was seeded (and what the Context Services test added).
    await info.getByRole('tab', { name: 'KPIs' }).click();
    const kpi = async (id) => Number(await info.locator(`tr[data-kpi="${id}"] td`).textContent());
    const e = jane.expect;
    assert.deepEqual(
      [await kpi('total-journeys'), await kpi('active-journeys'), await kpi('completed-journeys'), await kpi('total-states'), await kpi('active-states'), await kpi('completed-states')],
      [e.services.total, e.services.active, e.services.total - e.services.active, e.states.total, e.states.active, e.states.total - e.states.active]);

    // A service: its states with their tasks, and its own KPIs.
    await bar(track, jane.ids.s2).click();
    const vertical = page.getByRole('region', { name: 'States and tasks' });
    await vertical.locator(`li[data-id="${jane.ids.s2confirm}"] li[data-id="${jane.ids.s2task}"]`).waitFor();
    assert.deepEqual(await vertical.locator('li.state > button .jt-name').allTextContents(), ['BlueSky Upsell', 'BlueSky Confirmation']);
    await info.locator('tr[data-kpi="service-completed-states"]').waitFor();
    assert.deepEqual([await kpi('service-active-states'), await kpi('service-completed-states'), await kpi('service-active-tasks'), await kpi('service-completed-tasks')], [0, 2, 0, 1]);
    await shot(page, 'jt-kpis');
    await info.getByRole('tab', { name: 'Journey Details' }).click();
    assert.equal(await row('type').textContent(), 'BlueSky Book Flight (2452)');
    assert.equal(await row('media_type').textContent(), 'voice');
    assert.equal(await row('interaction_id').textContent(), 'IX-2');
    assert.equal(await row('application_type').textContent(), 'IVR');
    assert.equal(await row('resource_type').textContent(), 'agent');
    assert.equal(await row('completed').textContent(), at(NOW - 9 * DAY));
    // A state of it, picked in the vertical timeline.
    await vertical.locator(`li[data-id="${jane.ids.s2upsell}"] > button`).click();
    await info.locator('tr[data-label="type"] td', { hasText: 'BlueSky Upsell (2455)' }).waitFor();
    assert.equal(await row('started').textContent(), at(NOW - 10 * DAY + HOUR));

    await bar(track, jane.ids.s3).click();
    await vertical.getByText('No states exist.').waitFor();
    noPageErrors();
  });

  test('Expand and Contract zoom, a drag pans, Move to First, Last and Current Date', async () => {
    const page = await newPage();
    const track = await openJane(page);
    const r0 = await range(track);
    const near = (a, b) => Math.abs(a - b) < 10; // ms: the range is written rounded
    await page.getByRole('button', { name: 'Expand Timeline' }).click();
    await page.waitForFunction((s) => { const t = document.querySelector('.jt-track'); return t.dataset.to - t.dataset.from < s * 0.6; }, r0.span);
    const r1 = await range(track);
    assert.ok(near(r1.span, r0.span / 2) && near(r1.from + r1.to, r0.from + r0.to), JSON.stringify([r0, r1]));
    await page.getByRole('button', { name: 'Contract Timeline' }).click();
    await page.getByRole('button', { name: 'Contract Timeline' }).click();
    await page.waitForFunction((s) => { const t = document.querySelector('.jt-track'); return t.dataset.to - t.dataset.from > s * 1.5; }, r0.span);
    assert.ok(near((await range(track)).span, r0.span * 2));

    // Zoomed in to about a day and a half: the first service, then the last ones.
    for (let i = 0; i < 5; i++) await page.getByRole('button', { name: 'Expand Timeline' }).click();
    await page.waitForFunction((s) => { const t = document.querySelector('.jt-track'); return t.dataset.to - t.dataset.from < s / 8; }, r0.span);
    await page.getByRole('button', { name: 'Move to First' }).click();
    await bar(track, jane.ids.s1).waitFor();
    assert.equal(await bar(track, jane.ids.s5).count(), 0);
    const first = await range(track);
    assert.ok(first.from < NOW - 20 * DAY && first.to > NOW - 20 * DAY, JSON.stringify(first));
    await shot(page, 'jt-first');

    // A drag to the left moves the timeline later: the axis says other times.
    const before = await axis(track);
    const box = await track.boundingBox();
    const y = box.y + box.height - 12;
    await page.mouse.move(box.x + box.width * 0.7, y);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.5, y, { steps: 6 });
    await page.mouse.move(box.x + box.width * 0.3, y, { steps: 6 });
    await page.mouse.up();
    await page.waitForFunction((f) => Number(document.querySelector('.jt-track').dataset.from) > f + 1000, first.from);
    const dragged = await range(track);
    assert.ok(near(dragged.span, first.span));
    assert.ok(Math.abs((dragged.from - first.from) / first.span - 0.4) < 0.05, JSON.stringify([first, dragged]));
    assert.notDeepEqual(await axis(track), before);
    // The arrow keys move it too.
    await track.focus();
    await page.keyboard.press('ArrowLeft');
    await page.waitForFunction((f) => Number(document.querySelector('.jt-track').dataset.from) < f, dragged.from);

    await page.getByRole('button', { name: 'Move to Last' }).click();
    await bar(track, jane.ids.s5).waitFor();
    assert.equal(await bar(track, jane.ids.s1).count(), 0);
    const last = await range(track);
    assert.ok(last.to > NOW && last.from < NOW - 3 * HOUR, JSON.stringify(last));
    await page.getByRole('button', { name: 'Move to First' }).click();
    await bar(track, jane.ids.s1).waitFor();
    await page.getByRole('button', { name: 'Move to Current Date' }).click();
    await page.waitForFunction((n) => { const t = document.querySelector('.jt-track'); return Math.abs((Number(t.dataset.from) + Number(t.dataset.to)) / 2 - n) < 60_000 * 5; }, Date.now());
    await bar(track, jane.ids.s5).waitFor();
    noPageErrors();
  });

  test('the filter: a status is needed, Completed only hides the active bars, Reset shows them all again', async () => {
    const page = await newPage();
    const track = await openJane(page);
    await page.getByRole('button', { name: 'Filter', exact: true }).click();
    let dialog = page.getByRole('dialog', { name: 'Filter' });
    await dialog.getByLabel('Active').uncheck();
    await dialog.getByLabel('Completed').uncheck();
    await dialog.getByRole('button', { name: 'Apply' }).click();
    await dialog.getByRole('alert').getByText('Error : Status filter cannot be blank').waitFor();
    await shot(page, 'jt-filter-error');
    await dialog.getByLabel('Completed').check();
    await dialog.getByRole('button', { name: 'Apply' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByText('Filter Applied: Status: Completed').waitFor();
    await bar(track, jane.ids.s5).waitFor({ state: 'detached' });
    assert.equal(await track.locator('.jt-bar.active').count(), 0);
    assert.deepEqual((await track.locator('.jt-bar').evaluateAll((bs) => bs.map((b) => b.dataset.id))).sort(),
      [jane.ids.s1, jane.ids.s2, jane.ids.s3].sort());

    // A service type and a state type: the BlueSky Book Flight services with an Upsell state.
    await page.getByRole('button', { name: 'Filter', exact: true }).click();
    dialog = page.getByRole('dialog', { name: 'Filter' });
    await dialog.getByLabel('Active').check();
    await dialog.getByLabel('Service Type').selectOption('BlueSky Book Flight');
    await dialog.getByLabel('State Type').selectOption('BlueSky Upsell');
    await dialog.getByRole('button', { name: 'Apply' }).click();
    await page.getByText('Filter Applied: Service Type: BlueSky Book Flight; State Type: BlueSky Upsell').waitFor();
    await page.waitForFunction(() => document.querySelectorAll('.jt-bar').length === 2);
    assert.deepEqual((await track.locator('.jt-bar').evaluateAll((bs) => bs.map((b) => b.dataset.id))).sort(), [jane.ids.s2, jane.ids.s4].sort());

    // Cancel keeps the filter; Reset and Apply clear it.
    await page.getByRole('button', { name: 'Filter', exact: true }).click();
    dialog = page.getByRole('dialog', { name: 'Filter' });
    await dialog.getByLabel('Name').fill('nothing like it');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    assert.equal(await track.locator('.jt-bar').count(), 2);
    await page.getByRole('button', { name: 'Filter', exact: true }).click();
    dialog = page.getByRole('dialog', { name: 'Filter' });
    await dialog.getByRole('button', { name: 'Reset' }).click();
    assert.equal(await dialog.getByLabel('Service Type').inputValue(), '');
    await dialog.getByRole('button', { name: 'Apply' }).click();
    await page.getByText('Filter Applied: None').waitFor();
    await track.locator('.jt-bar').nth(4).waitFor();
    assert.equal(await track.locator('.jt-bar.active').count(), 2);
    noPageErrors();
  });
});
