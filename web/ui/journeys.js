// The Context Services panel (the help's "Context Services Interface"): search a customer by an
// identification key (or an anonymous contact key, or a Service, State or Task ID), then manage
// the customer's journeys in three columns — Services | States | Tasks — with a sort, a filter per
// column, the details of the selection (General Information and Business Attributes), forms to
// start a service, state or task and to complete one, the deletion of a service, and the HTTP
// Request History of every request the panel made during this visit. Shown to Administrators and
// Supervisors of single-tenant installations with [cview] enabled; with `use-role`, Supervisors
// only read.
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import { api, seg } from './api.js';
import { Confirm, html, Icon, matches, notify } from './lib.js';
import { log } from './log.js';

// ---- shared with the Journey Timeline ------------------------------------------------------
export const NESTED = 'active_states=true&completed_states=true&active_tasks=true&completed_tasks=true';
export const KINDS = { service: 'Service', state: 'State', task: 'Task' };
/** The event fields a start or end event carries (the help's Properties). */
export const EVENT_FIELDS = ['session_id', 'interaction_id', 'application_type', 'application_id', 'resource_type', 'resource_id', 'media_type'];
const END_FIELDS = ['disposition', 'disposition_desc'];
/** The keys of a record that are not extensions. */
const RECORD_KEYS = new Set(['service_id', 'state_id', 'task_id', 'customer_id', 'contact_key', 'service_type', 'state_type', 'task_type',
  'est_duration', 'started', 'completed', 'expiration_time', 'previous_state_id', 'active_states', 'completed_states', 'active_tasks', 'completed_tasks']);
const STATUS_TEXT = { 0: 'No Answer', 200: 'OK', 201: 'Created', 204: 'No Content', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden',
  404: 'Not Found', 409: 'Conflict', 415: 'Unsupported Media Type', 429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable' };
export const statusText = (s) => `${s} (${STATUS_TEXT[s] ?? 'Error'})`;

/**
 * The business attributes as the panels read them: the attribute mapped to a field
 * (`Service.service_type`), a stored value's name, and its `Name (dbid)` label. Answers give DB
 * ids (or names with `map-names`); an unmapped field's value is shown as it is.
 */
export function catalogOf(attributes) {
  const byField = new Map();
  for (const a of attributes ?? []) for (const cv of a.cv_attributes ?? []) byField.set(cv, a);
  const attr = (kind, field) => byField.get(`${KINDS[kind]}.${field}`);
  const find = (kind, field, v) => {
    if (v === undefined || v === null || v === '') return null;
    const t = String(v).trim().toLowerCase();
    return attr(kind, field)?.values.find((x) => String(x.dbid) === t || x.name.toLowerCase() === t) ?? null;
  };
  return {
    attr,
    values: (kind, field) => attr(kind, field)?.values ?? null,
    name(kind, field, v) {
      if (v === undefined || v === null || v === '') return '';
      return find(kind, field, v)?.name ?? String(v);
    },
    label(kind, field, v) {
      if (v === undefined || v === null || v === '') return '';
      const x = find(kind, field, v);
      return x ? `${x.name} (${x.dbid})` : typeof v === 'object' ? JSON.stringify(v) : String(v);
    },
    typeName: (item) => (item ? find(item.kind, `${item.kind}_type`, item.type)?.name ?? (item.type == null ? '' : String(item.type)) : ''),
  };
}

/** A service as the API answers it, with its nested states and tasks, as the panels use it. */
export function itemsOf(raw) {
  const owner = raw.customer_id !== undefined ? { customer_id: raw.customer_id } : { contact_key: raw.contact_key };
  const service = { kind: 'service', id: raw.service_id, type: raw.service_type, started: raw.started ?? {}, completed: raw.completed, raw, owner };
  const states = [...(raw.active_states ?? []), ...(raw.completed_states ?? [])].map((s) => ({
    kind: 'state', id: s.state_id, type: s.state_type, started: s.started ?? {}, completed: s.completed, raw: s, owner, service_id: raw.service_id,
  }));
  const tasks = [...(raw.active_tasks ?? []), ...(raw.completed_tasks ?? [])].map((t) => ({
    kind: 'task', id: t.task_id, type: t.task_type, started: t.started ?? {}, completed: t.completed, raw: t, owner, service_id: raw.service_id, state_id: t.state_id,
  }));
  return { ...service, states, tasks };
}

export const startedAt = (item) => Date.parse(item.started?.timestamp ?? '') || 0;
export const completedAt = (item) => (item.completed ? Date.parse(item.completed.timestamp) || 0 : null);

/** The extensions of a record: its keys that are not a record field. */
export function extensionsOf(raw) {
  return Object.entries(raw ?? {}).filter(([k]) => !RECORD_KEYS.has(k));
}

/** A value as a cell shows it: text as it is, anything else as JSON. */
export const shown = (v) => (v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));

