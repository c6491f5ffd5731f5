// The Journey Timeline panel (the help's "Journey Timeline Interface"): a read-only view of one
// customer's journeys. Search by the keys the configuration names (GET cs/ui/journey-timeline),
// pick a customer, then: a horizontal timeline of every service (bars from started to completed;
// active ones run to now) with a time axis, zoom (Expand / Contract Timeline), Move to First /
// Last / Current Date, drag to pan and a Filter dialog; the vertical timeline of the selected
// service's states and tasks; and the information tabs Customer Profile, KPIs and Journey Details.
// Only the bars inside the visible range are drawn, so hundreds of services stay fast.
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, seg } from './api.js';
import { html, Modal, notify } from './lib.js';
import { log } from './log.js';
import { catalogOf, completedAt, itemsOf, NESTED, profileName, queryOf, startedAt } from './journeys.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const MIN_SPAN = 10 * MINUTE;
const MAX_SPAN = 20 * 365 * DAY;
const NOT_FOUND = "Couldn't find any services..";
const DEFAULT_FILTER = { active: true, completed: true, from: '', to: '', serviceType: '', stateType: '', name: '' };

const pad = (n) => String(n).padStart(2, '0');
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const dayText = (d) => `${MONTHS[d.getMonth()]} ${d.getDate()}`;
const clock = (d) => `${pad(d.getHours())}:${pad(d.getMinutes())}`;
/** A moment as the panel writes it: Jan 8, 2016 13:28. */
export const moment = (t) => { const d = new Date(t); return `${dayText(d)}, ${d.getFullYear()} ${clock(d)}`; };

// ---- the time axis ---------------------------------------------------------------------------
const STEPS = [MINUTE, 2 * MINUTE, 5 * MINUTE, 10 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY];
const MONTH_STEPS = [1, 3, 6, 12, 24, 60];

/** The ticks of [from, to]: about `count` of them at a round step, each with its label. */
export function ticksOf(from, to, count = 8) {
  const span = to - from;
  const want = span / count;
  const out = [];
  const step = STEPS.find((s) => s >= want);
  if (step) {
    let t;
    if (step < DAY) {
      const offset = -new Date(from).getTimezoneOffset() * MINUTE;
      t = Math.ceil((from + offset) / step) * step - offset;
    } else {
      const d = new Date(from);
      d.setHours(0, 0, 0, 0);
      t = d.getTime();
      if (t < from) { d.setDate(d.getDate() + 1); t = d.getTime(); }
    }
    for (let i = 0; t <= to && i < 200; i++) {
      const d = new Date(t);
      out.push({ t, label: step < DAY ? `${dayText(d)} ${clock(d)}` : dayText(d) });
      if (step < DAY) t += step;
      else { d.setDate(d.getDate() + step / DAY); t = d.getTime(); }
    }
    return out;
  }
  const months = MONTH_STEPS.find((m) => m * 30 * DAY >= want) ?? 120;
  const d = new Date(from);
  d.setHours(0, 0, 0, 0);
  d.setDate(1);
  d.setMonth(Math.ceil(d.getMonth() / months) * months);
  while (d.getTime() < from) d.setMonth(d.getMonth() + months);
  for (let i = 0; d.getTime() <= to && i < 200; i++) {
    out.push({ t: d.getTime(), label: `${MONTHS[d.getMonth()]} ${d.getFullYear()}` });
    d.setMonth(d.getMonth() + months);
  }
  return out;
}

/** Lanes so that bars do not overlap: each service in the first lane free at its start. */
function lanesOf(list, now) {
  const ends = [];
  const lane = new Map();
  for (const s of [...list].sort((a, b) => startedAt(a) - startedAt(b))) {
    const start = startedAt(s);
    const end = completedAt(s) ?? now;
    let i = ends.findIndex((e) => e < start);
    if (i < 0) { i = ends.length; ends.push(end); } else ends[i] = end;
    lane.set(s.id, i);
  }
  return { lane, count: ends.length };
}

/** The view that shows every service, with a margin. */
function fit(list, now) {
  if (!list.length) return { from: now - DAY, to: now + HOUR };
  const from = Math.min(...list.map(startedAt));
  const to = Math.max(...list.map((s) => completedAt(s) ?? now));
  const span = Math.max(to - from, HOUR);
  return { from: from - span * 0.05, to: from + span * 1.05 };
}

