// The Tools tab: Service Templates (upload, delete, browse options with a filter, a search and a
// category selector), Users (an Administrator's), Resources and Patterns (when their [features]
// switches are on) and the Exception List of the callback services. What a tool shows depends
// on the [features] section, as the help says; the server refuses what a role may not change.
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import { api, seg } from './api.js';
import { Confirm, go, html, Icon, matches, Modal, notify } from './lib.js';
import { log } from './log.js';
import { Metrics } from './metrics.js';

/** The tools a user sees, in the menu's order. */
export function toolsFor(role, features) {
  const admin = role === 'Administrator';
  return [
    { id: 'templates', title: 'Service Templates', view: Templates },
    admin && { id: 'users', title: 'Users', view: Users },
    features['enable-resources'] === true && { id: 'resources', title: 'Resources', view: Resources },
    features['enable-patterns'] === true && { id: 'patterns', title: 'Patterns', view: Patterns },
    features['enable-downloaddfm'] === true && { id: 'dfm', title: 'Download DFM', view: Documents },
    features['enable-sample'] === true && { id: 'sample', title: 'Sample', view: Sample },
    features['enable-metrics'] === true && role !== 'CallbackReadOnly' && { id: 'metrics', title: 'Metrics', view: Metrics },
    features['enable-config'] === true && { id: 'config', title: 'Config', view: Config },
    { id: 'exceptions', title: 'Exception List', view: Exceptions },
  ].filter(Boolean);
}

export function Tools({ me, role, route }) {
  const tools = toolsFor(role, me.features ?? {});
  const current = tools.find((t) => t.id === route[0]) ?? tools[0];
  useEffect(() => { if (current.id !== route[0]) go('tools', current.id); }, [current, route[0]]);
  const View = current.view;
  return html`<div class="tools">
    <nav class="subnav" aria-label="Tools">
      ${tools.map((t) => html`<a href=${`#/tools/${t.id}`} class=${t === current ? 'active' : ''} aria-current=${t === current ? 'page' : undefined}>${t.title}</a>`)}
    </nav>
    <${View} me=${me} canEdit=${role === 'Administrator'} route=${route.slice(1)} />
  </div>`;
}