/**
 * Every request of a panel through api.js, kept in its HTTP Request History: action, path (as
 * `../1/cs/...`), data (the query or the body), method, the status the server answered, and time.
 */
export function useHistory() {
  const [history, setHistory] = useState([]);
  const call = useCallback(async (method, path, { body, action } = {}) => {
    const [where, query] = path.split('?');
    const data = method === 'GET' || method === 'DELETE'
      ? (query ? JSON.stringify(Object.fromEntries(new URLSearchParams(query))) : '')
      : (body === undefined ? '' : JSON.stringify(body));
    const entry = { n: 0, action, path: `../1/${where}`, data, method };
    const add = (status) => setHistory((h) => [...h, { ...entry, n: h.length + 1, status, time: new Date() }]);
    const meta = {};
    const opts = { action, meta };
    try {
      const out = method === 'GET' ? await api.get(path, opts)
        : method === 'DELETE' ? await api.del(path, opts)
          : method === 'PUT' ? await api.put(path, body, opts) : await api.post(path, body, opts);
      add(meta.status);
      return out;
    } catch (e) {
      add(e.status ?? 0);
      throw e;
    }
  }, []);
  return [history, call];
}

export function HistoryTable({ history }) {
  const fmt = (d) => d.toString().replace(/ \(.*\)$/, '');
  return html`<section class="cs-history" aria-label="HTTP Request History">
    <h3>HTTP Request History</h3>
    <table class="grid"><thead><tr><th>Action</th><th>Path</th><th>Data</th><th>Method</th><th>Status</th><th>Time</th></tr></thead>
      <tbody>${history.length === 0 ? html`<tr><td colspan="6" class="muted">No request yet.</td></tr>`
        : history.map((h) => html`<tr key=${h.n} class=${h.status >= 200 && h.status < 300 ? '' : 'failed'}>
          <td>${h.action}</td><td class="cs-clip" title=${h.path}>${h.path}</td><td class="cs-clip" title=${h.data}>${h.data}</td>
          <td>${h.method}</td><td>${statusText(h.status)}</td><td class="cs-time">${fmt(h.time)}</td></tr>`)}</tbody></table>
  </section>`;
}

// ---- the panel -----------------------------------------------------------------------------
const ID_KEYS = [
  { id: 'customer', label: 'Customer ID' },
  { id: 'anonymous', label: 'Anonymous ID' },
  { id: 'service', label: 'Service ID' },
  { id: 'state', label: 'State ID' },
  { id: 'task', label: 'Task ID' },
];
const PAGE = 100;
const NOT_FOUND = "Couldn't find any services..";

/** `Jones Jane` for [LastName, FirstName]: a word each, the last attribute takes the rest. */
export function queryOf(attributes, value) {
  const words = value.trim().split(/\s+/);
  const q = new URLSearchParams();
  attributes.forEach((a, i) => {
    const v = i === attributes.length - 1 ? words.slice(i).join(' ') : words[i];
    if (v) q.set(a, v);
  });
  return q;
}

/** A profile's name for a result list: its header attributes, or its customer ID. */
export function profileName(p, attributes = ['LastName', 'FirstName']) {
  const first = (v) => (Array.isArray(v) ? v[0] : v);
  return attributes.map((a) => first(p[a])).filter((v) => v !== undefined && v !== null && v !== '').join(' ');
}

