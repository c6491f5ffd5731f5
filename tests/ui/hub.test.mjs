// The hub in a real browser: each role logs in and sees and does only what it may (and the API
// refuses the rest), the Monitor's nodes, a service made from a template and its parameters
// edited, and the contextual help. Run by run.sh, which starts the servers.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DOWN, PEER, ROOT, fetchFromPage, login, newPage, noPageErrors, shot, tabs } from './helpers.mjs';

describe('login', () => {
  test('the hub answers at /genesys and asks who you are', async () => {
    const page = await newPage();
    await page.goto(`${ROOT}/genesys`);
    assert.equal(new URL(page.url()).pathname, '/genesys/');
    await page.getByRole('form', { name: 'Login' }).waitFor();
    await shot(page, '01-login');
    noPageErrors();
  });

  test('a wrong password is refused with the reason', async () => {
    const page = await newPage();
    await page.goto(`${ROOT}/genesys/`);
    await page.getByLabel('User name').fill('ann');
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Log In' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.match(await alert.textContent(), /password|credentials|user/i);
    await shot(page, '02-login-refused');
    noPageErrors();
  });
});

describe('Administrator', () => {
  test('sees every panel and the nodes of the cluster, green and red', async () => {
    const page = await newPage();
    await login(page, 'ann');
    assert.deepEqual(await tabs(page), ['Monitor', 'Services', 'Office Hours', 'Callback', 'Tools', 'Context Services', 'Journey Timeline']);
    const nodes = page.locator('article.node');
    await nodes.nth(2).waitFor();
    assert.equal(await nodes.count(), 3);
    const self = page.getByRole('article', { name: 'Node 1' });
    assert.match(await self.getAttribute('class'), /\bup\b/);
    assert.match(await self.textContent(), /this node/);
    const peer = page.getByRole('article', { name: `Node ${PEER}` });
    assert.match(await peer.getAttribute('class'), /\bup\b/);
    const down = page.getByRole('article', { name: `Node ${DOWN}` });
    assert.match(await down.getAttribute('class'), /\bdown\b/);
    assert.match(await down.textContent(), /DOWN/);
    // The bars are the help's green and red.
    const colour = (l) => l.locator('.bar').evaluate((e) => getComputedStyle(e).backgroundColor);
    assert.equal(await colour(self), 'rgb(30, 142, 62)');
    assert.equal(await colour(down), 'rgb(198, 40, 40)');
    await shot(page, '03-monitor');
    noPageErrors();
  });

  test('creates a callback service from a template, edits, adds, renames and removes parameters, and deletes it', async () => {
    const page = await newPage();
    await login(page, 'ann');
    await page.getByRole('link', { name: 'Services', exact: true }).click();
    await page.getByRole('complementary', { name: 'Configured Services' }).waitFor();
    await shot(page, '04-services');

    // Create from the callback template with a Common Default Configuration.
    await page.getByRole('button', { name: 'Create' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add New Service' });
    await dialog.getByLabel('Service Template').selectOption('callback');
    const presets = dialog.getByLabel('Common Default Configuration');
    await presets.locator('option').first().waitFor({ state: 'attached' });
    const presetNames = await presets.locator('option').allTextContents();
    assert.ok(presetNames.length > 1, `presets: ${presetNames}`);
    await presets.selectOption(presetNames[1]);
    await dialog.getByLabel('Service Name').fill('ui-callback');
    await shot(page, '05-services-create');
    await dialog.getByRole('button', { name: 'Add' }).click();
    await page.getByText('Service ui-callback created').waitFor();
    const detail = page.getByRole('region', { name: 'Service ui-callback' });
    await detail.waitFor();
    assert.match(page.url(), /#\/services\/ui-callback$/);
    // The server made it from the template and the preset.
    const made = JSON.parse((await fetchFromPage(page, 'GET', '/genesys/1/admin/services/ui-callback')).body);
    assert.equal(made._service, 'callback');
    assert.equal(made._type, 'ors');

    // Mandatory parameters are locked; _type and _service cannot be edited.
    const row = (name) => detail.locator(`tr[data-name="${name}"]`);
    assert.equal(await row('_ttl').getByRole('img', { name: 'Mandatory' }).count(), 1);
    assert.equal(await row('_type').getByRole('button').count(), 0);

    // Edit a value inline.
    await row('_ttl').getByRole('button', { name: /Click to edit|\d/ }).first().click();
    await row('_ttl').getByLabel('Value of _ttl').fill('604800');
    await row('_ttl').getByRole('button', { name: 'Save' }).click();
    await page.getByText('Parameter _ttl updated').waitFor();
    assert.equal(JSON.parse((await fetchFromPage(page, 'GET', '/genesys/1/admin/services/ui-callback')).body)._ttl, '604800');

    // A predefined value is picked from its list.
    await row('_call_direction').locator('button.cell').click();
    const choice = row('_call_direction').getByLabel('Value of _call_direction');
    assert.deepEqual(await choice.locator('option').allTextContents(), ['USERORIGINATED', 'USERTERMINATED']);
    await choice.selectOption('USERTERMINATED');
    await row('_call_direction').getByRole('button', { name: 'Save' }).click();
    await page.getByText('Parameter _call_direction updated').waitFor();

    // A value that does not parse is refused by the server, with its message.
    await row('_ttl').locator('button.cell').click();
    await row('_ttl').getByLabel('Value of _ttl').fill('a week');
    await row('_ttl').getByRole('button', { name: 'Save' }).click();
    await page.locator('.notice.error', { hasText: '_ttl' }).waitFor();
    await row('_ttl').getByRole('button', { name: 'Cancel' }).click();

    // Add New: the name must be an ECMAScript identifier.
    await detail.getByRole('button', { name: 'Add New' }).click();
    const add = page.getByRole('dialog', { name: 'Add New Parameter' });
    await add.getByLabel('Name').fill('foo-foo');
    await add.getByLabel('Value').fill('1');
    await add.getByRole('button', { name: 'Save' }).click();
    assert.match(await add.getByRole('alert').textContent(), /not a valid ECMAScript variable name/);
    await add.getByLabel('Name').fill('campaign_tag');
    await add.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Parameter campaign_tag added').waitFor();
    await row('campaign_tag').waitFor();

    // Rename it, then remove it (the trash can: not specified).
    await row('campaign_tag').getByRole('button', { name: 'Rename campaign_tag' }).click();
    const rename = page.getByRole('dialog', { name: 'Rename campaign_tag' });
    await rename.getByLabel('Name').fill('campaign');
    await rename.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Parameter campaign_tag renamed to campaign').waitFor();
    await row('campaign').getByRole('button', { name: 'Remove campaign' }).click();
    await page.getByText('Parameter campaign is now not specified').waitFor();
    assert.equal(await row('campaign').count(), 0);
    const after = JSON.parse((await fetchFromPage(page, 'GET', '/genesys/1/admin/services/ui-callback')).body);
    assert.equal(after.campaign, undefined);
    assert.equal(after.campaign_tag, undefined);
    assert.equal(after._call_direction, 'USERTERMINATED');

    // Filter the parameters, then show the advanced ones.
    await detail.getByLabel('Filter parameters').fill('urs_queued');
    assert.deepEqual(await detail.locator('tbody tr').evaluateAll((rs) => rs.map((r) => r.dataset.name)), ['_urs_queued_ttl']);
    await detail.getByLabel('Filter parameters').fill('');
    const hidden = await detail.locator('tbody tr').count();
    await detail.getByLabel('Advanced Parameters').check();
    assert.ok(await detail.locator('tbody tr').count() >= hidden);
    await shot(page, '06-service-parameters');

    // Search the list and filter it by template.
    const list = page.getByRole('complementary', { name: 'Configured Services' });
    await list.getByLabel('Search Items').fill('ui-call');
    assert.deepEqual(await list.locator('li').allTextContents(), ['ui-callback']);
    await list.getByLabel('Search Items').fill('');
    await list.getByLabel('Template').selectOption('office-hours');
    assert.deepEqual(await list.locator('li').allTextContents(), ['business-hours']);
    await list.getByLabel('Template').selectOption('');

    // Delete, after confirming.
    await detail.getByRole('button', { name: 'Delete Service' }).click();
    await page.getByRole('dialog', { name: 'Delete Service' }).getByRole('button', { name: 'Delete', exact: true }).click();
    await page.getByText('Service ui-callback deleted').waitFor();
    assert.equal((await fetchFromPage(page, 'GET', '/genesys/1/admin/services/ui-callback')).status, 404);
    noPageErrors();
  });

  test('a state change without the CSRF token is refused', async () => {
    const page = await newPage();
    await login(page, 'ann');
    const r = await fetchFromPage(page, 'PUT', '/genesys/1/admin/services/csrf-probe', { _type: 'builtin', _service: 'get' }, false);
    assert.equal(r.status, 403);
    noPageErrors();
  });
});

describe('Supervisor', () => {
  test('sees Monitor, Services and Callback, only its own services, and changes nothing', async () => {
    const page = await newPage();
    await login(page, 'sam');
    assert.deepEqual(await tabs(page), ['Monitor', 'Services', 'Office Hours', 'Callback', 'Tools', 'Context Services', 'Journey Timeline']);
    await page.getByRole('link', { name: 'Services', exact: true }).click();
    const list = page.getByRole('complementary', { name: 'Configured Services' });
    await list.locator('li').first().waitFor();
    assert.deepEqual((await list.locator('li').allTextContents()).sort(), ['callback-delayed', 'callback-immediate']);
    assert.equal(await page.getByRole('button', { name: 'Create' }).count(), 0);
    await list.getByRole('link', { name: 'callback-delayed' }).click();
    const detail = page.getByRole('region', { name: 'Service callback-delayed' });
    await detail.waitFor();
    assert.equal(await detail.locator('button.cell').count(), 0);
    assert.equal(await detail.getByRole('button', { name: 'Delete Service' }).count(), 0);
    await shot(page, '07-supervisor-services');
    // The server refuses what the page does not offer.
    const put = await fetchFromPage(page, 'PUT', '/genesys/1/admin/services/callback-delayed', { _type: 'ors', _service: 'callback' });
    assert.equal(put.status, 403);
    assert.match(put.body, /AccessDeniedException|may not/);
    const other = await fetchFromPage(page, 'GET', '/genesys/1/admin/services/request-interaction');
    assert.equal(other.status, 404);
    noPageErrors();
  });
});

describe('CallbackReadOnly', () => {
  test('opens only the Callback panel, and the API refuses configuration to it', async () => {
    const page = await newPage();
    await login(page, 'rob');
    assert.deepEqual(await tabs(page), ['Callback']);
    const r = await fetchFromPage(page, 'GET', '/genesys/1/admin/services');
    assert.equal(r.status, 403);
    await shot(page, '08-callback-read-only');
    noPageErrors();
  });
});

describe('logout', () => {
  test('Log Out ends the login: the page and the API both ask again', async () => {
    const page = await newPage();
    await login(page, 'ann');
    await page.getByRole('button', { name: 'Log Out' }).click();
    await page.getByRole('form', { name: 'Login' }).waitFor();
    const me = await fetchFromPage(page, 'GET', '/genesys/1/admin/me', undefined, false);
    assert.equal(me.status, 401);
    noPageErrors();
  });

});

describe('Contextual Help', () => {
  test('opens the topic of the panel on screen, follows the route, searches and opens related topics', async () => {
    const page = await newPage();
    await login(page, 'ann');
    await page.getByRole('link', { name: 'Callback', exact: true }).click();
    await page.getByRole('region', { name: 'Callback', exact: true }).waitFor();
    const toggle = page.getByRole('button', { name: 'Help', exact: true });
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
    await toggle.click();
    const help = page.getByRole('complementary', { name: 'Help' });
    const heading = (name) => help.getByRole('heading', { level: 3, name, exact: true });
    await heading('Callback').waitFor();
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
    // The focus moves into the panel, to its search box.
    await page.waitForFunction(() => document.activeElement?.getAttribute('aria-label') === 'Search help');
    // The panel sits beside the page, not over it.
    const [main, aside] = [await page.locator('main.panel').boundingBox(), await help.boundingBox()];
    assert.ok(main.x + main.width <= aside.x + 1, `main ends at ${main.x + main.width}, the help starts at ${aside.x}`);

    // It follows the route while it is open.
    await page.getByRole('link', { name: 'Tools', exact: true }).click();
    await heading('Service Templates').waitFor();
    await page.getByRole('navigation', { name: 'Tools' }).getByRole('link', { name: 'Metrics' }).click();
    await heading('Metrics').waitFor();
    assert.match(await help.textContent(), /enable-metrics = true/);

    // Search every topic as you type; a result opens its topic.
    const search = help.getByRole('searchbox', { name: 'Search help' });
    await search.fill('time zone');
    const results = help.getByRole('region', { name: 'Search results' });
    await results.getByRole('button', { name: 'Office Hours', exact: true }).waitFor();
    const found = await results.locator('strong').allTextContents();
    assert.equal(found[0], 'Office Hours and Time Zones');
    assert.ok(found.includes('Callback') && found.includes('Metrics'), `results: ${found}`);
    assert.equal(await results.locator('mark').first().textContent(), 'time zone');
    await results.getByRole('button', { name: 'Office Hours', exact: true }).click();
    await heading('Office Hours').waitFor();
    await page.waitForFunction(() => document.activeElement?.id === 'help-title');
    assert.equal(await search.inputValue(), '');

    // Related topics open those topics; Back returns to the panel's own.
    const related = help.getByRole('region', { name: 'Related Topics' });
    await related.getByRole('button', { name: 'Office Hours and Time Zones', exact: true }).click();
    await heading('Office Hours and Time Zones').waitFor();
    assert.match(await help.textContent(), /_import_ruleN/);
    await shot(page, '30-contextual-help');
    await help.getByRole('button', { name: 'Back to Metrics' }).click();
    await heading('Metrics').waitFor();

    // The keyboard: Enter opens the first result, Escape closes the panel and gives the focus back.
    await search.fill('jetty');
    await search.press('Enter');
    await heading('Config').waitFor();
    await page.keyboard.press('Escape');
    await help.waitFor({ state: 'detached' });
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
    await page.waitForFunction(() => document.activeElement?.id === 'help-toggle');
    // Close closes it too.
    await toggle.click();
    await heading('Metrics').waitFor();
    await help.getByRole('button', { name: 'Close', exact: true }).click();
    await help.waitFor({ state: 'detached' });
    noPageErrors();
  });

  test('without enable-contextual-help the top bar has no help button', async () => {
    const page = await newPage();
    // The login and /admin/me answers, with the switch off.
    let answered = 0;
    await page.route((url) => /\/genesys\/1\/admin\/(me|login)$/.test(url.pathname), async (route) => {
      const response = await route.fetch();
      if (response.status() !== 200) return route.fulfill({ response });
      const me = await response.json();
      answered += 1;
      return route.fulfill({ response, json: { ...me, features: { ...me.features, 'enable-contextual-help': false } } });
    });
    await login(page, 'ann');
    assert.ok(answered > 0);
    await page.getByRole('button', { name: 'Log Out' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Help', exact: true }).count(), 0);
    assert.equal(await page.getByRole('complementary', { name: 'Help' }).count(), 0);
    noPageErrors();
  });
});
