// What every panel shares: `html` (htm bound to preact), icons, the notices that report the
// result of each action, and the modal dialog.
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import htm from 'htm';
import { api, seg } from './api.js';

export const html = htm.bind(h);

const PATHS = {
  lock: 'M7 10V7a5 5 0 0 1 10 0v3h1a1 1 0 0 1 1 1v9a1 1 0 0 1-1 1H6a1 1 0 0 1-1-1v-9a1 1 0 0 1 1-1zm2 0h6V7a3 3 0 0 0-6 0z',
  pencil: 'M4 17.3V20h2.7l8-8-2.7-2.7zM19.7 7a1 1 0 0 0 0-1.4l-1.3-1.3a1 1 0 0 0-1.4 0l-1.6 1.6 2.7 2.7z',
  trash: 'M6 7h12l-1 13H7zm3-3h6l1 2h4v2H4V6h4z',
  refresh: 'M17.7 6.3A8 8 0 1 0 20 12h-2a6 6 0 1 1-1.8-4.2L13 11h7V4z',
  plus: 'M11 5h2v6h6v2h-6v6h-2v-6H5v-2h6z',
  chevron: 'M9 6l6 6-6 6',
};

/** An icon from PATHS, labelled for screen readers when it stands alone. */
export function Icon({ name, label }) {
  return html`<svg class="icon" viewBox="0 0 24 24" aria-hidden=${label ? undefined : 'true'}
    role=${label ? 'img' : undefined} aria-label=${label}><path d=${PATHS[name]} /></svg>`;
}

// ---- notices -------------------------------------------------------------------------------
const listeners = new Set();
let nextId = 1;

/** Reports the result of an action: kind 'ok', 'info' or 'error'. */
export function notify(kind, text) {
  const n = { id: nextId++, kind, text };
  for (const l of listeners) l(n);
}

export function Notices() {
  const [list, setList] = useState([]);
  useEffect(() => {
    const add = (n) => {
      setList((l) => [...l, n]);
      setTimeout(() => setList((l) => l.filter((x) => x.id !== n.id)), n.kind === 'error' ? 9000 : 4000);
    };
    listeners.add(add);
    return () => listeners.delete(add);
  }, []);
  return html`<div class="notices" role="status" aria-live="polite">
    ${list.map((n) => html`<div key=${n.id} class=${`notice ${n.kind}`}>
      <span>${n.text}</span>
      <button class="link" aria-label="Dismiss" onClick=${() => setList((l) => l.filter((x) => x.id !== n.id))}>×</button>
    </div>`)}
  </div>`;
}

// ---- dialogs -------------------------------------------------------------------------------
/** A modal dialog; Escape or the backdrop closes it through `onClose`. */
export function Modal({ title, onClose, children, footer }) {
  useEffect(() => {
    const key = (e) => e.key === 'Escape' && onClose();
    document.addEventListener('keydown', key);
    return () => document.removeEventListener('keydown', key);
  }, [onClose]);
  return html`<div class="backdrop" onClick=${(e) => e.target === e.currentTarget && onClose()}>
    <div class="modal" role="dialog" aria-modal="true" aria-label=${title}>
      <header><h2>${title}</h2><button class="link" aria-label="Close" onClick=${onClose}>×</button></header>
      <div class="body">${children}</div>
      ${footer && html`<footer>${footer}</footer>`}
    </div>
  </div>`;
}

/** A yes/no question before something that cannot be undone. */
export function Confirm({ title, text, yes = 'Delete', onYes, onClose }) {
  const [busy, setBusy] = useState(false);
  const go = async () => {
    setBusy(true);
    try {
      await onYes();
    } finally {
      setBusy(false);
      onClose();
    }
  };
  return html`<${Modal} title=${title} onClose=${onClose} footer=${html`
      <button onClick=${onClose}>Cancel</button>
      <button class="danger" disabled=${busy} onClick=${go}>${yes}</button>`}>
    <p>${text}</p>
  <//>`;
}

/** Case-insensitive "does any of these texts contain the query". */
export function matches(query, ...texts) {
  const q = query.trim().toLowerCase();
  return !q || texts.some((t) => String(t ?? '').toLowerCase().includes(q));
}

/** Opens a route of the hub: go('services', name) is #/services/<name>. */
export function go(...parts) {
  location.hash = '#/' + parts.map(encodeURIComponent).join('/');
}

/**
 * Stores a service's whole option list and reports the result as `what`; `onSaved(name, options)`
 * hears the options as the server kept them. True when saved.
 */
export async function saveService(name, options, what, onSaved) {
  try {
    const saved = await api.put(`admin/services/${seg(name)}`, options, { action: what });
    notify('ok', what);
    onSaved(name, saved);
    return true;
  } catch (e) {
    notify('error', e.message);
    return false;
  }
}
