// The Office Hours tab in a real browser: the calendar of the server's open periods in the
// display time zone (read-only, with the warning, when the office's differs), weekly hours,
// holidays and exceptions added from the calendar and stored as GMS options, the table view
// with imported calendars, clone, and what a Supervisor may do. The browser's zone is UTC.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { asUser, login, newPage, noPageErrors, shot } from './helpers.mjs';

async function openTab(page, user) {
  await login(page, user);
  await page.getByRole('navigation', { name: 'Panels' }).getByRole('link', { name: 'Office Hours' }).click();
}

const options = async (name) => (await asUser('ann', 'GET', `/genesys/1/admin/services/${name}`)).json;

/** The first day cell of the shown month whose weekday is `wd` (0 = Sunday) and date is `after` or later. */
async function dayCell(calendar, wd, after = 8) {
  const days = await calendar.locator('.day:not(.other)').evaluateAll((ds) => ds.map((d) => d.dataset.day));
  const key = days.find((k) => new Date(`${k}T00:00:00Z`).getUTCDay() === wd && Number(k.slice(8)) >= after);
  return { key, cell: calendar.locator(`.day[data-day="${key}"]`) };
}

describe('Office Hours', () => {
  test('an office in another zone is read-only with the warning', async () => {
    const page = await newPage();
    await openTab(page, 'ann');
    const detail = page.getByRole('region', { name: 'Office Hours business-hours' });
    await detail.getByRole('note').getByText(/read-only mode because the office timezone \(America\/Los_Angeles\) is not equal to the displayed timezone \(UTC\)/).waitFor();
    // Still the open periods the server computes, shown in UTC: 08:00 Los Angeles is 16:00 UTC.
    await detail.locator('.day .open').first().waitFor();
    assert.match(await detail.locator('.day .open').first().textContent(), /^1[5-7]:00–/);
    assert.equal(await detail.locator('.day[role=button]').count(), 0);
    await shot(page, '21-office-hours-read-only');
    noPageErrors();
  });

  test('creates an office, sets weekly hours, adds a holiday and an annual exception from the calendar, imports a calendar, clones it', async () => {
    const page = await newPage();
    await openTab(page, 'ann');
    await page.getByRole('complementary', { name: 'Office Hours Services' }).getByRole('button', { name: 'Create' }).click();
    await page.getByRole('dialog', { name: 'Add Office Hours' }).getByLabel('Service Name').fill('ui-office');
    await page.getByRole('dialog', { name: 'Add Office Hours' }).getByRole('button', { name: 'Add' }).click();
    await page.getByText('Office hours ui-office created').waitFor();
    const detail = page.getByRole('region', { name: 'Office Hours ui-office' });
    assert.equal(await detail.getByRole('note').count(), 0, 'UTC office, UTC display: editable');

    // Table: weekly hours Mon-Fri.
    await detail.getByRole('tab', { name: 'Table' }).click();
    await detail.getByRole('button', { name: 'Add to Regular Hours' }).click();
    await detail.getByLabel('Value of _bh_regular1').fill('Mon-Fri 09:00-17:00');
    await detail.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Office hours ui-office saved').waitFor();
    await detail.getByRole('tab', { name: 'Calendar' }).click();
    const calendar = detail.getByLabel('Calendar');
    const wed = await dayCell(calendar, 3);
    await wed.cell.getByText('09:00–17:00').waitFor();
    const sun = await dayCell(calendar, 0);
    await sun.cell.getByText('Closed').waitFor();

    // A holiday on that Wednesday (this year only).
    await wed.cell.click();
    const block = page.getByRole('dialog', { name: 'New Office Hours' });
    await block.getByLabel('Holiday (holiday)').check();
    await block.getByRole('button', { name: 'Add' }).click();
    await page.getByText(`Holiday ${wed.key} added`).waitFor();
    await wed.cell.getByText('Holiday').waitFor();
    await wed.cell.getByText('Closed').waitFor();

    // An annual exception on a Saturday: 10:00-12:00.
    const sat = await dayCell(calendar, 6);
    await sat.cell.click();
    await block.getByLabel('Exception (bh_add)').check();
    await block.getByLabel('This is an Annual Event').check();
    await block.getByLabel('From').fill('10:00');
    await block.getByLabel('To').fill('12:00');
    await block.getByRole('button', { name: 'Add' }).click();
    await sat.cell.getByText('10:00–12:00').waitFor();
    await sat.cell.getByText(/Special Office Hours/).waitFor();

    // Weekly hours on Sundays, from the calendar with "Regular Office Hours" checked.
    await calendar.getByLabel('Regular Office Hours').check();
    await sun.cell.click();
    const weekly = page.getByRole('dialog', { name: 'Regular Office Hours' });
    await weekly.getByLabel('From').fill('11:00');
    await weekly.getByLabel('To').fill('13:00');
    await weekly.getByRole('button', { name: 'Add' }).click();
    await sun.cell.getByText('11:00–13:00').waitFor();
    await shot(page, '22-office-hours-month');

    const stored = await options('ui-office');
    assert.equal(stored._bh_regular1, 'Mon-Fri 09:00-17:00');
    assert.equal(stored._bh_regular2, 'Sun 11:00-13:00');
    assert.equal(stored._holiday1, wed.key);
    assert.equal(stored._bh_add1, `${sat.key.slice(5)} 10:00-12:00`);

    // The week and day views.
    await calendar.getByLabel('Week').check();
    await calendar.locator('.grid-week .bar').first().waitFor();
    await shot(page, '23-office-hours-week');
    await calendar.getByLabel('Day').check();
    await calendar.getByLabel('Month').check();

    // Import business-hours' rules, in the table.
    await detail.getByRole('tab', { name: 'Table' }).click();
    await detail.getByRole('button', { name: 'Add to Imported Rule Calendars' }).click();
    await detail.getByLabel('Value of _import_rule1').selectOption('business-hours');
    await detail.getByRole('button', { name: 'Save' }).click();
    // Saved: the table holds what the server answered, so there is nothing left to save.
    await detail.locator('.office-table button.primary:disabled').waitFor();
    assert.equal((await options('ui-office'))._import_rule1, 'business-hours');
    await shot(page, '24-office-hours-table');

    // A display zone other than the office's: read-only.
    await detail.getByRole('button', { name: 'Settings' }).click();
    await page.getByRole('dialog', { name: 'Settings' }).getByLabel('Display Timezone').fill('America/New_York');
    await page.getByRole('dialog', { name: 'Settings' }).getByRole('button', { name: 'Save' }).click();
    await detail.getByRole('note').getByText(/read-only mode/).waitFor();

    // Clone.
    await detail.getByRole('button', { name: 'Clone' }).click();
    await page.getByRole('dialog', { name: 'Clone Office Hours' }).getByRole('button', { name: 'Clone' }).click();
    await page.getByText('Office hours ui-office cloned to ui-office-copy').waitFor();
    const copy = await options('ui-office-copy');
    assert.equal(copy._bh_regular2, 'Sun 11:00-13:00');
    assert.equal(copy._import_rule1, 'business-hours');
    noPageErrors();
  });

  test('a Supervisor sees only the office hours its service list names, and creates none', async () => {
    const page = await newPage();
    await openTab(page, 'sam');
    // sam's list names two callback services: no office hours service is among them.
    await page.getByText('No office hours service that you may see.').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Create' }).count(), 0);
    const r = await page.evaluate(async () => (await fetch('/genesys/1/admin/services/business-hours', { headers: { 'X-Requested-With': 'XMLHttpRequest' } })).status);
    assert.equal(r, 404);
    noPageErrors();
  });

  test('the capacity grid: Set Day, a slot edited, and a date exception, stored as GMS options', async () => {
    const page = await newPage();
    await login(page, 'ann');
    await page.goto(`${page.url().split('#')[0]}#/services/capacity`);
    const grid = page.getByRole('region', { name: 'Capacity' });
    assert.equal(await grid.getByLabel('Mon 09:00').inputValue(), '10');
    assert.equal(await grid.getByLabel('Sun 09:00').inputValue(), '0');
    await grid.getByLabel('Set value').fill('7');
    await grid.getByRole('button', { name: 'Set Day Sun' }).click();
    await grid.getByLabel('Tue 13:00').fill('3');
    await grid.getByRole('button', { name: 'Set Slot 22:00' }).click();
    await shot(page, '25-capacity-grid');
    await grid.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByText('Capacity saved').waitFor();
    const stored = await options('capacity');
    const sunday = JSON.parse(stored._capacity_7)['7'];
    assert.equal(Object.keys(sunday).length, 24);
    assert.ok(Object.values(sunday).every((n) => n === 7));
    const tuesday = JSON.parse(stored._capacity_2)['2'];
    assert.equal(tuesday['1300'], 3);
    assert.equal(tuesday['2200'], 7);
    assert.match(stored._capacity, /Sun/);

    // A date whose capacity replaces the week's.
    const exceptions = page.getByRole('region', { name: 'Capacity' });
    await exceptions.getByLabel('Exception date').fill('2026-12-24');
    await exceptions.getByRole('button', { name: 'Add Exception' }).click();
    const day = page.getByRole('group', { name: 'Capacity Exception 20261224' });
    await day.getByLabel('20261224 09:00').fill('2');
    await day.getByRole('button', { name: 'Save Exception' }).click();
    await page.getByText('Capacity exception 20261224 saved').waitFor();
    const again = await options('capacity');
    assert.deepEqual(JSON.parse(again._capacity_add_20261224), { 20261224: { '0900': 2 } });
    noPageErrors();
  });
});