// ---- Service Templates -----------------------------------------------------------------------
function Templates({ canEdit, route }) {
  const [list, setList] = useState(null);
  const [filter, setFilter] = useState('');
  const [detail, setDetail] = useState(null);
  const [query, setQuery] = useState('');
  const [category, setCategory] = useState('');
  const [confirm, setConfirm] = useState(false);
  const selected = route[0];
  const load = useCallback(async () => {
    log.info('templates-controller', 'Get All Templates');
    try { setList(await api.get('admin/templates', { action: 'All Templates Received Successfully' })); }
    catch (e) { notify('error', e.message); }
  }, []);
  useEffect(() => { load(); }, [load]);
  useEffect(() => {
    setDetail(null);
    setCategory('');
    if (selected) api.get(`admin/templates/${seg(selected)}`, { action: `Template ${selected} Received` }).then(setDetail, (e) => notify('error', e.message));
  }, [selected]);
  const upload = async (e) => {
    const file = e.target.files[0];
    e.target.value = '';
    if (!file) return;
    const name = file.name.replace(/\.zip$/i, '');
    const form = new FormData();
    form.append('file', file, file.name);
    try {
      await api.post(`admin/templates/${seg(name)}`, form, { action: `Template ${name} Uploaded` });
      notify('ok', `Template ${name} uploaded`);
      await load();
      go('tools', 'templates', name);
    } catch (err) { notify('error', err.message); }
  };
  const remove = async () => {
    try {
      await api.del(`admin/templates/${seg(selected)}`, { action: `Template ${selected} Deleted` });
      notify('ok', `Template ${selected} deleted`);
      go('tools', 'templates');
      load();
    } catch (e) { notify('error', e.message); }
  };
  const categories = [...new Set((detail?.options ?? []).map((o) => o.category))].sort();
  const options = (detail?.options ?? []).filter((o) => (!category || o.category === category) && matches(query, o.name, o.default, o.description));
  return html`<div class="split">
    <aside class="list" aria-label="Service Templates">
      <div class="toolbar"><h1>Templates</h1>
        ${canEdit && html`<label class="button primary"><${Icon} name="plus" /> Upload<input type="file" accept=".zip,application/zip" class="hidden" aria-label="Upload a template" onChange=${upload} /></label>`}
      </div>
      <input type="search" aria-label="Filter templates" placeholder="Filter" value=${filter} onInput=${(e) => setFilter(e.target.value)} />
      <ul class="plain">${(list ?? []).filter((t) => matches(filter, t.name, t.description)).map((t) => html`<li key=${t.name}>
        <a href=${`#/tools/templates/${encodeURIComponent(t.name)}`} class=${t.name === selected ? 'active' : ''}>${t.name} <span class="muted">${t.type}</span></a></li>`)}</ul>
    </aside>
    <div class="main">${!detail ? html`<p class="empty">${selected ? 'Loading…' : 'Select a template to browse its options.'}</p>` : html`
      <section class="detail" aria-label=${`Template ${detail.name}`}>
        <div class="toolbar"><h2>${detail.name}</h2><span class="muted">${detail.type}</span>
          ${canEdit && html`<button class="danger" onClick=${() => setConfirm(true)}><${Icon} name="trash" /> Delete Template</button>`}</div>
        <p>${detail.description}</p>
        ${detail.presets.length > 0 && html`<p class="muted">Common Default Configurations: ${detail.presets.map((p) => p.name).join(', ')}</p>`}
        <div class="toolbar filters">
          <input type="search" aria-label="Search options" placeholder="Search" value=${query} onInput=${(e) => setQuery(e.target.value)} />
          <select aria-label="Section" value=${category} onChange=${(e) => setCategory(e.target.value)}>
            <option value="">All sections</option>${categories.map((c) => html`<option value=${c}>${c}</option>`)}</select>
        </div>
        <table class="params"><thead><tr><th>Id</th><th>Default Value</th><th>Description</th></tr></thead>
          <tbody>${options.map((o) => html`<tr key=${o.name} data-name=${o.name}><td class="name"><code>${o.name}</code>
            ${o.kind !== 'optional' && html` <span class="pill">${o.kind}</span>`}</td>
            <td class="value">${o.default || html`<em class="muted">Not specified</em>`}</td><td class="desc">${o.description}</td></tr>`)}</tbody></table>
        <p class="muted">${options.length} of ${detail.options.length} option(s)</p>
      </section>`}
    </div>
    ${confirm && html`<${Confirm} title="Delete Template" text=${`Delete template ${selected}? Services made from it keep their options but can no longer be created from it.`}
      onYes=${remove} onClose=${() => setConfirm(false)} />`}
  </div>`;
}

// ---- Users ----------------------------------------------------------------------------------
const ROLES = ['Administrator', 'Supervisor', 'CallbackReadOnly'];

function UserDialog({ user, onDone, onClose }) {
  const [name, setName] = useState(user?.user ?? '');
  const [role, setRole] = useState(user?.role ?? 'Supervisor');
  const [services, setServices] = useState((user?.services ?? []).join(', '));
  const [password, setPassword] = useState('');
  const [error, setError] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    const body = { role, services: services.split(',').map((s) => s.trim()).filter(Boolean) };
    if (password) body.password = password;
    try {
      await api.put(`admin/users/${seg(name)}`, body, { action: `User ${name} Saved` });
      notify('ok', user ? `User ${name} changed` : `User ${name} added`);
      onDone();
      onClose();
    } catch (err) { setError(err.message); }
  };
  return html`<${Modal} title=${user ? `Change ${user.user}` : 'Add User'} onClose=${onClose}>
    <form class="stack" onSubmit=${submit}>
      <label>User name<input required disabled=${!!user} value=${name} onInput=${(e) => setName(e.target.value.trim())} /></label>
      <label>Role<select value=${role} onChange=${(e) => setRole(e.target.value)}>${ROLES.map((r) => html`<option>${r}</option>`)}</select></label>
      <label>Services or service groups<input placeholder="All services" value=${services} onInput=${(e) => setServices(e.target.value)} /></label>
      <label>Password<input type="password" autocomplete="new-password" required=${!user} minlength="8"
        placeholder=${user ? 'Unchanged' : ''} value=${password} onInput=${(e) => setPassword(e.target.value)} /></label>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <div class="actions"><button type="button" onClick=${onClose}>Cancel</button><button class="primary" type="submit">Save</button></div>
    </form>
  <//>`;
}

