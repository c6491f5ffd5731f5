// Every request the UI makes goes through here: JSON in and out, the login's CSRF token on
// each state-changing request, the GMS error body turned into an ApiError with its message,
// and the two states the whole page reacts to: the server is gone (Server Connection Error)
// and the login has ended (back to the login page).
import { log } from './log.js';

let csrf = null;
const watchers = new Set();
export const status = { lost: false, loggedOut: false };

function changed() {
  for (const w of watchers) w({ ...status });
}

/** Calls `fn` with the status whenever the connection or the login changes; returns an unwatch. */
export function watch(fn) {
  watchers.add(fn);
  return () => watchers.delete(fn);
}

export function setCsrf(token) {
  csrf = token || null;
  status.loggedOut = false;
  changed();
}

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

/**
 * One request. `path` is under /genesys/1/ unless it starts with '/'. `body`: an object (sent
 * as JSON), FormData or a Blob. `action`: what the logger says on success. `meta`, if given, is
 * told the answer's `status`.
 */
export async function request(method, path, { body, action, meta } = {}) {
  const url = path.startsWith('/') ? path : `/genesys/1/${path}`;
  const headers = { Accept: 'application/json', 'X-Requested-With': 'XMLHttpRequest' };
  let payload;
  if (body instanceof FormData || body instanceof Blob) payload = body;
  else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  if (method !== 'GET' && method !== 'HEAD' && csrf) headers['X-CSRF-Token'] = csrf;
  let resp;
  try {
    resp = await fetch(url, { method, headers, body: payload, credentials: 'same-origin' });
  } catch (e) {
    log.error(`${method} ${url}: ${e.message}`);
    if (!status.lost) {
      status.lost = true;
      changed();
    }
    throw new ApiError(0, 'Server Connection Error: the server does not answer.');
  }
  if (status.lost) {
    status.lost = false;
    changed();
  }
  if (meta) meta.status = resp.status;
  const type = resp.headers.get('content-type') || '';
  let data = null;
  if (resp.status !== 204) {
    data = type.includes('json') ? await resp.json().catch(() => null) : await resp.text();
  }
  if (!resp.ok) {
    const message =
      (data && typeof data === 'object' && data.message) ||
      (typeof data === 'string' && data.trim()) ||
      `${resp.status} ${resp.statusText}`;
    log.error(`${method} ${url}: ${resp.status} ${message}`);
    if (resp.status === 401 && !url.endsWith('/admin/login') && !status.loggedOut) {
      status.loggedOut = true;
      changed();
    }
    throw new ApiError(resp.status, message, data);
  }
  log.http(action || `${method} ${url}`, data);
  return data;
}

export const api = {
  get: (path, opts) => request('GET', path, opts),
  post: (path, body, opts) => request('POST', path, { ...opts, body }),
  put: (path, body, opts) => request('PUT', path, { ...opts, body }),
  del: (path, opts) => request('DELETE', path, opts),
};

/** A path segment, escaped. */
export const seg = (s) => encodeURIComponent(s);
