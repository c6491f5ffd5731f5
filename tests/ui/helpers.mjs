// What the browser tests share: the browser (headless Debian Chromium through playwright-core),
// the users run.sh made, logging in, screenshots, and requests made by the page itself.
import { after, afterEach, before } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

export const ROOT = process.env.RINGBACK_URL;
export const PEER = process.env.PEER_URL;
export const DOWN = process.env.DOWN_URL;
export const SHOTS = process.env.SHOTS;
assert.ok(ROOT && PEER && DOWN && SHOTS, 'run by tests/ui/run.sh, which sets RINGBACK_URL, PEER_URL, DOWN_URL and SHOTS');

export const USERS = {
  ann: { password: 'admin-pass-1', role: 'Administrator' },
  sam: { password: 'super-pass-1', role: 'Supervisor' },
  rob: { password: 'reader-pass-1', role: 'CallbackReadOnly' },
};

let browser;
const errors = [];
// Each test's pages, closed after it (an open Callback panel follows every change).
const contexts = [];

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
});
afterEach(async () => {
  await Promise.all(contexts.splice(0).map((c) => c.close()));
});
after(async () => {
  await browser?.close();
});

/** A fresh page (its own cookies); page errors fail the test that made them. */
export async function newPage() {
  // The browser's time zone is UTC whatever the machine's: the tests read times.
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, timezoneId: 'UTC' });
  contexts.push(context);
  context.setDefaultTimeout(10000);
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  // Chromium logs every non-2xx answer as a console error; those are the tests' own probes.
  page.on('console', (m) => {
    const t = m.text();
    if (m.type() === 'error' && !t.startsWith('ERROR: ') && !t.startsWith('Failed to load resource')) errors.push(t);
  });
  return page;
}

export function noPageErrors() {
  const seen = errors.splice(0);
  assert.deepEqual(seen, [], 'the page reported errors');
}

export async function shot(page, name) {
  await page.screenshot({ path: `${SHOTS}/${name}.png` });
}

export async function login(page, name) {
  await page.goto(`${ROOT}/genesys/`);
  await page.getByLabel('User name').fill(name);
  await page.getByLabel('Password').fill(USERS[name].password);
  await page.getByRole('button', { name: 'Log In' }).click();
  await page.getByText(`${name} · ${USERS[name].role}`).waitFor();
}

/** A request from the page itself: its cookie, and its CSRF token when `csrf` is true. */
export async function fetchFromPage(page, method, path, body, csrf = true) {
  return page.evaluate(async ({ method, path, body, csrf }) => {
    const headers = { 'Content-Type': 'application/json', 'X-Requested-With': 'XMLHttpRequest' };
    if (csrf) {
      const me = await (await fetch('/genesys/1/admin/me')).json();
      headers['X-CSRF-Token'] = me.csrf;
    }
    const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: r.status, body: await r.text() };
  }, { method, path, body, csrf });
}

export const tabs = async (page) => (await page.getByRole('navigation', { name: 'Panels' }).getByRole('link').allTextContents());


/** A request to the API with a user's Basic credentials, from the test (not the page). */
export async function asUser(name, method, path, body) {
  const headers = { Authorization: `Basic ${Buffer.from(`${name}:${USERS[name].password}`).toString('base64')}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(`${ROOT}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, text, json };
}