export function ContextServices({ me, role }) {
  const readOnly = role !== 'Administrator' && me.context_services?.use_role === true;
  const [history, call] = useHistory();
  const [attributes, setAttributes] = useState(null);
  const [keys, setKeys] = useState([]);
  const [keyId, setKeyId] = useState('');
  const [value, setValue] = useState('');
  const [busy, setBusy] = useState(false);
  // What the last search found: { customers } (several), { none }, or { scope, services }.
  const [found, setFound] = useState(null);
  const [sel, setSel] = useState({});
  const [form, setForm] = useState(null);
  const [showHistory, setShowHistory] = useState(false);
  const catalog = useMemo(() => catalogOf(attributes), [attributes]);

  useEffect(() => {
    log.info('cs-controller', 'Get Business Attributes');
    call('GET', 'cs/metadata/business-attributes', { action: 'Get Business Attributes' }).then(setAttributes, (e) => notify('error', e.message));
    call('GET', 'cs/metadata/identification-keys', { action: 'Get Identification Keys' }).then((k) => {
      const list = [...k].sort((a, b) => a.id - b.id);
      setKeys(list);
      setKeyId((cur) => cur || (list[0] ? `key:${list[0].name}` : 'customer'));
    }, (e) => { notify('error', e.message); setKeyId((cur) => cur || 'customer'); });
  }, [call]);

  /** Reads the services of a scope (a customer, an anonymous contact or one service). */
  const load = useCallback(async (scope, select = {}) => {
    let list;
    if (scope.kind === 'customer') {
      list = await call('GET', `cs/customers/${seg(scope.id)}/services?${NESTED}&extensions=*`, { action: 'Query Customer ID' });
    } else if (scope.kind === 'anonymous') {
      list = await call('GET', `cs/services/anonymous/${seg(scope.id)}?${NESTED}&extensions=*`, { action: 'Query Anonymous ID' });
    } else {
      list = [await call('GET', `cs/services/${seg(scope.id)}?${NESTED}&extensions=*`, { action: 'Query Service ID' })];
    }
    const services = list.map(itemsOf);
    setFound({ scope, services });
    setSel(select);
    return services;
  }, [call]);

  const search = async (e) => {
    e?.preventDefault();
    const v = value.trim();
    if (!v) return;
    setBusy(true);
    setForm(null);
    setSel({});
    log.info('cs-controller', `Search ${keyId} = ${v}`);
    try {
      if (keyId.startsWith('key:')) {
        const key = keys.find((k) => `key:${k.name}` === keyId);
        const attrs = key.source === 'profile' ? key.attributes : key.attributes.map((a) => `${key.source}.${a}`);
        const q = queryOf(attrs, v);
        q.set('id_key', key.name);
        const profiles = await call('GET', `cs/profiles?${q}`, { action: `Query ${key.name}` });
        if (profiles.length > 1) setFound({ customers: profiles });
        else if (profiles.length === 1) await load({ kind: 'customer', id: profiles[0].customer_id });
        else {
          // No profile: the value may be the contact key of anonymous services.
          const anon = await call('GET', `cs/services/anonymous/${seg(v)}?${NESTED}&extensions=*`, { action: 'Query Anonymous ID' });
          if (anon.length) { setFound({ scope: { kind: 'anonymous', id: v }, services: anon.map(itemsOf) }); }
          else setFound({ none: true });
        }
      } else if (keyId === 'state' || keyId === 'task') {
        const item = await call('GET', `cs/items/${seg(v)}`, { action: `Query ${keyId === 'state' ? 'State' : 'Task'} ID` });
        await load({ kind: 'service', id: item.service_id }, { service: item.service_id, [item.kind]: v, focus: item.kind });
      } else if (keyId === 'service') {
        await load({ kind: 'service', id: v }, { service: v, focus: 'service' });
      } else {
        await load({ kind: keyId, id: v });
      }
    } catch (err) {
      if (err.status === 400 || err.status === 404) setFound({ none: true, reason: err.message });
      else { setFound(null); notify('error', err.message); }
    } finally {
      setBusy(false);
    }
  };

  const pick = (p) => load({ kind: 'customer', id: p.customer_id }).catch((e) => notify('error', e.message));
  const reload = (select) => load(found.scope, select ?? sel).catch((e) => notify('error', e.message));

  return html`<section class="cs" aria-label="Context Services">
    <form class="toolbar cs-search" role="search" aria-label="Search" onSubmit=${search}>
      <h1>Context Services</h1>
      <label class="inline-label">Search
        <select aria-label="Search key" value=${keyId} onChange=${(e) => setKeyId(e.target.value)}>
          ${keys.map((k) => html`<option value=${`key:${k.name}`}>${k.name}</option>`)}
          ${ID_KEYS.map((k) => html`<option value=${k.id}>${k.label}</option>`)}
        </select></label>
      <input type="search" aria-label="Search value" placeholder="Exact value" value=${value} onInput=${(e) => setValue(e.target.value)} />
      <button class="primary" type="submit" disabled=${busy || !value.trim()}>Search</button>
      <span class="spacer"></span>
      <button type="button" aria-expanded=${showHistory} aria-controls="cs-history" onClick=${() => setShowHistory(!showHistory)}>HTTP Request History</button>
    </form>
    ${readOnly && html`<p class="note" role="note">Read-only: your role (${role}) may read the journeys but not change them.</p>`}
    ${busy && html`<p class="muted" role="status">Searching…</p>`}
    ${!busy && found?.none && html`<p class="empty" role="status">${NOT_FOUND}</p>`}
    ${!busy && found?.customers && html`<${Customers} list=${found.customers} onPick=${pick} />`}
    ${found?.scope && html`<${Manage} found=${found} catalog=${catalog} sel=${sel} setSel=${setSel} form=${form} setForm=${setForm}
      readOnly=${readOnly} call=${call} reload=${reload} load=${load} />`}
    ${showHistory && html`<div id="cs-history"><${HistoryTable} history=${history} /></div>`}
  </section>`;
}

