// The last test (it stops the server): the Server Connection Error page.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ROOT, fetchFromPage, login, newPage, noPageErrors, shot } from './helpers.mjs';

describe('the server going away', () => {
  test('Server Connection Error once the server stops', async () => {
    const page = await newPage();
    await login(page, 'ann');
    await page.getByRole('article', { name: 'Node 1' }).waitFor();
    // Stop the server (Node API), then ask the page to refresh.
    const stop = await fetchFromPage(page, 'POST', '/genesys/1/admin/node/changestatus/SHUTDOWN');
    assert.equal(stop.status, 200);
    await page.waitForFunction(async (root) => {
      try { await fetch(`${root}/genesys/1/admin/me`); return false; } catch { return true; }
    }, ROOT, { polling: 100, timeout: 15000 });
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.getByRole('heading', { name: 'Server Connection Error' }).waitFor();
    await shot(page, '09-server-connection-error');
    noPageErrors();
  });
});