const clampSpan = (span) => Math.min(MAX_SPAN, Math.max(MIN_SPAN, span));

function filterText(f, catalog) {
  const parts = [];
  if (!(f.active && f.completed)) parts.push(`Status: ${f.active ? 'Active' : 'Completed'}`);
  if (f.from) parts.push(`Started from ${f.from}`);
  if (f.to) parts.push(`Started to ${f.to}`);
  if (f.serviceType) parts.push(`Service Type: ${catalog.name('service', 'service_type', f.serviceType)}`);
  if (f.stateType) parts.push(`State Type: ${catalog.name('state', 'state_type', f.stateType)}`);
  if (f.name.trim()) parts.push(`Name: ${f.name.trim()}`);
  return parts.length ? parts.join('; ') : 'None';
}

// ---- the panel -------------------------------------------------------------------------------
export function JourneyTimeline() {
  const [config, setConfig] = useState(null);
  const [attributes, setAttributes] = useState(null);
  const [keyIdx, setKeyIdx] = useState(0);
  const [value, setValue] = useState('');
  const [busy, setBusy] = useState(false);
  const [found, setFound] = useState(null);
  const [who, setWho] = useState(null);
  const [services, setServices] = useState([]);
  const [summary, setSummary] = useState(null);
  const [selected, setSelected] = useState(null);
  const [detail, setDetail] = useState(null);
  const [item, setItem] = useState(null);
  const [tab, setTab] = useState('profile');
  const [filter, setFilter] = useState(DEFAULT_FILTER);
  const [filtering, setFiltering] = useState(false);
  const [withState, setWithState] = useState(null);
  const [view, setView] = useState(null);
  const catalog = useMemo(() => catalogOf(attributes), [attributes]);

  useEffect(() => {
    log.info('timeline-controller', 'Get Journey Timeline Configuration');
    api.get('cs/ui/journey-timeline', { action: 'Journey Timeline Configuration Received' }).then(setConfig, (e) => notify('error', e.message));
    api.get('cs/metadata/business-attributes', { action: 'Business Attributes Received' }).then(setAttributes, (e) => notify('error', e.message));
  }, []);

  const open = useCallback(async (next) => {
    setFound(null);
    setSelected(null);
    setDetail(null);
    setItem(null);
    setFilter(DEFAULT_FILTER);
    try {
      const base = next.kind === 'customer' ? `cs/customers/${seg(next.id)}` : `cs/services/anonymous/${seg(next.id)}`;
      const [list, sum, profile] = await Promise.all([
        api.get(next.kind === 'customer' ? `${base}/services` : base, { action: 'Customer Services Received' }),
        api.get(`${base}/summary`, { action: 'Customer Summary Received' }),
        next.kind === 'customer' ? api.get(`cs/profiles/${seg(next.id)}`, { action: 'Customer Profile Received' }).catch(() => null) : null,
      ]);
      const items = list.map(itemsOf);
      setServices(items);
      setSummary(sum);
      setWho({ ...next, profile });
      setView(fit(items, Date.now()));
    } catch (e) { notify('error', e.message); }
  }, []);

  const search = async (e) => {
    e.preventDefault();
    const key = config?.search?.[keyIdx];
    const v = value.trim();
    if (!key || !v) return;
    setBusy(true);
    setWho(null);
    setFound(null);
    log.info('timeline-controller', `Search ${key.label} = ${v}`);
    try {
      const profiles = await api.get(`cs/profiles?${queryOf(key.attributes, v)}`, { action: `Query ${key.label}` });
      if (profiles.length === 1) await open({ kind: 'customer', id: profiles[0].customer_id });
      else if (profiles.length > 1) setFound({ customers: profiles });
      else {
        const anon = await api.get(`cs/services/anonymous/${seg(v)}`, { action: 'Query Anonymous ID' });
        if (anon.length) await open({ kind: 'anonymous', id: v });
        else setFound({ none: true });
      }
    } catch (err) {
      if (err.status === 400 || err.status === 404) setFound({ none: true });
      else notify('error', err.message);
    } finally { setBusy(false); }
  };

  // The selected service, with its states and tasks.
  useEffect(() => {
    setItem(null);
    setDetail(null);
    if (!selected) return;
    let gone = false;
    api.get(`cs/services/${seg(selected)}?${NESTED}`, { action: 'Service Received' })
      .then((s) => { if (!gone) setDetail(itemsOf(s)); }, (e) => notify('error', e.message));
    return () => { gone = true; };
  }, [selected]);

  // The State Type filter needs every service's states: asked when it is set.
  useEffect(() => {
    setWithState(null);
    if (!who || !filter.stateType) return;
    const base = who.kind === 'customer' ? `cs/customers/${seg(who.id)}/services` : `cs/services/anonymous/${seg(who.id)}`;
    api.get(`${base}?active_states=true&completed_states=true`, { action: 'Services With States Received' }).then((list) => {
      const ids = new Set(list.map(itemsOf).filter((s) => s.states.some((x) => catalog.name('state', 'state_type', x.type) === catalog.name('state', 'state_type', filter.stateType))).map((s) => s.id));
      setWithState(ids);
    }, (e) => notify('error', e.message));
  }, [who, filter.stateType, catalog]);

  const shown = useMemo(() => {
    const from = filter.from ? new Date(`${filter.from}T00:00`).getTime() : -Infinity;
    const to = filter.to ? new Date(`${filter.to}T23:59:59.999`).getTime() : Infinity;
    return services.filter((s) => {
      if (s.completed ? !filter.completed : !filter.active) return false;
      const t = startedAt(s);
      if (t < from || t > to) return false;
      if (filter.serviceType && catalog.name('service', 'service_type', s.type) !== catalog.name('service', 'service_type', filter.serviceType)) return false;
      if (filter.stateType && !(withState?.has(s.id))) return false;
      const q = filter.name.trim().toLowerCase();
      return !q || catalog.typeName(s).toLowerCase().includes(q) || s.id.toLowerCase().includes(q);
    });
  }, [services, filter, catalog, withState]);

  const header = who && (who.kind === 'anonymous' ? `Anonymous ID: ${who.id}`
    : `Customer Name : ${profileName(who.profile ?? {}, config?.header ?? ['LastName', 'FirstName']) || who.id}`);
  const selectedService = services.find((s) => s.id === selected) ?? null;

  return html`<section class="jt" aria-label="Journey Timeline">
    <form class="toolbar" role="search" aria-label="Search a customer" onSubmit=${search}>
      <h1>Journey Timeline</h1>
      <label class="inline-label">Search
        <select aria-label="Search key" value=${keyIdx} onChange=${(e) => setKeyIdx(Number(e.target.value))}>
          ${(config?.search ?? []).map((k, i) => html`<option value=${i}>${k.label}</option>`)}</select></label>
      <input type="search" aria-label="Search value" placeholder="Exact value" value=${value} onInput=${(e) => setValue(e.target.value)} />
      <button class="primary" type="submit" disabled=${busy || !value.trim() || !config}>Search</button>
    </form>
    ${busy && html`<p class="muted" role="status">Searching…</p>`}
    ${found?.none && html`<p class="empty" role="status">${NOT_FOUND}</p>`}
    ${found?.customers && html`<section class="detail cs-customers" aria-label="Customers">
      <h2>Which of these customers are you referring to?</h2>
      <ul class="plain">${found.customers.map((p) => html`<li key=${p.customer_id}>
        <button class="link" onClick=${() => open({ kind: 'customer', id: p.customer_id })}>${profileName(p, config?.header) || p.customer_id}</button>
        <span class="muted"> ${[p.EmailAddress, p.PhoneNumber].flat().filter(Boolean).join(', ')}</span></li>`)}</ul></section>`}
    ${who && view && html`<h2 class="jt-header">${header}</h2>
      <div class="jt-body">
        <${Sidebar} view=${view} setView=${setView} list=${shown} onFilter=${() => setFiltering(true)} />
        <div class="jt-main">
          <p class="jt-filter-label" aria-live="polite"><strong>Filter Applied:</strong> <span data-filter>${filterText(filter, catalog)}</span>
            <span class="muted"> · ${shown.length} of ${services.length} service(s)</span></p>
          <${Timeline} list=${shown} catalog=${catalog} view=${view} setView=${setView} selected=${selected} onSelect=${setSelected} />
          <div class="jt-lower">
            <${Vertical} service=${selectedService} detail=${detail} catalog=${catalog} item=${item} onItem=${(x) => { setItem(x); setTab('details'); }} />
            <${Info} tab=${tab} setTab=${setTab} config=${config} who=${who} summary=${summary} detail=${detail}
              selection=${item ?? detail ?? selectedService} catalog=${catalog} />
          </div>
        </div>
      </div>`}
    ${filtering && html`<${FilterDialog} filter=${filter} catalog=${catalog} onApply=${(f) => { setFilter(f); setFiltering(false); }}
      onClose=${() => setFiltering(false)} />`}
  </section>`;
}