function Users({ me }) {
  const [users, setUsers] = useState(null);
  const [dialog, setDialog] = useState(null);
  const load = useCallback(async () => {
    try { setUsers(await api.get('admin/users', { action: 'Users Received' })); } catch (e) { notify('error', e.message); }
  }, []);
  useEffect(() => { load(); }, [load]);
  const remove = async (name) => {
    try { await api.del(`admin/users/${seg(name)}`, { action: `User ${name} Removed` }); notify('ok', `User ${name} removed`); load(); }
    catch (e) { notify('error', e.message); }
  };
  const list = users ?? [];
  return html`<section class="detail" aria-label="Users">
    <div class="toolbar"><h2>Users</h2><span class="muted">Who may log in, and what their role lets them do.</span>
      <button class="primary" onClick=${() => setDialog({ add: true })}><${Icon} name="plus" /> Add User</button></div>
    <table class="grid"><thead><tr><th>User</th><th>Role</th><th>Services</th><th class="act"></th></tr></thead>
      <tbody>${list.map((u) => html`<tr key=${u.user} data-name=${u.user}><td>${u.user}${u.user === me.user && html` <span class="pill">you</span>`}</td><td>${u.role}</td>
        <td>${u.services?.length ? u.services.join(', ') : html`<em class="muted">All</em>`}</td>
        <td class="act"><button class="icon-button" aria-label=${`Change ${u.user}`} onClick=${() => setDialog({ user: u })}><${Icon} name="pencil" /></button>
          <button class="icon-button" aria-label=${`Remove ${u.user}`} onClick=${() => setDialog({ remove: u.user })}><${Icon} name="trash" /></button></td></tr>`)}</tbody></table>
    ${(dialog?.add || dialog?.user) && html`<${UserDialog} user=${dialog.user} onDone=${load} onClose=${() => setDialog(null)} />`}
    ${dialog?.remove && html`<${Confirm} title="Remove User" text=${`Remove ${dialog.remove}? They can no longer log in.`} yes="Remove"
      onYes=${() => remove(dialog.remove)} onClose=${() => setDialog(null)} />`}
  </section>`;
}

// ---- Resources ------------------------------------------------------------------------------
function GroupDialog({ name: initial, group, onDone, onClose }) {
  const [name, setName] = useState(initial ?? '');
  const [numbers, setNumbers] = useState((group?.numbers ?? []).join('\n'));
  const [allocation, setAllocation] = useState(group?.allocation ?? 'round-robin');
  const [timeout, setTimeoutValue] = useState(group?._booking_expiration_timeout ?? 30);
  const [error, setError] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    const list = numbers.split(/[\s,]+/).map((n) => n.trim()).filter(Boolean);
    try {
      await api.put(`admin/resources/${seg(name)}`, { numbers: list, allocation, _booking_expiration_timeout: Number(timeout) }, { action: `Resource Group ${name} Saved` });
      notify('ok', `Resource group ${name} saved (${list.length} number(s))`);
      onDone();
      onClose();
    } catch (err) { setError(err.message); }
  };
  return html`<${Modal} title=${initial ? `Edit ${initial}` : 'Add Resource Group'} onClose=${onClose}>
    <form class="stack" onSubmit=${submit}>
      <label>Group name<input required disabled=${!!initial} value=${name} onInput=${(e) => setName(e.target.value.trim())} /></label>
      <label>Numbers (one per line)<textarea rows="6" value=${numbers} onInput=${(e) => setNumbers(e.target.value)}></textarea></label>
      <label>Allocation<select value=${allocation} onChange=${(e) => setAllocation(e.target.value)}><option>round-robin</option><option>random</option></select></label>
      <label>Booking expiration timeout (seconds)<input type="number" min="5" max="1800" value=${timeout} onInput=${(e) => setTimeoutValue(e.target.value)} /></label>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <div class="actions"><button type="button" onClick=${onClose}>Cancel</button><button class="primary" type="submit">Save</button></div>
    </form>
  <//>`;
}