function Customers({ list, onPick }) {
  return html`<section class="detail cs-customers" aria-label="Customers">
    <h2>Which of these customers are you referring to?</h2>
    <ul class="plain">${list.map((p) => html`<li key=${p.customer_id}>
      <button class="link" onClick=${() => onPick(p)}>${profileName(p) || p.customer_id}</button>
      <span class="muted"> ${[p.EmailAddress, p.PhoneNumber].flat().filter(Boolean).join(', ')} · ${p.customer_id}</span></li>`)}</ul>
  </section>`;
}

// ---- Services | States | Tasks ---------------------------------------------------------------
function Manage({ found, catalog, sel, setSel, form, setForm, readOnly, call, reload, load }) {
  const [order, setOrder] = useState('latest');
  const [filters, setFilters] = useState({ service: '', state: '', task: '' });
  const [limit, setLimit] = useState(PAGE);
  const [confirm, setConfirm] = useState(null);
  const { scope, services } = found;
  const sorted = useCallback((list) => {
    const s = [...list].sort((a, b) => startedAt(a) - startedAt(b) || String(a.id).localeCompare(String(b.id)));
    return order === 'latest' ? s.reverse() : s;
  }, [order]);
  const service = services.find((s) => s.id === sel.service) ?? null;
  const state = service?.states.find((s) => s.id === sel.state) ?? null;
  const task = service?.tasks.find((t) => t.id === sel.task) ?? null;
  const focus = sel.focus === 'task' ? task : sel.focus === 'state' ? state : service;
  const filterOf = (kind) => (item) => matches(filters[kind], catalog.typeName(item), item.id, item.completed ? 'completed' : 'active');
  const lists = {
    service: sorted(services.filter(filterOf('service'))),
    state: service ? sorted(service.states.filter(filterOf('state'))) : [],
    task: service ? sorted(service.tasks.filter(filterOf('task'))) : [],
  };
  const choose = (item) => {
    setForm(null);
    if (item.kind === 'service') setSel({ service: item.id, focus: 'service' });
    else if (item.kind === 'state') setSel({ service: sel.service, state: item.id, focus: 'state' });
    else setSel({ service: sel.service, state: sel.state, task: item.id, focus: 'task' });
  };
  const remove = async (item) => {
    const name = catalog.typeName(item) || item.id;
    try {
      await call('DELETE', `cs/services/${seg(item.id)}`, { action: `Delete Service: ${item.id}` });
      notify('ok', `Service "${name}" deleted`);
      // The one service searched for is gone: show the rest of its owner's.
      if (scope.kind === 'service' && scope.id === item.id) {
        await load(item.owner.customer_id !== undefined ? { kind: 'customer', id: item.owner.customer_id } : { kind: 'anonymous', id: item.owner.contact_key });
      } else await reload(sel.service === item.id ? {} : sel);
    } catch (e) { notify('error', e.message); }
  };
  const owner = scope.kind === 'customer' ? { customer_id: scope.id } : scope.kind === 'anonymous' ? { contact_key: scope.id } : services[0]?.owner ?? {};
  const column = (kind, title) => {
    const list = lists[kind];
    const all = kind === 'service' ? services.length : kind === 'state' ? service?.states.length ?? 0 : service?.tasks.length ?? 0;
    const canAdd = !readOnly && (kind === 'service' || service);
    const shownList = kind === 'service' ? list.slice(0, limit) : list;
    return html`<section class="cs-column" aria-label=${title}>
      <header><h3>${title} <span class="muted">${list.length === all ? all : `${list.length} of ${all}`}</span></h3>
        ${!readOnly && html`<button class="icon-button" aria-label=${`Add a ${kind}`} title=${`Add a ${kind}`} disabled=${!canAdd}
          onClick=${() => setForm({ mode: 'start', kind })}><${Icon} name="plus" /></button>`}</header>
      <input type="search" aria-label=${`Filter ${title.toLowerCase()}`} placeholder="Filter" value=${filters[kind]}
        onInput=${(e) => setFilters({ ...filters, [kind]: e.target.value })} />
      ${kind !== 'service' && !service ? html`<p class="muted">Select a service.</p>`
        : list.length === 0 ? html`<p class="muted">None.</p>`
          : html`<ul class="cs-items">${shownList.map((item) => {
            const on = (kind === 'service' && sel.service === item.id) || (kind === 'state' && sel.state === item.id) || (kind === 'task' && sel.task === item.id);
            const name = catalog.typeName(item);
            const inState = kind === 'task' && sel.state && item.state_id === sel.state;
            return html`<li key=${item.id} data-id=${item.id} class=${`${on ? 'selected' : ''}${inState ? ' in-state' : ''}`}>
              <button class="cs-item" aria-pressed=${on} onClick=${() => choose(item)}>
                <span class="cs-name">${name || html`<em>No type</em>`}</span>
                <span class="cs-meta">${item.started?.timestamp ?? ''} <span class=${`pill ${item.completed ? '' : 'live'}`}>${item.completed ? 'Completed' : 'Active'}</span></span>
              </button>
              ${kind === 'service' && !readOnly && html`<button class="icon-button cs-x" aria-label=${`Delete ${name || item.id}`} title="Delete"
                onClick=${() => setConfirm(item)}>×</button>`}
            </li>`;
          })}</ul>`}
      ${kind === 'service' && list.length > limit && html`<button class="small" onClick=${() => setLimit(limit + PAGE)}>Show more (${list.length - limit} more)</button>`}
    </section>`;
  };
  return html`<div class="cs-manage">
    ${services.length === 0 && html`<p class="empty" role="status">${NOT_FOUND}</p>`}
    <div class="toolbar">
      <span class="muted">${scope.kind === 'customer' ? `Customer ID: ${scope.id}` : scope.kind === 'anonymous' ? `Anonymous ID: ${scope.id}` : `Service ID: ${scope.id}`}</span>
      <label class="inline-label">Time Started
        <select aria-label="Sort" value=${order} onChange=${(e) => setOrder(e.target.value)}>
          <option value="latest">Latest First</option><option value="oldest">Oldest First</option></select></label>
    </div>
    <div class="cs-columns">
      ${column('service', 'Services')}${column('state', 'States')}${column('task', 'Tasks')}
    </div>
    ${form ? html`<${EventForm} key=${`${form.mode}-${form.kind}-${form.item?.id ?? ''}`} form=${form} catalog=${catalog} owner=${owner}
        service=${service} state=${state} call=${call} onCancel=${() => setForm(null)}
        onDone=${async (select, nextScope) => { setForm(null); try { await (nextScope ? load(nextScope, select) : reload(select)); } catch (e) { notify('error', e.message); } }} />`
      : focus ? html`<${Details} item=${focus} service=${service} catalog=${catalog} readOnly=${readOnly}
        onComplete=${() => setForm({ mode: 'end', kind: focus.kind, item: focus })} />`
        : services.length > 0 && html`<p class="muted">Select an item to see its details.</p>`}
    ${confirm && html`<${Confirm} title="Delete Service" text=${`Are you sure you want to delete "${catalog.typeName(confirm) || confirm.id}"?`}
      onYes=${() => remove(confirm)} onClose=${() => setConfirm(null)} />`}
  </div>`;
}