// ---- the sidebar and the horizontal timeline ---------------------------------------------------
const ICONS = {
  expand: 'M11 5h2v6h6v2h-6v6h-2v-6H5v-2h6z',
  contract: 'M5 11h14v2H5z',
  first: 'M5 5h2v14H5zm14 0v14l-10-7z',
  last: 'M17 5h2v14h-2zM5 5l10 7-10 7z',
  now: 'M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm0 2a8 8 0 1 1 0 16 8 8 0 0 1 0-16zm0 4a4 4 0 1 0 0 8 4 4 0 0 0 0-8z',
  filter: 'M3 5h18l-7 8v6l-4-2v-4z',
};

function Sidebar({ view, setView, list, onFilter }) {
  const span = view.to - view.from;
  const zoom = (k) => {
    const mid = (view.from + view.to) / 2;
    const s = clampSpan(span * k);
    setView({ from: mid - s / 2, to: mid + s / 2 });
  };
  const now = Date.now();
  const first = list.length ? Math.min(...list.map(startedAt)) : null;
  const last = list.length ? Math.max(...list.map((s) => completedAt(s) ?? now)) : null;
  const buttons = [
    ['Expand Timeline', 'expand', () => zoom(0.5)],
    ['Contract Timeline', 'contract', () => zoom(2)],
    ['Move to First', 'first', () => first !== null && setView({ from: first - span * 0.05, to: first + span * 0.95 })],
    ['Move to Last', 'last', () => last !== null && setView({ from: last - span * 0.95, to: last + span * 0.05 })],
    ['Move to Current Date', 'now', () => setView({ from: now - span / 2, to: now + span / 2 })],
    ['Filter', 'filter', onFilter],
  ];
  return html`<nav class="jt-side" aria-label="Timeline controls">
    ${buttons.map(([label, icon, act]) => html`<button type="button" title=${label} onClick=${act}>
      <svg class="icon" viewBox="0 0 24 24" aria-hidden="true"><path fill-rule="evenodd" d=${ICONS[icon]} /></svg>${label}</button>`)}
  </nav>`;
}

