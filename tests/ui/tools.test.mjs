// The Tools tab in a real browser: templates browsed, uploaded and deleted; users made and
// removed by an Administrator; resource groups and pattern groups edited (a typed value lights
// up its pattern); a callback service's exception list; and what a Supervisor sees there.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asUser, fetchFromPage, login, newPage, noPageErrors, shot } from './helpers.mjs';

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