// ---- details -------------------------------------------------------------------------------
const ATTRIBUTE_ROWS = [['application_type', 'Application type'], ['interaction_id', 'Interaction id'], ['media_type', 'Media type'], ['resource_type', 'Resource type']];
const OTHER_ROWS = [['session_id', 'Session id'], ['application_id', 'Application id'], ['resource_id', 'Resource id']];

function Details({ item, service, catalog, readOnly, onComplete }) {
  const K = KINDS[item.kind];
  const owner = item.owner ?? service?.owner ?? {};
  const rows = [];
  for (const [when, ev] of [['Started', item.started], ['Completed', item.completed]]) {
    if (!ev) continue;
    for (const [f, label] of [...ATTRIBUTE_ROWS, ...OTHER_ROWS]) {
      if (ev[f] !== undefined && ev[f] !== null && ev[f] !== '') rows.push([`${label} (${when})`, catalog.label(item.kind, f, ev[f])]);
    }
    if (when === 'Completed') {
      if (ev.disposition) rows.push(['Disposition', catalog.label(item.kind, 'disposition', ev.disposition)]);
      if (ev.disposition_desc) rows.push(['Disposition description', ev.disposition_desc]);
    }
  }
  const extensions = extensionsOf(item.raw);
  return html`<section class="detail cs-detail" aria-label=${`${K} details`}>
    <h3>General Information</h3>
    <table class="params cs-info"><tbody>
      ${owner.customer_id !== undefined
        ? html`<tr><th scope="row">Customer ID</th><td>${owner.customer_id}</td></tr>`
        : html`<tr><th scope="row">Anonymous ID</th><td>${owner.contact_key}</td></tr>`}
      <tr><th scope="row">ID</th><td data-field="id">${item.id}</td></tr>
      ${item.kind !== 'service' && html`<tr><th scope="row">Service ID</th><td>${item.service_id}</td></tr>`}
      ${item.kind === 'task' && item.state_id && html`<tr><th scope="row">State ID</th><td>${item.state_id}</td></tr>`}
      ${item.raw.previous_state_id && html`<tr><th scope="row">Previous State ID</th><td>${item.raw.previous_state_id}</td></tr>`}
      <tr><th scope="row">${K} Type</th><td data-field="type">${catalog.label(item.kind, `${item.kind}_type`, item.type) || html`<em class="muted">Not specified</em>`}</td></tr>
      ${item.raw.est_duration !== undefined && html`<tr><th scope="row">Estimated duration</th><td>${item.raw.est_duration} s</td></tr>`}
      <tr><th scope="row">Time Started</th><td>${item.started?.timestamp}</td></tr>
      ${item.completed && html`<tr><th scope="row">Time Completed</th><td>${item.completed.timestamp}</td></tr>`}
      <tr><th scope="row">Completed</th><td data-field="completed">${item.completed
        ? html`<span class="cs-tick" role="img" aria-label="Completed">✓</span>`
        : readOnly ? html`<span class="muted">No</span>` : html`<button class="small" onClick=${onComplete}>Complete</button>`}</td></tr>
    </tbody></table>
    <h3>Business Attributes</h3>
    ${rows.length + extensions.length === 0 ? html`<p class="muted">None.</p>` : html`<table class="params cs-attrs"><tbody>
      ${rows.map(([k, v]) => html`<tr><th scope="row">${k}</th><td>${v}</td></tr>`)}
      ${extensions.map(([k, v]) => html`<tr class="ext"><th scope="row">${k}</th><td><code>${shown(v)}</code></td></tr>`)}
    </tbody></table>`}
  </section>`;
}