function Timeline({ list, catalog, view, setView, selected, onSelect }) {
  const track = useRef(null);
  const drag = useRef(null);
  const moved = useRef(false);
  const now = Date.now();
  const { lane, count } = useMemo(() => lanesOf(list, now), [list]);
  const span = view.to - view.from;
  const pct = (t) => ((t - view.from) / span) * 100;
  const visible = list.filter((s) => startedAt(s) <= view.to && (completedAt(s) ?? now) >= view.from);
  const ticks = ticksOf(view.from, view.to);

  const down = (e) => {
    if (e.button !== 0) return;
    drag.current = { x: e.clientX, view, id: e.pointerId, on: false };
    moved.current = false;
  };
  const move = (e) => {
    const d = drag.current;
    if (!d) return;
    const dx = e.clientX - d.x;
    if (!d.on && Math.abs(dx) < 4) return;
    if (!d.on) { d.on = true; moved.current = true; track.current.setPointerCapture?.(d.id); }
    const shift = (-dx / (track.current.clientWidth || 1)) * (d.view.to - d.view.from);
    setView({ from: d.view.from + shift, to: d.view.to + shift });
  };
  const up = () => {
    const d = drag.current;
    drag.current = null;
    if (d?.on) track.current.releasePointerCapture?.(d.id);
  };
  const key = (e) => {
    const pan = (k) => setView({ from: view.from + span * k, to: view.to + span * k });
    const zoom = (k) => { const mid = (view.from + view.to) / 2, s = clampSpan(span * k); setView({ from: mid - s / 2, to: mid + s / 2 }); };
    const acts = { ArrowLeft: () => pan(-0.1), ArrowRight: () => pan(0.1), '+': () => zoom(0.5), '=': () => zoom(0.5), '-': () => zoom(2) };
    if (e.target === track.current && acts[e.key]) { e.preventDefault(); acts[e.key](); }
  };
  const label = (s) => {
    const end = completedAt(s);
    return `${catalog.typeName(s) || 'Service'}, started ${moment(startedAt(s))}, ${end === null ? 'active' : `completed ${moment(end)}`}`;
  };
  return html`<div class="jt-timeline">
    <p class="jt-range muted" aria-live="polite">Showing ${moment(view.from)} – ${moment(view.to)} · ${visible.length} in view</p>
    <div class="jt-track" ref=${track} tabindex="0" role="group" data-from=${Math.round(view.from)} data-to=${Math.round(view.to)}
      aria-label="Services timeline: drag or use the arrow keys to move it, + and - to zoom"
      onPointerDown=${down} onPointerMove=${move} onPointerUp=${up} onPointerCancel=${up} onKeyDown=${key}>
      <div class="jt-lanes" style=${{ height: `${Math.max(count, 1) * 2}rem` }}>
        ${ticks.map((t) => html`<div class="jt-grid" key=${`g${t.t}`} style=${{ left: `${pct(t.t)}%` }}></div>`)}
        ${now >= view.from && now <= view.to && html`<div class="jt-now" style=${{ left: `${pct(now)}%` }} title="Now"></div>`}
        ${visible.map((s) => {
          const a = Math.max(pct(startedAt(s)), -1);
          const b = Math.min(pct(completedAt(s) ?? now), 101);
          return html`<button type="button" key=${s.id} data-id=${s.id} aria-label=${label(s)} aria-pressed=${selected === s.id}
            class=${`jt-bar${s.completed ? '' : ' active'}${selected === s.id ? ' selected' : ''}`}
            title=${label(s)} style=${{ left: `${a}%`, width: `max(${b - a}%, 6px)`, top: `${lane.get(s.id) * 2 + 0.25}rem` }}
            onClick=${(e) => { if (e.detail === 0 || !moved.current) onSelect(s.id); }}>${catalog.typeName(s) || s.id}</button>`;
        })}
      </div>
      <div class="jt-axis" aria-hidden="true">
        ${ticks.map((t) => html`<span class="jt-tick" key=${t.t} style=${{ left: `${pct(t.t)}%` }}>${t.label}</span>`)}
      </div>
    </div>
    <p class="jt-legend muted"><span class="jt-key"></span> Completed <span class="jt-key active"></span> Active (runs to now)</p>
  </div>`;
}

