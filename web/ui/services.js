// The Services tab (the help's "Services Tab"): the configured services grouped by template,
// with search and a template filter; a service's parameter table with its mandatory (locked),
// optional, advanced (behind a toggle) and request parameters; inline editing with predefined
// values; add, rename and remove parameters; create a service from a template (with a
// "Common Default Configuration" where the template has presets) and delete one. Only an
// Administrator changes anything; the server refuses the others whatever the page shows.
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, seg } from './api.js';
import { Confirm, go, html, Icon, matches, Modal, notify, saveService } from './lib.js';
import { log } from './log.js';
import { CapacityEditor } from './capacity.js';

const LOCKED = new Set(['_type', '_service']);
const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const RESERVED = new Set(('await break case catch class const continue debugger default delete do else enum ' +
  'export extends false finally for function if implements import in instanceof interface let new null ' +
  'package private protected public return static super switch this throw true try typeof var void while ' +
  'with yield').split(' '));

/** Why `name` cannot name a parameter (the help: a valid ECMAScript variable name), or null. */
export function badParameterName(name) {
  if (!name) return 'The parameter needs a name.';
  if (!IDENT.test(name) || RESERVED.has(name)) {
    return `"${name}" is not a valid ECMAScript variable name: use letters, digits, _ and $ ` +
      '(no "." or "-"), not starting with a digit, and not a reserved word.';
  }
  return null;
}

/** Where clients call a service. */
function serviceUrl(name, options) {
  const base = `${location.origin}/genesys/1/service`;
  return options._service === 'callback' ? `${base}/callback/${name}` : `${base}/${name}`;
}

// Template details, fetched once per page.
const templateCache = new Map();
function loadTemplate(name) {
  if (!templateCache.has(name)) {
    const p = api.get(`admin/templates/${seg(name)}`, { action: `Template ${name} Received Successfully` })
      .catch((e) => { templateCache.delete(name); throw e; });
    templateCache.set(name, p);
  }
  return templateCache.get(name);
}

function rowsOf(options, template) {
  const specs = new Map((template?.options ?? []).map((o) => [o.name, o]));
  const names = new Set([...Object.keys(options), ...specs.keys()]);
  return [...names].sort().map((name) => {
    const spec = specs.get(name);
    const kind = LOCKED.has(name) ? 'mandatory' : (spec?.kind ?? 'custom');
    return { name, value: options[name], spec, kind, category: spec?.category ?? (LOCKED.has(name) ? 'General' : 'Custom') };
  });
}

function ValueEditor({ row, onSave, onCancel }) {
  const [value, setValue] = useState(row.value ?? row.spec?.default ?? '');
  const ref = useRef(null);
  useEffect(() => ref.current?.focus(), []);
  const choices = row.spec?.values ?? (row.spec?.type === 'boolean' ? ['true', 'false'] : null);
  const key = (e) => {
    if (e.key === 'Enter') { e.preventDefault(); onSave(value); }
    if (e.key === 'Escape') { e.preventDefault(); onCancel(); }
  };
  return html`<span class="editor">
    ${choices
      ? html`<select ref=${ref} aria-label=${`Value of ${row.name}`} value=${value} onChange=${(e) => setValue(e.target.value)} onKeyDown=${key}>
          ${!choices.includes(value) && html`<option value=${value}>${value}</option>`}
          ${choices.map((c) => html`<option value=${c}>${c}</option>`)}
        </select>`
      : html`<input ref=${ref} aria-label=${`Value of ${row.name}`} value=${value} onInput=${(e) => setValue(e.target.value)} onKeyDown=${key} />`}
    <button class="primary small" onClick=${() => onSave(value)}>Save</button>
    <button class="small" onClick=${onCancel}>Cancel</button>
  </span>`;
}