// ---- start and complete --------------------------------------------------------------------
function EventForm({ form, catalog, owner, service, state, call, onCancel, onDone }) {
  const { mode, kind, item } = form;
  const K = KINDS[kind];
  const start = mode === 'start';
  const typeField = `${kind}_type`;
  const values = catalog.values(kind, typeField);
  const [type, setType] = useState('');
  const [ownerKind, setOwnerKind] = useState(owner.customer_id !== undefined || owner.contact_key === undefined ? 'customer_id' : 'contact_key');
  const [ownerValue, setOwnerValue] = useState(owner.customer_id ?? owner.contact_key ?? '');
  const [stateId, setStateId] = useState(state && !state.completed ? state.id : '');
  const [fields, setFields] = useState({});
  const [useNow, setUseNow] = useState(true);
  const [timestamp, setTimestamp] = useState('');
  const [extra, setExtra] = useState([]);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const names = [...EVENT_FIELDS, ...(start ? ['est_duration'] : END_FIELDS)];
  const submit = async (e) => {
    e.preventDefault();
    setError(null);
    const body = {};
    if (start && type) body[typeField] = type;
    if (start && kind === 'service') body[ownerKind] = ownerValue.trim();
    if (start && kind === 'task' && stateId) body.state_id = stateId;
    for (const n of names) {
      const v = (fields[n] ?? '').trim();
      if (!v) continue;
      body[n] = n === 'est_duration' && /^\d+$/.test(v) ? Number(v) : v;
    }
    if (!useNow && timestamp.trim()) body.timestamp = /^\d+$/.test(timestamp.trim()) ? Number(timestamp.trim()) : timestamp.trim();
    for (const { name, value } of extra) {
      if (!name.trim()) continue;
      try { body[name.trim()] = JSON.parse(value); } catch { body[name.trim()] = value; }
    }
    const sid = service?.id;
    setBusy(true);
    try {
      if (start) {
        const path = kind === 'service' ? 'cs/services/start' : `cs/services/${seg(sid)}/${kind}s/start`;
        const out = await call('POST', path, { body, action: `Start ${K}` });
        const id = out?.[`${kind}_id`];
        notify('ok', `${K} started`);
        if (kind === 'service') {
          const scope = ownerKind === 'customer_id' ? { kind: 'customer', id: body.customer_id } : { kind: 'anonymous', id: body.contact_key };
          await onDone({ service: id, focus: 'service' }, scope);
        } else await onDone({ service: sid, state: kind === 'state' ? id : stateId || undefined, task: kind === 'task' ? id : undefined, focus: kind });
      } else {
        const path = kind === 'service' ? `cs/services/${seg(item.id)}/end` : `cs/services/${seg(item.service_id)}/${kind}s/${seg(item.id)}/end`;
        await call('POST', path, { body, action: `Complete ${K}: ${item.id}` });
        notify('ok', `${K} completed`);
        await onDone({ service: item.kind === 'service' ? item.id : item.service_id, state: item.kind === 'state' ? item.id : item.kind === 'task' ? item.state_id : undefined, task: item.kind === 'task' ? item.id : undefined, focus: kind });
      }
    } catch (err) {
      setError(err.message);
    } finally {
      setBusy(false);
    }
  };
  const title = start ? `Start a ${K}` : `Complete ${K}`;
  const activeStates = (service?.states ?? []).filter((s) => !s.completed);
  return html`<form class="detail cs-form" aria-label=${title} onSubmit=${submit}>
    <div class="toolbar"><h3>${title}</h3>${!start && html`<span class="muted">${catalog.typeName(item)} · ${item.id}</span>`}</div>
    ${start && html`<div class="cs-grid">
      <label>${K} Type
        ${values ? html`<select value=${type} onChange=${(e) => setType(e.target.value)}>
            <option value="">Select a type</option>
            ${values.map((v) => html`<option value=${v.name}>${v.name}</option>`)}</select>`
          : html`<input value=${type} onInput=${(e) => setType(e.target.value)} />`}</label>
      ${kind === 'service' && html`<fieldset class="cs-owner"><legend>Owner</legend>
        <label class="toggle"><input type="radio" name="owner" checked=${ownerKind === 'customer_id'} onChange=${() => setOwnerKind('customer_id')} /> Customer ID</label>
        <label class="toggle"><input type="radio" name="owner" checked=${ownerKind === 'contact_key'} onChange=${() => setOwnerKind('contact_key')} /> Anonymous ID</label>
        <input aria-label="Owner ID" required value=${ownerValue} onInput=${(e) => setOwnerValue(e.target.value)} /></fieldset>`}
      ${kind === 'state' && html`<p class="muted">In service ${catalog.typeName(service)} · ${service?.id}</p>`}
      ${kind === 'task' && html`<label>State<select value=${stateId} onChange=${(e) => setStateId(e.target.value)}>
        <option value="">No state</option>
        ${activeStates.map((s) => html`<option value=${s.id}>${catalog.typeName(s) || s.id} · ${s.id}</option>`)}</select></label>`}
    </div>`}
    <fieldset><legend>Properties</legend><div class="cs-grid">
      ${names.map((n) => html`<label>${n}<input name=${n} inputmode=${n === 'est_duration' ? 'numeric' : undefined} value=${fields[n] ?? ''}
        onInput=${(e) => setFields({ ...fields, [n]: e.target.value })} /></label>`)}
      <div class="cs-ts"><label>timestamp<input name="timestamp" disabled=${useNow} placeholder="2016-01-08T13:28:28.276Z" value=${timestamp}
          onInput=${(e) => setTimestamp(e.target.value)} /></label>
        <label class="toggle"><input type="checkbox" checked=${useNow} onChange=${(e) => setUseNow(e.target.checked)} /> Use Current Timestamp</label></div>
    </div></fieldset>
    <fieldset><legend>Additional properties <button type="button" class="icon-button" aria-label="Add a property"
        onClick=${() => setExtra([...extra, { name: '', value: '' }])}><${Icon} name="plus" /></button></legend>
      ${extra.length === 0 ? html`<p class="muted">No additional property.</p>` : extra.map((x, i) => html`<div class="row">
        <label>Name<input value=${x.name} aria-label=${`Property ${i + 1} name`} onInput=${(e) => setExtra(extra.map((y, j) => (j === i ? { ...y, name: e.target.value } : y)))} /></label>
        <label>Value<input value=${x.value} aria-label=${`Property ${i + 1} value`} onInput=${(e) => setExtra(extra.map((y, j) => (j === i ? { ...y, value: e.target.value } : y)))} /></label>
        <button type="button" class="icon-button" aria-label=${`Remove property ${i + 1}`} onClick=${() => setExtra(extra.filter((_, j) => j !== i))}>×</button></div>`)}
    </fieldset>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <div class="actions"><button type="button" onClick=${onCancel}>Cancel</button>
      <button class="primary" type="submit" disabled=${busy}>${start ? 'Start' : 'Complete'}</button></div>
  </form>`;
}