// ---- the vertical timeline -------------------------------------------------------------------
function Vertical({ service, detail, catalog, item, onItem }) {
  if (!service) return html`<section class="jt-vertical detail" aria-label="States and tasks"><h3>States and Tasks</h3>
    <p class="muted">Select a service in the timeline.</p></section>`;
  if (!detail || detail.id !== service.id) return html`<section class="jt-vertical detail" aria-label="States and tasks"><h3>States and Tasks</h3><p class="muted">Loading…</p></section>`;
  const byTime = (a, b) => startedAt(a) - startedAt(b);
  const states = [...detail.states].sort(byTime);
  const loose = detail.tasks.filter((t) => !t.state_id || !states.some((s) => s.id === t.state_id)).sort(byTime);
  const entry = (x) => html`<button type="button" class=${`jt-entry${x.completed ? '' : ' active'}`} aria-pressed=${item?.id === x.id} onClick=${() => onItem(x)}>
    <span class="jt-name">${catalog.typeName(x) || x.id}</span>
    <span class="muted">${moment(startedAt(x))} → ${x.completed ? moment(completedAt(x)) : 'Active'}</span></button>`;
  return html`<section class="jt-vertical detail" aria-label="States and tasks">
    <h3>${catalog.typeName(service) || 'Service'} <span class="muted">${service.id}</span></h3>
    ${states.length === 0 && html`<p class="muted">No states exist.</p>`}
    <ol class="jt-vt">
      ${states.map((s) => html`<li key=${s.id} data-id=${s.id} class="state">${entry(s)}
        ${detail.tasks.some((t) => t.state_id === s.id) && html`<ol>${detail.tasks.filter((t) => t.state_id === s.id).sort(byTime)
          .map((t) => html`<li key=${t.id} data-id=${t.id} class="task">${entry(t)}</li>`)}</ol>`}</li>`)}
      ${loose.map((t) => html`<li key=${t.id} data-id=${t.id} class="task">${entry(t)}</li>`)}
    </ol>
  </section>`;
}