function NameDialog({ title, initial = '', withValue, taken, onDone, onClose }) {
  const [name, setName] = useState(initial);
  const [value, setValue] = useState('');
  const [error, setError] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    const bad = badParameterName(name) || (taken.has(name) && name !== initial ? `Parameter ${name} exists already.` : null);
    if (bad) { setError(bad); return; }
    if (await onDone(name, value)) onClose();
  };
  return html`<${Modal} title=${title} onClose=${onClose}>
    <form onSubmit=${submit} class="stack">
      <label>Name<input required value=${name} onInput=${(e) => { setName(e.target.value.trim()); setError(null); }} /></label>
      ${withValue && html`<label>Value<input value=${value} onInput=${(e) => setValue(e.target.value)} /></label>`}
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <div class="actions"><button type="button" onClick=${onClose}>Cancel</button><button class="primary" type="submit">Save</button></div>
    </form>
  <//>`;
}

function ServiceDetail({ name, options, canEdit, onSaved, onDeleted }) {
  const [template, setTemplate] = useState(null);
  const [query, setQuery] = useState('');
  const [category, setCategory] = useState('');
  const [advanced, setAdvanced] = useState(false);
  const [editing, setEditing] = useState(null);
  const [dialog, setDialog] = useState(null);
  useEffect(() => {
    setTemplate(null);
    setEditing(null);
    const t = options._service;
    if (t && !t.includes('/') && !t.endsWith('.scxml')) {
      loadTemplate(t).then(setTemplate, (e) => e.status !== 404 && notify('error', e.message));
    }
  }, [name, options._service]);
  const rows = useMemo(() => rowsOf(options, template), [options, template]);
  const categories = [...new Set(rows.map((r) => r.category))].sort();
  const shown = rows.filter((r) => (advanced || r.kind !== 'advanced') && (!category || r.category === category) &&
    matches(query, r.name, r.value, r.spec?.description));

  const save = (next, what) => saveService(name, next, what, onSaved);
  const setValue = async (row, value) => {
    if (await save({ ...options, [row.name]: value }, `Parameter ${row.name} updated`)) setEditing(null);
  };
  const clear = (row) => {
    const next = { ...options };
    delete next[row.name];
    save(next, `Parameter ${row.name} is now not specified`);
  };
  const rename = (row) => setDialog({
    title: `Rename ${row.name}`, initial: row.name,
    onDone: (to) => to === row.name ? true : save(
      Object.fromEntries(Object.entries(options).map(([k, v]) => [k === row.name ? to : k, v])),
      `Parameter ${row.name} renamed to ${to}`),
  });
  const add = () => setDialog({
    title: 'Add New Parameter', withValue: true,
    onDone: (n, v) => save({ ...options, [n]: v }, `Parameter ${n} added`),
  });

  return html`<section class="detail" aria-label=${`Service ${name}`}>
    <div class="toolbar">
      <h2>${name}</h2>
      <span class="muted">${options._service ?? ''}${options._type ? ` (${options._type})` : ''}</span>
      ${canEdit && html`<button class="danger" onClick=${() => setDialog({ confirm: true })}><${Icon} name="trash" /> Delete Service</button>`}
    </div>
    <p class="url">Service URL: <code>${serviceUrl(name, options)}</code></p>
    ${options._service === 'capacity' && html`<${CapacityEditor} key=${JSON.stringify(options)} options=${options} canEdit=${canEdit} save=${save} />`}
    <div class="toolbar filters">
      <input type="search" placeholder="Filter parameters" aria-label="Filter parameters" value=${query} onInput=${(e) => setQuery(e.target.value)} />
      <select aria-label="Category" value=${category} onChange=${(e) => setCategory(e.target.value)}>
        <option value="">All categories</option>
        ${categories.map((c) => html`<option value=${c}>${c}</option>`)}
      </select>
      <label class="toggle"><input type="checkbox" checked=${advanced} onChange=${(e) => setAdvanced(e.target.checked)} /> Advanced Parameters</label>
      ${canEdit && html`<button onClick=${add}><${Icon} name="plus" /> Add New</button>`}
    </div>
    <table class="params">
      <thead><tr><th>Name</th><th>Value</th><th>Description</th><th class="act"></th></tr></thead>
      <tbody>
        ${shown.map((r) => html`<tr key=${r.name} class=${`kind-${r.kind}`} data-name=${r.name}>
          <td class="name">
            ${r.kind === 'mandatory' && html`<span title="Mandatory: cannot be renamed or removed"><${Icon} name="lock" label="Mandatory" /></span>`}
            <code>${r.name}</code>
            ${r.kind === 'advanced' && html` <span class="pill">advanced</span>`}
          </td>
          <td class="value">
            ${editing === r.name
              ? html`<${ValueEditor} row=${r} onSave=${(v) => setValue(r, v)} onCancel=${() => setEditing(null)} />`
              : canEdit && !LOCKED.has(r.name)
                ? html`<button class="cell" title="Click to edit" onClick=${() => setEditing(r.name)}>
                    ${r.value === undefined ? html`<em class="muted">Not specified</em>` : r.value === '' ? html`<em class="muted">(empty)</em>` : r.value}
                    <${Icon} name="pencil" /></button>`
                : r.value === undefined ? html`<em class="muted">Not specified</em>` : r.value}
          </td>
          <td class="desc">
            ${r.kind === 'request' && html`<span class="pill req">Request Parameter</span> `}
            ${r.spec?.description ?? (r.kind === 'custom' ? 'Added to this service (not in its template).' : '')}
            ${r.spec?.values && html`<span class="muted"> Values: ${r.spec.values.join(', ')}.</span>`}
            ${r.value === undefined && r.spec?.default && html`<span class="muted"> Default: ${r.spec.default}.</span>`}
          </td>
          <td class="act">
            ${canEdit && r.kind !== 'mandatory' && r.value !== undefined && html`
              <button class="icon-button" title=${`Rename ${r.name}`} aria-label=${`Rename ${r.name}`} onClick=${() => rename(r)}>Rename</button>
              <button class="icon-button" title="Remove the value (not specified)" aria-label=${`Remove ${r.name}`} onClick=${() => clear(r)}><${Icon} name="trash" /></button>`}
          </td>
        </tr>`)}
      </tbody>
    </table>
    <p class="muted">${shown.length} of ${rows.length} parameter(s)${advanced ? '' : ' (advanced parameters hidden)'}</p>
    ${dialog?.confirm && html`<${Confirm} title="Delete Service" text=${`Delete service ${name}? Its configuration section is removed; clients of ${serviceUrl(name, options)} get 404 from now on.`}
      onYes=${async () => {
        try {
          await api.del(`admin/services/${seg(name)}`, { action: `Service ${name} Deleted` });
          notify('ok', `Service ${name} deleted`);
          onDeleted(name);
        } catch (e) { notify('error', e.message); }
      }} onClose=${() => setDialog(null)} />`}
    ${dialog && !dialog.confirm && html`<${NameDialog} ...${dialog} taken=${new Set(Object.keys(options))} onClose=${() => setDialog(null)} />`}
  </section>`;
}

