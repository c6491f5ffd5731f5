// The hub: who is logged in, the tabs their role may open, the contextual help (help.js), the
// login page, and the Server Connection Error page. Routes live in the location hash
// (#/monitor, #/services/<name>, ...).
import { render } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { api, setCsrf, status, watch } from './api.js';
import { go, html, Notices, notify } from './lib.js';
import { log } from './log.js';
import { Callback } from './callback.js';
import { HelpButton, HelpPanel } from './help.js';
import { ContextServices } from './journeys.js';
import { Monitor } from './monitor.js';
import { OfficeHours } from './office.js';
import { Services } from './services.js';
import { JourneyTimeline } from './timeline.js';
import { Tools } from './tools.js';

// Each tab: who may open it (an open server, with no users, is run as by an Administrator).
const TABS = [
  { id: 'monitor', title: 'Monitor', roles: ['Administrator', 'Supervisor'], view: Monitor },
  { id: 'services', title: 'Services', roles: ['Administrator', 'Supervisor'], view: Services },
  { id: 'office-hours', title: 'Office Hours', roles: ['Administrator', 'Supervisor'], view: OfficeHours },
  { id: 'callback', title: 'Callback', roles: ['Administrator', 'Supervisor', 'CallbackReadOnly'], view: Callback },
  { id: 'tools', title: 'Tools', roles: ['Administrator', 'Supervisor'], view: Tools },
  // Context Services' two panels: only with [cview] enabled, on a single-tenant installation.
  { id: 'context-services', title: 'Context Services', roles: ['Administrator', 'Supervisor'], view: ContextServices, when: contextServices },
  { id: 'journey-timeline', title: 'Journey Timeline', roles: ['Administrator', 'Supervisor'], view: JourneyTimeline, when: contextServices },
];

function contextServices(me) {
  return me.context_services?.enabled === true && me.context_services?.single_tenant === true;
}

function roleOf(me) {
  return me.open ? 'Administrator' : me.role;
}

function useHash() {
  const read = () => location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  const [parts, setParts] = useState(read);
  useEffect(() => {
    const on = () => setParts(read());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return parts;
}

function Login({ onIn }) {
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const me = await api.post('admin/login', { username: name, password }, { action: 'Logged In' });
      onIn(me);
    } catch (err) {
      setError(err.status === 0 ? 'Server Connection Error' : err.message);
    } finally {
      setBusy(false);
    }
  };
  return html`<main class="login">
    <form class="card" onSubmit=${submit} aria-label="Login">
      <h1><img src="/genesys/ui/icon.svg" alt="" /> Mobile Services</h1>
      <p class="muted">Service Management UI</p>
      <label>User name<input name="username" autocomplete="username" required value=${name}
        onInput=${(e) => setName(e.target.value)} autofocus /></label>
      <label>Password<input name="password" type="password" autocomplete="current-password" required
        value=${password} onInput=${(e) => setPassword(e.target.value)} /></label>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <button class="primary" type="submit" disabled=${busy}>Log In</button>
    </form>
  </main>`;
}

function ConnectionError({ onRetry }) {
  return html`<main class="login">
    <div class="card" role="alert">
      <h1>Server Connection Error</h1>
      <p>The Ringback server does not answer. The page tries again every few seconds.</p>
      <button class="primary" onClick=${onRetry}>Retry now</button>
    </div>
  </main>`;
}

/** The open server's banner: who can reach it can administer it, and how to make the first user. */
function OpenServer({ onMade }) {
  const [show, setShow] = useState(false);
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const make = async (e) => {
    e.preventDefault();
    try {
      await api.put(`admin/users/${encodeURIComponent(name)}`, { role: 'Administrator', password },
        { action: 'First Administrator Created' });
      notify('ok', `Administrator ${name} created: log in as ${name}.`);
      onMade();
    } catch (err) {
      notify('error', err.message);
    }
  };
  return html`<div class="banner warn" role="note">
    <p><strong>This server has no users:</strong> anyone who reaches it can administer it. Add the
    first Administrator with <code>ringback user add NAME --role Administrator</code> (the password
    is read from standard input), or${' '}<button class="link" onClick=${() => setShow(!show)}>create it here</button>.</p>
    ${show && html`<form class="inline" onSubmit=${make} aria-label="First Administrator">
      <label>User name<input required value=${name} onInput=${(e) => setName(e.target.value)} /></label>
      <label>Password<input type="password" required minlength="8" autocomplete="new-password"
        value=${password} onInput=${(e) => setPassword(e.target.value)} /></label>
      <button class="primary" type="submit">Create Administrator</button>
    </form>`}
  </div>`;
}