// ---- the information tabs ----------------------------------------------------------------------
const TABS = [['profile', 'Customer Profile'], ['kpis', 'KPIs'], ['details', 'Journey Details']];

function Info({ tab, setTab, config, who, summary, detail, selection, catalog }) {
  const keys = (e) => {
    const i = TABS.findIndex(([id]) => id === tab);
    const j = e.key === 'ArrowRight' ? (i + 1) % TABS.length : e.key === 'ArrowLeft' ? (i + TABS.length - 1) % TABS.length : -1;
    if (j < 0) return;
    e.preventDefault();
    setTab(TABS[j][0]);
    e.currentTarget.querySelectorAll('[role=tab]')[j]?.focus();
  };
  return html`<section class="jt-info detail" aria-label="Information">
    <div role="tablist" aria-label="Information" class="jt-tabs" onKeyDown=${keys}>
      ${TABS.map(([id, title]) => html`<button type="button" role="tab" id=${`jt-tab-${id}`} aria-controls=${`jt-panel-${id}`}
        aria-selected=${tab === id} tabindex=${tab === id ? 0 : -1} class=${tab === id ? 'active' : ''} onClick=${() => setTab(id)}>${title}</button>`)}
    </div>
    <div role="tabpanel" id=${`jt-panel-${tab}`} aria-labelledby=${`jt-tab-${tab}`} class="jt-panel">
      ${tab === 'profile' && html`<${Profile} config=${config} who=${who} />`}
      ${tab === 'kpis' && html`<${Kpis} summary=${summary} detail=${detail} catalog=${catalog} />`}
      ${tab === 'details' && html`<${JourneyDetails} item=${selection} catalog=${catalog} />`}
    </div>
  </section>`;
}

function Profile({ config, who }) {
  if (who.kind === 'anonymous') return html`<p class="muted">An anonymous contact: there is no profile.</p>`;
  if (!who.profile) return html`<p class="muted">No profile for customer ${who.id}.</p>`;
  const p = who.profile;
  const text = (attrs) => attrs.flatMap((a) => (Array.isArray(p[a]) ? p[a] : p[a] === undefined || p[a] === null ? [] : [p[a]]))
    .map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v))).join(' ');
  return html`${(config?.profile ?? []).map((sec) => html`<div class="jt-section">
    <h4>${sec.title}</h4>
    <table class="params jt-profile"><tbody>${(sec.fields ?? []).map((f) => html`<tr data-label=${f.label}><th scope="row">${f.label}</th>
      <td>${text(f.attributes ?? []) || html`<span class="muted">Not specified</span>`}</td></tr>`)}</tbody></table>
  </div>`)}`;
}

function Kpis({ summary, detail, catalog }) {
  const row = (id, label, v) => html`<tr data-kpi=${id}><th scope="row">${label}</th><td>${v ?? '–'}</td></tr>`;
  return html`<div class="jt-section"><h4>Customer Journeys</h4>
    <table class="params jt-kpis"><tbody>
      ${row('total-journeys', 'Total Journeys', summary?.services.total)}
      ${row('active-journeys', 'Active Journeys', summary?.services.active)}
      ${row('completed-journeys', 'Completed Journeys', summary?.services.completed)}
      ${row('total-states', 'Total States', summary?.states.total)}
      ${row('active-states', 'Active States', summary?.states.active)}
      ${row('completed-states', 'Completed States', summary?.states.completed)}
    </tbody></table></div>
    ${detail && html`<div class="jt-section"><h4>Selected Journey: ${catalog.typeName(detail) || detail.id}</h4>
      <table class="params jt-kpis"><tbody>
        ${row('service-active-states', 'Active States', detail.states.filter((s) => !s.completed).length)}
        ${row('service-completed-states', 'Completed States', detail.states.filter((s) => s.completed).length)}
        ${row('service-active-tasks', 'Active Tasks', detail.tasks.filter((s) => !s.completed).length)}
        ${row('service-completed-tasks', 'Completed Tasks', detail.tasks.filter((s) => s.completed).length)}
      </tbody></table></div>`}`;
}