function CreateService({ templates, onCreated, onClose }) {
  const [template, setTemplate] = useState(templates.find((t) => t.name === 'callback')?.name ?? templates[0]?.name ?? '');
  const [detail, setDetail] = useState(null);
  const [name, setName] = useState('');
  const [preset, setPreset] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    setDetail(null);
    setPreset('');
    if (template) loadTemplate(template).then((d) => { setDetail(d); setPreset(d.presets[0]?.name ?? ''); }, (e) => setError(e.message));
  }, [template]);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const options = await api.post(`admin/services/${seg(name)}`, { template, preset: preset || undefined },
        { action: `Service ${name} Created` });
      notify('ok', `Service ${name} created`);
      onCreated(name, options);
      onClose();
    } catch (err) {
      setError(err.message);
    } finally {
      setBusy(false);
    }
  };
  const chosen = detail?.presets.find((p) => p.name === preset);
  return html`<${Modal} title="Add New Service" onClose=${onClose}>
    <form class="stack" onSubmit=${submit}>
      <label>Service Template<select value=${template} onChange=${(e) => setTemplate(e.target.value)}>
        ${templates.map((t) => html`<option value=${t.name}>${t.name}</option>`)}
      </select></label>
      <label>Service Name<input required pattern="[A-Za-z0-9._\\-]+" title="letters, digits, '-', '_' and '.'"
        value=${name} onInput=${(e) => setName(e.target.value.trim())} /></label>
      ${detail?.presets.length > 0 && html`<label>Common Default Configuration<select value=${preset} onChange=${(e) => setPreset(e.target.value)}>
        ${detail.presets.map((p) => html`<option value=${p.name}>${p.name}</option>`)}
      </select></label>
      ${chosen?.description && html`<p class="muted">${chosen.description}</p>`}`}
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <div class="actions"><button type="button" onClick=${onClose}>Cancel</button>
        <button class="primary" type="submit" disabled=${busy || !template}>Add</button></div>
    </form>
  <//>`;
}