function Shell({ me, onOut, onChanged }) {
  const [tab, ...rest] = useHash();
  const role = roleOf(me);
  const tabs = TABS.filter((t) => t.roles.includes(role) && (!t.when || t.when(me)));
  const current = tabs.find((t) => t.id === tab) || tabs[0];
  const helpOn = me.features?.['enable-contextual-help'] === true;
  const [help, setHelp] = useState(false);
  useEffect(() => {
    if (current && current.id !== tab) go(current.id);
  }, [current, tab]);
  const logout = async () => {
    try {
      await api.post('admin/logout', undefined, { action: 'Logged Out' });
    } catch (e) {
      notify('error', e.message);
    }
    onOut();
  };
  const View = current?.view;
  return html`<div class=${`shell${help && helpOn ? ' help-open' : ''}`}>
    <header class="top">
      <a class="brand" href="#/"><img src="/genesys/ui/icon.svg" alt="" /> Mobile Services</a>
      <nav aria-label="Panels">
        ${tabs.map((t) => html`<a href=${`#/${t.id}`} class=${t === current ? 'active' : ''}
          aria-current=${t === current ? 'page' : undefined}>${t.title}</a>`)}
      </nav>
      <div class="who">
        ${helpOn && html`<${HelpButton} open=${help} onToggle=${() => setHelp(!help)} />`}
        ${me.open
          ? html`<span class="pill warn">open server</span>`
          : html`<span title=${(me.services || []).join(', ')}>${me.user} · ${me.role}</span>
            <button class="link" onClick=${logout}>Log Out</button>`}
      </div>
    </header>
    ${me.open && html`<${OpenServer} onMade=${onChanged} />`}
    <main class="panel">
      ${View ? html`<${View} me=${me} role=${role} route=${rest} />`
        : html`<p class="empty">Your role (${role}) opens no panel of this server yet.</p>`}
    </main>
    ${help && helpOn && html`<${HelpPanel} route=${[current?.id, ...rest]} onClose=${() => setHelp(false)} />`}
  </div>`;
}

function App() {
  // undefined: asking; null: not logged in; else what /admin/me answered.
  const [me, setMe] = useState(undefined);
  const [conn, setConn] = useState({ ...status });
  const load = useCallback(async () => {
    try {
      const m = await api.get('admin/me', { action: 'User Received' });
      log.configure(m.features);
      setCsrf(m.csrf);
      setMe(m);
    } catch (e) {
      if (e.status === 401) setMe(null);
    }
  }, []);
  useEffect(() => {
    load();
    return watch(setConn);
  }, [load]);
  // While the server is gone, ask again every five seconds.
  useEffect(() => {
    if (!conn.lost) return undefined;
    const t = setInterval(load, 5000);
    return () => clearInterval(t);
  }, [conn.lost, load]);
  useEffect(() => {
    if (conn.loggedOut) setMe(null);
  }, [conn.loggedOut]);

  let page;
  if (conn.lost) page = html`<${ConnectionError} onRetry=${load} />`;
  else if (me === undefined) page = html`<p class="boot">Loading…</p>`;
  else if (me === null) page = html`<${Login} onIn=${(m) => { log.configure(m.features); setCsrf(m.csrf); setMe(m); }} />`;
  else page = html`<${Shell} me=${me} onOut=${() => { setCsrf(null); setMe(null); }} onChanged=${load} />`;
  return html`${page}<${Notices} />`;
}

render(html`<${App} />`, document.getElementById('app'));