function Resources({ canEdit }) {
  const [groups, setGroups] = useState(null);
  const [dialog, setDialog] = useState(null);
  const load = useCallback(async () => {
    try { setGroups(await api.get('admin/resources', { action: 'Resources Received' })); } catch (e) { notify('error', e.message); }
  }, []);
  useEffect(() => { load(); }, [load]);
  const remove = async (name) => {
    try { await api.del(`admin/resources/${seg(name)}`, { action: `Resource Group ${name} Deleted` }); notify('ok', `Resource group ${name} deleted`); load(); }
    catch (e) { notify('error', e.message); }
  };
  return html`<section class="detail" aria-label="Resources">
    <div class="toolbar"><h2>Resources</h2><span class="muted">Access-number groups, with the numbers free now.</span>
      <button onClick=${load}><${Icon} name="refresh" /> Refresh</button>
      ${canEdit && html`<button class="primary" onClick=${() => setDialog({ add: true })}><${Icon} name="plus" /> Add Group</button>`}</div>
    <table class="grid"><thead><tr><th>Group</th><th>Available / Total</th><th>Allocation</th><th>Booking timeout</th><th>Numbers</th><th class="act"></th></tr></thead>
      <tbody>${Object.entries(groups ?? {}).map(([name, g]) => html`<tr key=${name} data-name=${name}>
        <td>${name}</td><td class="count">${g.available} / ${g.total}</td><td>${g.allocation}</td><td>${g._booking_expiration_timeout} s</td>
        <td class="numbers">${g.numbers.join(', ')}</td>
        <td class="act">${canEdit && html`<button class="icon-button" aria-label=${`Edit ${name}`} onClick=${() => setDialog({ name, group: g })}><${Icon} name="pencil" /></button>
          <button class="icon-button" aria-label=${`Delete ${name}`} onClick=${() => setDialog({ remove: name })}><${Icon} name="trash" /></button>`}</td></tr>`)}</tbody></table>
    ${(dialog?.add || dialog?.group) && html`<${GroupDialog} name=${dialog.name} group=${dialog.group} onDone=${load} onClose=${() => setDialog(null)} />`}
    ${dialog?.remove && html`<${Confirm} title="Delete Resource Group" text=${`Delete resource group ${dialog.remove}?`}
      onYes=${() => remove(dialog.remove)} onClose=${() => setDialog(null)} />`}
  </section>`;
}

