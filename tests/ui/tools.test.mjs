// The Tools tab in a real browser: templates browsed, uploaded and deleted; users made and
// removed by an Administrator; resource groups and pattern groups edited (a typed value lights
// up its pattern); a callback service's exception list; the metrics charts; and what a
// Supervisor sees there.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asUser, fetchFromPage, login, newPage, noPageErrors, ROOT, shot } from './helpers.mjs';

async function openTool(page, user, title) {
  await login(page, user);
  await page.getByRole('navigation', { name: 'Panels' }).getByRole('link', { name: 'Tools' }).click();
  await page.getByRole('navigation', { name: 'Tools' }).getByRole('link', { name: title }).click();
}

describe('Tools', () => {
  test('Service Templates: browse a template\'s options, upload one and delete it', async () => {
    const page = await newPage();
    await openTool(page, 'ann', 'Service Templates');
    const list = page.getByRole('complementary', { name: 'Service Templates' });
    await list.getByRole('link', { name: /^callback/ }).click();
    const detail = page.getByRole('region', { name: 'Template callback' });
    await detail.getByText('_call_direction').waitFor();
    await detail.getByLabel('Search options').fill('_ttl');
    const names = await detail.locator('tbody tr').evaluateAll((rs) => rs.map((r) => r.dataset.name));
    assert.ok(names.includes('_ttl'), names.join());
    // Every option left names _ttl in its id, default or description.
    const texts = await detail.locator('tbody tr').allTextContents();
    assert.ok(texts.every((t) => t.toLowerCase().includes('_ttl')), texts.join(' | '));
    const all = (await asUser('ann', 'GET', '/genesys/1/admin/templates/callback')).json.options.length;
    assert.ok(texts.length < all, `${texts.length} of ${all}`);
    await detail.getByLabel('Search options').fill('');
    const sections = await detail.getByLabel('Section').locator('option').allTextContents();
    assert.ok(sections.length > 2, sections.join());
    await detail.getByLabel('Section').selectOption(sections[1]);
    await shot(page, '17-tools-templates');

    // Upload a template zip (made with the system's zip from a template.json), then delete it.
    const dir = mkdtempSync(join(tmpdir(), 'tpl-'));
    writeFileSync(join(dir, 'template.json'), JSON.stringify({
      name: 'ui-probe', type: 'builtin', service: 'get', description: 'A template uploaded by the UI test',
      options: [{ name: '_probe', default: '1', description: 'A probe option', category: 'General', kind: 'optional' }],
    }));
    const zip = join(dir, 'ui-probe.zip');
    execFileSync('python3', ['-c', `import zipfile,sys; z=zipfile.ZipFile(sys.argv[1],'w'); z.write(sys.argv[2],'template.json'); z.close()`, zip, join(dir, 'template.json')]);
    await list.getByLabel('Upload a template').setInputFiles(zip);
    await page.getByText('Template ui-probe uploaded').waitFor();
    await page.getByRole('region', { name: 'Template ui-probe' }).getByText('_probe').waitFor();
    await page.getByRole('button', { name: 'Delete Template' }).click();
    await page.getByRole('dialog', { name: 'Delete Template' }).getByRole('button', { name: 'Delete' }).click();
    await page.getByText('Template ui-probe deleted').waitFor();
    assert.equal((await asUser('ann', 'GET', '/genesys/1/admin/templates/ui-probe')).status, 404);
    noPageErrors();
  });

  test('Users: an Administrator adds, changes and removes a user', async () => {
    const page = await newPage();
    await openTool(page, 'ann', 'Users');
    const users = page.getByRole('region', { name: 'Users' });
    await users.locator('tr[data-name="sam"]').waitFor();
    await users.getByRole('button', { name: 'Add User' }).click();
    const add = page.getByRole('dialog', { name: 'Add User' });
    await add.getByLabel('User name').fill('uma');
    await add.getByLabel('Role').selectOption('CallbackReadOnly');
    await add.getByLabel('Services or service groups').fill('callback-delayed');
    await add.getByLabel('Password').fill('uma-pass-1');
    await add.getByRole('button', { name: 'Save' }).click();
    await page.getByText('User uma added').waitFor();
    await users.locator('tr[data-name="uma"]').getByText('callback-delayed').waitFor();
    await users.getByRole('button', { name: 'Change uma' }).click();
    await page.getByRole('dialog', { name: 'Change uma' }).getByLabel('Role').selectOption('Supervisor');
    await page.getByRole('dialog', { name: 'Change uma' }).getByRole('button', { name: 'Save' }).click();
    await page.getByText('User uma changed').waitFor();
    const uma = await asUser('ann', 'GET', '/genesys/1/admin/users/uma');
    assert.equal(uma.json.role, 'Supervisor');
    await shot(page, '18-tools-users');
    // The last Administrator stays: refusing it is the server's answer, shown as it is.
    await users.getByRole('button', { name: 'Remove ann' }).click();
    await page.getByRole('dialog', { name: 'Remove User' }).getByRole('button', { name: 'Remove' }).click();
    await page.locator('.notice.error', { hasText: 'last Administrator' }).waitFor();
    await users.getByRole('button', { name: 'Remove uma' }).click();
    await page.getByRole('dialog', { name: 'Remove User' }).getByRole('button', { name: 'Remove' }).click();
    await page.getByText('User uma removed').waitFor();
    assert.equal((await asUser('ann', 'GET', '/genesys/1/admin/users/uma')).status, 404);
    noPageErrors();
  });

  test('Resources and Patterns: groups edited, available numbers shown, a typed value lights up its pattern', async () => {
    const page = await newPage();
    await openTool(page, 'ann', 'Resources');
    const resources = page.getByRole('region', { name: 'Resources' });
    await resources.locator('tr[data-name="DNIS"] td.count').getByText('10 / 10').waitFor();
    await resources.getByRole('button', { name: 'Add Group' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add Resource Group' });
    await dialog.getByLabel('Group name').fill('UiPool');
    await dialog.getByLabel('Numbers (one per line)').fill('6504669001\n6504669002\n6504669003');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Resource group UiPool saved (3 number(s))').waitFor();
    await resources.locator('tr[data-name="UiPool"] td.count').getByText('3 / 3').waitFor();
    await shot(page, '19-tools-resources');

    await page.getByRole('navigation', { name: 'Tools' }).getByRole('link', { name: 'Patterns' }).click();
    const patterns = page.getByRole('region', { name: 'Patterns' });
    await patterns.locator('tr[data-name="email"]').waitFor();
    await patterns.getByLabel('Test a value').fill('ann@example.com');
    await patterns.locator('tr.hit[data-name="email"]').waitFor();
    await patterns.getByLabel('Test a value').fill('555-1234');
    await patterns.locator('tr.hit[data-name="local_number"]').waitFor();
    assert.equal(await patterns.locator('tr.hit').count(), 1);
    await shot(page, '20-tools-patterns');
    // A new pattern, saved; a broken expression is refused with the server's reason.
    await patterns.getByRole('button', { name: 'Add Pattern' }).click();
    await patterns.getByLabel('Pattern name').last().fill('premium');
    await patterns.getByLabel('Expression').last().fill('\\+?1900\\d{7}');
    await patterns.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Pattern group default saved').waitFor();
    assert.equal((await asUser('ann', 'GET', '/genesys/1/admin/patterns/default')).json.premium, '\\+?1900\\d{7}');
    await patterns.getByLabel('Expression').last().fill('([');
    await patterns.getByRole('button', { name: 'Save' }).click();
    await page.locator('.notice.error').waitFor();
    noPageErrors();
  });

  test('Exception List: numbers a callback service refuses', async () => {
    const page = await newPage();
    await openTool(page, 'ann', 'Exception List');
    const panel = page.getByRole('region', { name: 'Exception List' });
    await panel.getByLabel('Callback service').selectOption('callback-delayed');
    await panel.getByLabel('Exception numbers').fill('5559990001\n5559990002');
    await panel.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Exception list of callback-delayed saved (2 number(s))').waitFor();
    const refused = await asUser('ann', 'POST', '/genesys/1/service/callback/callback-delayed', { _customer_number: '5559990002' });
    assert.equal(refused.status, 400, refused.text);
    assert.match(refused.text, /exception list/);
    noPageErrors();
  });

  test('Download DFM: every strategy document, downloaded as the server serves it', async () => {
    const page = await newPage();
    await openTool(page, 'ann', 'Download DFM');
    const panel = page.getByRole('region', { name: 'Download DFM' });
    const link = panel.getByRole('link', { name: 'user-terminated-delayed.scxml' });
    await link.waitFor();
    assert.ok(await panel.getByRole('link', { name: 'default-inbound.scxml' }).count() === 1);
    await shot(page, '26-tools-dfm');
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    const text = await readFile(await download.path(), 'utf8');
    assert.match(text, /<scxml[\s>]/);
    const served = await asUser('ann', 'GET', '/genesys/1/document/service_template/callback/user-terminated-delayed.scxml');
    assert.equal(text, served.text);
    noPageErrors();
  });

  test('Metrics: callbacks, watermark, services and an access-number pool charted, zoomed and exported', async () => {
    // Something to report: a callback waiting QUEUED (the load service has no agents), and an
    // access number booked and matched (the pool's usage and AHT).
    const waiting = await fetch(`${ROOT}/genesys/1/service/callback/load`, {
      method: 'POST', body: new URLSearchParams({ _customer_number: '5550999' }),
    }).then((r) => r.json());
    assert.ok(waiting._id, JSON.stringify(waiting));
    const ri = await fetch(`${ROOT}/genesys/1/service/request-interaction`, {
      method: 'POST', body: new URLSearchParams({ _phone_number: '6505550123' }),
    }).then((r) => r.json());
    await fetch(`${ROOT}/genesys/1/service/match-interaction`, {
      method: 'POST', body: new URLSearchParams({ _access_number: ri._access_number, _phone_number: '6505550123' }),
    });
    const page = await newPage();
    await openTool(page, 'ann', 'Metrics');
    const panel = page.getByRole('region', { name: 'Metrics' });
    // The chart titled so, drawn (not the one it replaces).
    const drawn = (title) => panel.locator(`.chart[data-ready="${title}"]`).waitFor();
    const legend = () => panel.locator('.u-legend').textContent();
    await drawn('Callbacks by state — all services');
    for (const state of ['SCHEDULED', 'QUEUED', 'ROUTING', 'PROCESSING', 'COMPLETED']) assert.match(await legend(), new RegExp(state));
    await shot(page, '27-tools-metrics-callback');

    // Advanced: the QUEUED watermark, by 15 minutes over the last 24 hours.
    await panel.getByLabel('Display Advanced Metrics').check();
    await panel.getByLabel('Metric Type').selectOption('watermark');
    await drawn('QUEUED watermark — all services');
    assert.match(await legend(), /MIN.*AVG.*MAX/s);
    await panel.getByText('Figures').click();
    const headers = await panel.locator('.figures th').allTextContents();
    assert.deepEqual(headers, ['Time', 'MIN', 'AVG', 'MAX']);
    // The load service's callbacks wait QUEUED: the latest bucket's high counts them.
    const cells = await panel.locator('.figures tbody tr').first().locator('td').allTextContents();
    assert.ok(Number(cells[3]) > 0, cells.join());
    // Zoom: drag across the chart and it shows less time; double-click and it shows it all.
    const shown = async () => {
      const [from, to] = (await panel.locator('.chart').getAttribute('data-range')).split('-').map(Number);
      return to - from;
    };
    const whole = await shown();
    const over = await panel.locator('.u-over').boundingBox();
    await page.mouse.move(over.x + over.width * 0.2, over.y + over.height / 2);
    await page.mouse.down();
    await page.mouse.move(over.x + over.width * 0.5, over.y + over.height / 2, { steps: 8 });
    await page.mouse.up();
    await page.waitForFunction((w) => {
      const [from, to] = document.querySelector('.metrics .chart').dataset.range.split('-').map(Number);
      return to - from < w * 0.5;
    }, whole);
    await shot(page, '28-tools-metrics-watermark-zoomed');
    await page.mouse.dblclick(over.x + over.width * 0.4, over.y + over.height / 2);
    await page.waitForFunction((w) => {
      const [from, to] = document.querySelector('.metrics .chart').dataset.range.split('-').map(Number);
      return to - from === w;
    }, whole);
    assert.equal(await shown(), whole);

    // Hold time, by media.
    await panel.getByLabel('Metric Type').selectOption('holdtime');
    await panel.getByLabel('Media Type').selectOption('voice');
    await drawn('Hold time — all services');

    // Services: a line per service, request-interaction among them; the CSV is the same report.
    await panel.getByRole('tab', { name: 'Services' }).click();
    await drawn('Service requests — all services');
    assert.match(await legend(), /request-interaction/);
    const [download] = await Promise.all([page.waitForEvent('download'), panel.getByRole('link', { name: 'Export CSV' }).click()]);
    const csv = await readFile(await download.path(), 'utf8');
    const [header, ...lines] = csv.trim().split('\r\n');
    assert.ok(header.startsWith('time,') && header.includes('request-interaction'), header);
    const col = header.split(',').indexOf('request-interaction');
    assert.ok(lines.reduce((n, l) => n + Number(l.split(',')[col] || 0), 0) >= 1, csv);

    // Resources and Operational metrics of the DNIS pool.
    await panel.getByRole('tab', { name: 'Resources' }).click();
    await drawn('Resource usage — resource group DNIS');
    assert.match(await legend(), /In Use.*Available.*Total/s);
    await panel.getByRole('tab', { name: 'Operational' }).click();
    await drawn('Operational metrics — resource group DNIS');
    assert.match(await legend(), /AHT \(s\).*Matched.*Timed Out/s);
    await panel.getByLabel('Range').selectOption('hour');
    await panel.getByText(/\d+ point\(s\), 1m each/).waitFor();
    await drawn('Operational metrics — resource group DNIS');
    await panel.locator('details.figures').evaluate((d) => { d.open = true; });
    const matched = await panel.locator('.figures tbody tr').evaluateAll((rs) => rs.map((r) => Number(r.children[3].textContent || 0)));
    assert.ok(matched.reduce((a, b) => a + b, 0) >= 1, matched.join());
    await shot(page, '29-tools-metrics-operational');
    const cancelled = await fetch(`${ROOT}/genesys/1/service/callback/load/${waiting._id}`, { method: 'DELETE' });
    assert.equal(cancelled.status, 200);
    noPageErrors();
  });

  test('a Supervisor browses the tools but changes nothing', async () => {
    const page = await newPage();
    await login(page, 'sam');
    await page.getByRole('navigation', { name: 'Panels' }).getByRole('link', { name: 'Tools' }).click();
    const tools = await page.getByRole('navigation', { name: 'Tools' }).getByRole('link').allTextContents();
    assert.ok(!tools.includes('Users'), tools.join());
    assert.equal(await page.getByLabel('Upload a template').count(), 0);
    const r = await fetchFromPage(page, 'DELETE', '/genesys/1/admin/templates/get');
    assert.equal(r.status, 403);
    noPageErrors();
  });
});