function JourneyDetails({ item, catalog }) {
  if (!item) return html`<p class="muted">Select a service in the timeline, or a state or task of it.</p>`;
  const field = (f) => {
    const v = item.started?.[f] ?? item.completed?.[f];
    return v === undefined || v === null || v === '' ? html`<span class="muted">Not specified</span>` : catalog.label(item.kind, f, v);
  };
  const K = { service: 'Service', state: 'State', task: 'Task' }[item.kind];
  return html`<table class="params"><tbody>
    <tr data-label="type"><th scope="row">${K} Type</th><td>${catalog.label(item.kind, `${item.kind}_type`, item.type) || html`<span class="muted">Not specified</span>`}</td></tr>
    <tr data-label="id"><th scope="row">ID</th><td>${item.id}</td></tr>
    ${['resource_type', 'media_type', 'interaction_id', 'application_type'].map((f) => html`<tr data-label=${f}><th scope="row">${f}</th><td>${field(f)}</td></tr>`)}
    <tr data-label="started"><th scope="row">Started</th><td>${item.started?.timestamp}</td></tr>
    <tr data-label="completed"><th scope="row">Completed</th><td>${item.completed?.timestamp ?? html`<span class="muted">Active</span>`}</td></tr>
  </tbody></table>`;
}

// ---- the filter ------------------------------------------------------------------------------
function FilterDialog({ filter, catalog, onApply, onClose }) {
  const [f, setF] = useState(filter);
  const [error, setError] = useState(null);
  const set = (k, v) => setF({ ...f, [k]: v });
  const apply = (e) => {
    e.preventDefault();
    if (!f.active && !f.completed) { setError('Error : Status filter cannot be blank'); return; }
    if (f.from && f.to && f.from > f.to) { setError('Error : the date range ends before it starts'); return; }
    onApply(f);
  };
  const options = (kind) => (catalog.values(kind, `${kind}_type`) ?? []).map((v) => html`<option value=${v.name}>${v.name}</option>`);
  return html`<${Modal} title="Filter" onClose=${onClose}>
    <form class="stack" onSubmit=${apply} aria-label="Filter services">
      <fieldset><legend>Status</legend><div class="row">
        <label class="toggle"><input type="checkbox" checked=${f.active} onChange=${(e) => set('active', e.target.checked)} /> Active</label>
        <label class="toggle"><input type="checkbox" checked=${f.completed} onChange=${(e) => set('completed', e.target.checked)} /> Completed</label></div></fieldset>
      <fieldset><legend>Date Range (started)</legend><div class="row">
        <label>From<input type="date" value=${f.from} onInput=${(e) => set('from', e.target.value)} /></label>
        <label>To<input type="date" value=${f.to} onInput=${(e) => set('to', e.target.value)} /></label></div></fieldset>
      <label>Service Type<select value=${f.serviceType} onChange=${(e) => set('serviceType', e.target.value)}><option value="">Any</option>${options('service')}</select></label>
      <label>State Type<select value=${f.stateType} onChange=${(e) => set('stateType', e.target.value)}><option value="">Any</option>${options('state')}</select></label>
      <label>Name<input value=${f.name} placeholder="Part of a service's type or ID" onInput=${(e) => set('name', e.target.value)} /></label>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <div class="actions">
        <button type="button" onClick=${() => { setF(DEFAULT_FILTER); setError(null); }}>Reset</button>
        <button type="button" onClick=${onClose}>Cancel</button>
        <button class="primary" type="submit">Apply</button></div>
    </form>
  <//>`;
}