// ---- Patterns -------------------------------------------------------------------------------
function Patterns({ canEdit }) {
  const [groups, setGroups] = useState(null);
  const [group, setGroup] = useState('');
  const [rows, setRows] = useState([]);
  const [value, setValue] = useState('');
  const [hit, setHit] = useState(null);
  const [help, setHelp] = useState(false);
  const load = useCallback(async () => {
    try {
      const g = await api.get('admin/patterns', { action: 'Patterns Received' });
      setGroups(g);
      setGroup((cur) => cur && g[cur] ? cur : Object.keys(g)[0] ?? '');
    } catch (e) { notify('error', e.message); }
  }, []);
  useEffect(() => { load(); }, [load]);
  useEffect(() => { setRows(Object.entries(groups?.[group] ?? {}).map(([name, regex]) => ({ name, regex }))); setHit(null); }, [groups, group]);
  // Type a value: the row of the pattern the server matches it with lights up.
  useEffect(() => {
    if (!group || !value) { setHit(null); return undefined; }
    const t = setTimeout(async () => {
      try {
        const answer = await api.post(`patterns/group/${seg(group)}`, { value }, { action: 'Pattern Matched' });
        setHit(answer?.value ?? null);
      } catch (e) { notify('error', e.message); }
    }, 150);
    return () => clearTimeout(t);
  }, [group, value]);
  const save = async () => {
    const body = Object.fromEntries(rows.filter((r) => r.name.trim()).map((r) => [r.name.trim(), r.regex]));
    try {
      await api.put(`admin/patterns/${seg(group)}`, body, { action: `Pattern Group ${group} Saved` });
      // Reloaded before the notice: an edit made after it is not overwritten by the reload.
      await load();
      notify('ok', `Pattern group ${group} saved`);
    } catch (e) { notify('error', e.message); }
  };
  const [adding, setAdding] = useState(false);
  const [newName, setNewName] = useState('');
  const addGroup = (e) => {
    e.preventDefault();
    setGroups((g) => ({ ...g, [newName]: {} }));
    setGroup(newName);
    setRows([{ name: '', regex: '' }]);
    setAdding(false);
    setNewName('');
  };
  const edit = (i, change) => setRows(rows.map((r, j) => (j === i ? { ...r, ...change } : r)));
  return html`<section class="detail" aria-label="Patterns">
    <div class="toolbar"><h2>Patterns</h2>
      <select aria-label="Pattern group" value=${group} onChange=${(e) => setGroup(e.target.value)}>${Object.keys(groups ?? {}).map((g) => html`<option>${g}</option>`)}</select>
      ${canEdit && html`<button onClick=${() => setAdding(true)}><${Icon} name="plus" /> Add Group</button>`}
      <button class="link" onClick=${() => setHelp(!help)}>Help</button></div>
    ${help && html`<p class="note">Each pattern is a Java regular expression that must match the whole value (<code>\\d{3}-\\d{4}</code>,
      <code>[\\w.+-]+@[\\w-]+(\\.[\\w-]+)+</code>). A <code>_customer_number</code> is matched with a leading <code>+</code>.
      The Pattern Matcher API (<code>POST /genesys/1/patterns/group/${group || '{group}'}</code>) answers, for each parameter, the name of the pattern it matches.</p>`}
    <label class="test">Test a value<input aria-label="Test a value" placeholder="Type a value" value=${value} onInput=${(e) => setValue(e.target.value)} /></label>
    <p class="muted" aria-live="polite">${value ? (hit ? `Matches ${hit}` : 'No pattern matches') : ''}</p>
    <table class="grid"><thead><tr><th>Name</th><th>Expression</th><th class="act"></th></tr></thead>
      <tbody>${rows.map((r, i) => html`<tr key=${i} data-name=${r.name} class=${hit && hit === r.name ? 'hit' : ''}>
        <td>${canEdit ? html`<input aria-label="Pattern name" value=${r.name} onInput=${(e) => edit(i, { name: e.target.value })} />` : r.name}</td>
        <td>${canEdit ? html`<input class="wide" aria-label="Expression" value=${r.regex} onInput=${(e) => edit(i, { regex: e.target.value })} />` : html`<code>${r.regex}</code>`}</td>
        <td class="act">${canEdit && html`<button class="icon-button" aria-label=${`Remove ${r.name}`} onClick=${() => setRows(rows.filter((_, j) => j !== i))}><${Icon} name="trash" /></button>`}</td></tr>`)}</tbody></table>
    ${canEdit && html`<div class="toolbar"><button onClick=${() => setRows([...rows, { name: '', regex: '' }])}><${Icon} name="plus" /> Add Pattern</button>
      <button class="primary" onClick=${save} disabled=${!group}>Save</button></div>`}
    ${adding && html`<${Modal} title="Add Pattern Group" onClose=${() => setAdding(false)}>
      <form class="stack" onSubmit=${addGroup}>
        <label>Group name<input required pattern="[A-Za-z0-9._\-]+" value=${newName} onInput=${(e) => setNewName(e.target.value.trim())} /></label>
        <div class="actions"><button type="button" onClick=${() => setAdding(false)}>Cancel</button><button class="primary" type="submit">Add</button></div>
      </form>
    <//>`}
  </section>`;
}

// ---- Download DFM ---------------------------------------------------------------------------
/** The strategy documents the templates ship (what ORS would load), each a download link. */
function Documents() {
  const [docs, setDocs] = useState(null);
  useEffect(() => {
    api.get('admin/documents', { action: 'Documents Received' }).then(setDocs, (e) => notify('error', e.message));
  }, []);
  const byTemplate = new Map();
  for (const d of docs ?? []) {
    if (!byTemplate.has(d.template)) byTemplate.set(d.template, []);
    byTemplate.get(d.template).push(d);
  }
  return html`<section class="detail" aria-label="Download DFM">
    <div class="toolbar"><h2>Download DFM</h2><span class="muted">The SCXML documents the services run; keep the copies deployed elsewhere up to date with these.</span></div>
    ${[...byTemplate].map(([t, list]) => html`<div key=${t}><h3>${t}</h3>
      <ul class="plain documents">${list.map((d) => html`<li key=${d.file}>
        <a href=${d.url} download=${d.file}>${d.file}</a> <span class="muted">${(d.bytes / 1024).toFixed(1)} KB</span></li>`)}</ul></div>`)}
  </section>`;
}

// ---- Sample ---------------------------------------------------------------------------------
/** The JavaScript sample application (samples/web/), running against this server. */
function Sample() {
  return html`<section class="detail sample" aria-label="Sample">
    <div class="toolbar"><h2>Sample</h2>
      <span class="muted">A browser application that runs the contact scenarios against this server: pick a scenario, Connect,
        and follow the dialogs; pushes arrive over CometD. Its source is in samples/web/.</span>
      <a class="button" href="/genesys/sample/" target="_blank" rel="noopener">Open in a New Window</a></div>
    <iframe class="sample-frame" src="/genesys/sample/" title="GMS Sample"></iframe>
  </section>`;
}

// ---- Config ---------------------------------------------------------------------------------
/** The help's Jetty snippet for port restrictions: Ringback has neither, so the default message. */
function Config() {
  return html`<section class="detail" aria-label="Config">
    <div class="toolbar"><h2>Config</h2></div>
    <p>Port restrictions are not enabled in this configuration, so there is no snippet to add.</p>
    <p class="muted">Ringback serves the REST API, the Service Management UI and CometD push on the one address it listens
      on (<code>ringback serve --listen ADDRESS</code>); there is no <code>jetty-http.xml</code>. To keep a port for
      administration only, put a reverse proxy in front of it and allow <code>/genesys/1/admin/</code> only there.</p>
  </section>`;
}

// ---- Exception List -------------------------------------------------------------------------
/** The numbers a callback service refuses (its `_exceptions` option), service by service. */
function Exceptions({ canEdit }) {
  const [services, setServices] = useState(null);
  const [service, setService] = useState('');
  const [text, setText] = useState('');
  const load = useCallback(async () => {
    try {
      const all = await api.get('admin/services', { action: 'All Services Received Successfully' });
      const callbacks = Object.fromEntries(Object.entries(all).filter(([, o]) => o._service === 'callback'));
      setServices(callbacks);
      setService((cur) => cur && callbacks[cur] ? cur : Object.keys(callbacks)[0] ?? '');
    } catch (e) { notify('error', e.message); }
  }, []);
  useEffect(() => { load(); }, [load]);
  const numbers = useMemo(() => (services?.[service]?._exceptions ?? '').split(',').map((n) => n.trim()).filter(Boolean), [services, service]);
  useEffect(() => setText(numbers.join('\n')), [numbers]);
  const save = async () => {
    const list = text.split(/[\s,]+/).map((n) => n.trim()).filter(Boolean);
    const next = { ...services[service] };
    if (list.length) next._exceptions = list.join(',');
    else delete next._exceptions;
    try {
      await api.put(`admin/services/${seg(service)}`, next, { action: `Exception List of ${service} Saved` });
      notify('ok', `Exception list of ${service} saved (${list.length} number(s))`);
      load();
    } catch (e) { notify('error', e.message); }
  };
  return html`<section class="detail" aria-label="Exception List">
    <div class="toolbar"><h2>Exception List</h2>
      <select aria-label="Callback service" value=${service} onChange=${(e) => setService(e.target.value)}>${Object.keys(services ?? {}).map((s) => html`<option>${s}</option>`)}</select></div>
    <p class="muted">Callbacks requested for these numbers are refused by the service (its <code>_exceptions</code> option).</p>
    <label>Numbers (one per line)<textarea rows="10" readonly=${!canEdit} aria-label="Exception numbers" value=${text} onInput=${(e) => setText(e.target.value)}></textarea></label>
    ${canEdit && html`<div class="toolbar"><button class="primary" onClick=${save} disabled=${!service}>Save</button></div>`}
  </section>`;
}