export function Services({ role, route }) {
  const [services, setServices] = useState(null);
  const [templates, setTemplates] = useState([]);
  const [query, setQuery] = useState('');
  const [filter, setFilter] = useState('');
  const [folded, setFolded] = useState(new Set());
  const [creating, setCreating] = useState(false);
  const canEdit = role === 'Administrator';
  const selected = route[0];
  const load = useCallback(async () => {
    log.info('services-controller', 'Get All Configured Services');
    try {
      const [s, t] = await Promise.all([
        api.get('admin/services', { action: 'All Services Received Successfully' }),
        api.get('admin/templates', { action: 'All Templates Received Successfully' }),
      ]);
      setServices(s);
      setTemplates(t);
    } catch (e) {
      notify('error', e.message);
    }
  }, []);
  useEffect(() => { load(); }, [load]);
  if (!services) return html`<p class="muted">Loading services…</p>`;

  const groups = new Map();
  for (const [name, opts] of Object.entries(services).sort(([a], [b]) => a.localeCompare(b))) {
    const t = opts._service ?? '(none)';
    if (filter && t !== filter) continue;
    if (!matches(query, name)) continue;
    if (!groups.has(t)) groups.set(t, []);
    groups.get(t).push(name);
  }
  const fold = (t) => setFolded((f) => { const n = new Set(f); n.has(t) ? n.delete(t) : n.add(t); return n; });
  const used = [...new Set(Object.values(services).map((o) => o._service ?? '(none)'))].sort();
  return html`<div class="split">
    <aside class="list" aria-label="Configured Services">
      <div class="toolbar">
        <h1>Services</h1>
        ${canEdit && html`<button class="primary" onClick=${() => setCreating(true)}><${Icon} name="plus" /> Create</button>`}
      </div>
      <input type="search" placeholder="Search Items" aria-label="Search Items" value=${query} onInput=${(e) => setQuery(e.target.value)} />
      <select aria-label="Template" value=${filter} onChange=${(e) => setFilter(e.target.value)}>
        <option value="">All templates</option>
        ${used.map((t) => html`<option value=${t}>${t}</option>`)}
      </select>
      ${groups.size === 0 && html`<p class="muted">No service matches.</p>`}
      ${[...groups].map(([t, names]) => html`<div class="group" key=${t}>
        <button class=${`group-head ${folded.has(t) ? 'folded' : ''}`} aria-expanded=${!folded.has(t)} onClick=${() => fold(t)}>
          <${Icon} name="chevron" /> ${t} <span class="muted">${names.length}</span></button>
        ${!folded.has(t) && html`<ul>${names.map((n) => html`<li key=${n}>
          <a href=${`#/services/${encodeURIComponent(n)}`} class=${n === selected ? 'active' : ''}>${n}</a></li>`)}</ul>`}
      </div>`)}
    </aside>
    <div class="main">
      ${selected && services[selected]
        ? html`<${ServiceDetail} key=${selected} name=${selected} options=${services[selected]} canEdit=${canEdit}
            onSaved=${(n, o) => setServices((s) => ({ ...s, [n]: o }))}
            onDeleted=${(n) => { setServices((s) => { const c = { ...s }; delete c[n]; return c; }); go('services'); }} />`
        : html`<p class="empty">${selected ? `Service ${selected} does not exist.` : 'Select a service to see its parameters.'}</p>`}
    </div>
    ${creating && html`<${CreateService} templates=${templates}
      onCreated=${(n, o) => { setServices((s) => ({ ...s, [n]: o })); go('services', n); }} onClose=${() => setCreating(false)} />`}
  </div>`;
}
