// The Office Hours tab (the help's "Office Hours Tab"): the office-hours services; a calendar
// (day, week, month) of the open periods the server computes (regular hours, holidays,
// exceptions and imported calendars, from the Calendar Service API) in the display time zone,
// read-only with a warning when that is not the office's; holidays and exceptions (annual or
// not) added by clicking a date, weekly hours by clicking a day with "Regular Office Hours"
// checked; a table of the options by kind (time zone, regular hours, holidays, special office
// hours, imported rule and schedule calendars) to edit, add and remove; clone and delete.
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import { api, seg } from './api.js';
import { Confirm, go, html, Icon, matches, Modal, notify, saveService } from './lib.js';
import { log } from './log.js';

const BROWSER_TZ = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
const ZONES = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [BROWSER_TZ, 'UTC'];
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const GROUPS = [
  { prefix: '_bh_regular', title: 'Regular Hours', hint: 'Mon-Fri 08:00-18:00' },
  { prefix: '_holiday', title: 'Holidays', hint: '[yyyy-]MM-dd' },
  { prefix: '_bh_add', title: 'Special Office Hours', hint: '[yyyy-]MM-dd HH:MM-HH:MM' },
  { prefix: '_import_rule', title: 'Imported Rule Calendars', imports: true },
  { prefix: '_import_schedule', title: 'Imported Schedule Calendars', imports: true },
];
const pad = (n) => String(n).padStart(2, '0');

/** The option names of a group: `_holiday`, `_holiday1`, `_holiday_12`. */
const inGroup = (name, prefix) => name === prefix || new RegExp(`^${prefix}_?\\d+$`).test(name);
const groupOf = (name) => GROUPS.find((g) => inGroup(name, g.prefix));
function nextName(options, prefix) {
  const used = Object.keys(options).filter((k) => inGroup(k, prefix)).map((k) => Number(k.slice(prefix.length).replace('_', '')) || 0);
  return `${prefix}${Math.max(0, ...used) + 1}`;
}

// ---- time zones ------------------------------------------------------------------------------
const partsCache = new Map();
function parts(ms, tz) {
  if (!partsCache.has(tz)) {
    partsCache.set(tz, new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' }));
  }
  const p = Object.fromEntries(partsCache.get(tz).formatToParts(new Date(ms)).filter((x) => x.type !== 'literal').map((x) => [x.type, Number(x.value)]));
  return { y: p.year, m: p.month, d: p.day, h: p.hour % 24, min: p.minute };
}
/** The instant a wall-clock time of zone `tz` names. */
export function zoned(y, m, d, h, min, tz) {
  const want = Date.UTC(y, m - 1, d, h, min);
  let t = want;
  for (let i = 0; i < 3; i++) {
    const p = parts(t, tz);
    const seen = Date.UTC(p.y, p.m - 1, p.d, p.h, p.min);
    if (seen === want) break;
    t += want - seen;
  }
  return t;
}
const dayKey = (y, m, d) => `${y}-${pad(m)}-${pad(d)}`;
function addDays({ y, m, d }, n) {
  const t = new Date(Date.UTC(y, m - 1, d + n));
  return { y: t.getUTCFullYear(), m: t.getUTCMonth() + 1, d: t.getUTCDate() };
}
const weekday = ({ y, m, d }) => new Date(Date.UTC(y, m - 1, d)).getUTCDay();
const hhmm = (p) => `${pad(p.h)}:${pad(p.min)}`;

/** The days a view shows around `anchor`. */
function daysOf(view, anchor) {
  if (view === 'day') return [anchor];
  if (view === 'week') {
    const first = addDays(anchor, -weekday(anchor));
    return Array.from({ length: 7 }, (_, i) => addDays(first, i));
  }
  const first = { y: anchor.y, m: anchor.m, d: 1 };
  const start = addDays(first, -weekday(first));
  return Array.from({ length: 42 }, (_, i) => addDays(start, i));
}

/** Holidays and exceptions of the options that fall on a day (MM-dd every year, or that date). */
function marks(options, day) {
  const md = `${pad(day.m)}-${pad(day.d)}`;
  const full = `${day.y}-${md}`;
  const on = (v) => v === md || v === full;
  const out = [];
  for (const [k, v] of Object.entries(options)) {
    const g = groupOf(k);
    if (!g || !v) continue;
    if (g.prefix === '_holiday' && on(v.trim())) out.push({ kind: 'holiday', text: 'Holiday' });
    if (g.prefix === '_bh_add') {
      const [date, ...hours] = v.trim().split(/\s+/);
      if (on(date)) out.push({ kind: 'special', text: `Special Office Hours ${hours.join(' ')}` });
    }
  }
  return out;
}

// ---- dialogs ---------------------------------------------------------------------------------
function BlockDialog({ day, regular, onSave, onClose }) {
  const [type, setType] = useState('holiday');
  const [annual, setAnnual] = useState(false);
  const [from, setFrom] = useState('09:00');
  const [to, setTo] = useState('17:00');
  const date = `${pad(day.m)}-${pad(day.d)}`;
  const submit = (e) => {
    e.preventDefault();
    if (regular) return onSave('_bh_regular', `${WEEKDAYS[weekday(day)]} ${from}-${to}`);
    const when = annual ? date : `${day.y}-${date}`;
    return type === 'holiday' ? onSave('_holiday', when) : onSave('_bh_add', `${when} ${from}-${to}`);
  };
  return html`<${Modal} title=${regular ? 'Regular Office Hours' : 'New Office Hours'} onClose=${onClose}>
    <form class="stack" onSubmit=${submit}>
      ${regular
        ? html`<p>Every ${WEEKDAYS[weekday(day)]}, from every week on.</p>`
        : html`<fieldset class="stack"><legend>Block Type</legend>
            <label class="toggle"><input type="radio" name="type" checked=${type === 'holiday'} onChange=${() => setType('holiday')} /> Holiday (holiday)</label>
            <label class="toggle"><input type="radio" name="type" checked=${type === 'exception'} onChange=${() => setType('exception')} /> Exception (bh_add)</label>
          </fieldset>
          <label class="toggle"><input type="checkbox" checked=${annual} onChange=${(e) => setAnnual(e.target.checked)} /> This is an Annual Event</label>
          <p class="muted">${annual ? `Every ${date}` : `${day.y}-${date}`}</p>`}
      ${(regular || type === 'exception') && html`<div class="row">
        <label>From<input type="time" required value=${from} onInput=${(e) => setFrom(e.target.value)} /></label>
        <label>To<input type="time" required value=${to} onInput=${(e) => setTo(e.target.value)} /></label></div>`}
      <div class="actions"><button type="button" onClick=${onClose}>Cancel</button><button class="primary" type="submit">Add</button></div>
    </form>
  <//>`;
}

function SettingsDialog({ display, office, canEdit, onDisplay, onOffice, onClose }) {
  const [d, setD] = useState(display);
  const [o, setO] = useState(office);
  const save = async (e) => {
    e.preventDefault();
    if (!ZONES.includes(d)) { notify('error', `${d} is not a time zone`); return; }
    onDisplay(d);
    if (o !== office && canEdit) await onOffice(o);
    onClose();
  };
  return html`<${Modal} title="Settings" onClose=${onClose}>
    <form class="stack" onSubmit=${save}>
      <datalist id="zones">${ZONES.map((z) => html`<option value=${z} />`)}</datalist>
      <label>Display Timezone<input list="zones" value=${d} onInput=${(e) => setD(e.target.value.trim())} /></label>
      <label>Office Timezone (<code>_timezone</code>)<input list="zones" disabled=${!canEdit} value=${o} onInput=${(e) => setO(e.target.value.trim())} /></label>
      <div class="actions"><button type="button" onClick=${onClose}>Cancel</button><button class="primary" type="submit">Save</button></div>
    </form>
  <//>`;
}

// ---- the calendar ------------------------------------------------------------------------------
function Calendar({ name, options, tz, readOnly, onAdd }) {
  const today = parts(Date.now(), tz);
  const [view, setView] = useState('month');
  const [anchor, setAnchor] = useState({ y: today.y, m: today.m, d: today.d });
  const [regular, setRegular] = useState(false);
  const [periods, setPeriods] = useState(null);
  const [block, setBlock] = useState(null);
  const days = daysOf(view, anchor);
  const first = days[0], last = days[days.length - 1];
  const start = zoned(first.y, first.m, first.d, 0, 0, tz);
  const end = zoned(...Object.values(addDays(last, 1)), 0, 0, tz);
  const optionsKey = JSON.stringify(options);
  useEffect(() => {
    setPeriods(null);
    log.info('office-hours-controller', `Get Calendar of ${name}`);
    api.get(`service/${seg(name)}?start=${new Date(start).toISOString()}&end=${new Date(end).toISOString()}`, { action: 'Office Hours Received' })
      .then((a) => setPeriods(a.periods ?? []), (e) => { notify('error', e.message); setPeriods([]); });
  }, [name, start, end, optionsKey]);
  // Each open period, on the display day it starts.
  const byDay = useMemo(() => {
    const out = new Map();
    for (const p of periods ?? []) {
      const s = Date.parse(p.start), e = Date.parse(p.end);
      const a = parts(s, tz), b = parts(e, tz);
      const key = dayKey(a.y, a.m, a.d);
      if (!out.has(key)) out.set(key, []);
      out.get(key).push({ from: hhmm(a), to: hhmm(b), top: (a.h * 60 + a.min) / 1440, len: Math.min(1, (e - s) / 864e5) });
    }
    return out;
  }, [periods, tz]);
  const move = (n) => setAnchor(view === 'month' ? (() => { const t = new Date(Date.UTC(anchor.y, anchor.m - 1 + n, 1)); return { y: t.getUTCFullYear(), m: t.getUTCMonth() + 1, d: 1 }; })()
    : addDays(anchor, n * (view === 'week' ? 7 : 1)));
  const title = view === 'month'
    ? new Date(Date.UTC(anchor.y, anchor.m - 1, 1)).toLocaleDateString('en-US', { month: 'long', year: 'numeric', timeZone: 'UTC' })
    : `${dayKey(first.y, first.m, first.d)}${view === 'week' ? ` – ${dayKey(last.y, last.m, last.d)}` : ''}`;
  const cell = (day) => {
    const key = dayKey(day.y, day.m, day.d);
    const list = byDay.get(key) ?? [];
    const other = view === 'month' && day.m !== anchor.m;
    return html`<div class=${`day ${other ? 'other' : ''} ${key === dayKey(today.y, today.m, today.d) ? 'today' : ''}`} data-day=${key}
      role=${readOnly ? undefined : 'button'} tabindex=${readOnly ? undefined : 0} aria-label=${`${WEEKDAYS[weekday(day)]} ${key}`}
      onClick=${() => !readOnly && setBlock(day)}>
      <div class="head"><span class="num">${view === 'month' ? day.d : `${WEEKDAYS[weekday(day)]} ${day.m}/${day.d}`}</span>
      ${marks(options, day).map((mk) => html`<span class=${`mark ${mk.kind}`} title=${mk.text}>${mk.text}</span>`)}</div>
      ${view === 'month'
        ? list.map((p) => html`<span class="open">${p.from}–${p.to}</span>`)
        : html`<div class="hours">${list.map((p) => html`<div class="bar" style=${`top:${p.top * 100}%;height:${Math.max(p.len * 100, 2)}%`}>${p.from}–${p.to}</div>`)}</div>`}
      ${list.length === 0 && periods && html`<span class="closed">Closed</span>`}
    </div>`;
  };
  return html`<div class="calendar" aria-label="Calendar">
    <div class="toolbar">
      <label class="toggle"><input type="checkbox" checked=${regular} disabled=${readOnly} onChange=${(e) => setRegular(e.target.checked)} /> Regular Office Hours</label>
      <button onClick=${() => move(-1)} aria-label="Previous">‹</button>
      <strong class="title">${title}</strong>
      <button onClick=${() => move(1)} aria-label="Next">›</button>
      <button onClick=${() => setAnchor({ y: today.y, m: today.m, d: today.d })}>Today</button>
      <span role="radiogroup" aria-label="View" class="views">
        ${['day', 'week', 'month'].map((v) => html`<label class="toggle"><input type="radio" name="view" checked=${view === v} onChange=${() => setView(v)} /> ${v[0].toUpperCase() + v.slice(1)}</label>`)}
      </span>
      <span class="muted">${tz}</span>
    </div>
    ${view === 'month' && html`<div class="weekdays">${WEEKDAYS.map((w) => html`<span>${w}</span>`)}</div>`}
    <div class=${`grid-${view}`}>
      ${view !== 'month' && html`<div class="gutter" aria-hidden="true"><div class="head"></div>
        <div class="hours">${[3, 6, 9, 12, 15, 18, 21].map((h) => html`<span class="tick" style=${`top:${(h / 24) * 100}%`}>${String(h).padStart(2, '0')}:00</span>`)}</div></div>`}
      ${days.map(cell)}</div>
    ${block && html`<${BlockDialog} day=${block} regular=${regular} onClose=${() => setBlock(null)}
      onSave=${async (prefix, value) => { if (await onAdd(prefix, value)) setBlock(null); }} />`}
  </div>`;
}

// ---- the table -------------------------------------------------------------------------------
function OptionsTable({ options, others, canEdit, onSave }) {
  const [query, setQuery] = useState('');
  const [draft, setDraft] = useState(options);
  useEffect(() => setDraft(options), [options]);
  const changed = JSON.stringify(draft) !== JSON.stringify(options);
  const set = (k, v) => setDraft({ ...draft, [k]: v });
  const drop = (k) => { const n = { ...draft }; delete n[k]; setDraft(n); };
  const row = (k, g) => html`<tr key=${k} data-name=${k}>
    <td><code>${k}</code></td>
    <td>${!canEdit || k === '_type' || k === '_service' ? draft[k] : g?.imports
      ? html`<select aria-label=${`Value of ${k}`} value=${draft[k]} onChange=${(e) => set(k, e.target.value)}>
          ${!others.includes(draft[k]) && html`<option value=${draft[k]}>${draft[k]}</option>`}${others.map((o) => html`<option>${o}</option>`)}</select>`
      : html`<input aria-label=${`Value of ${k}`} placeholder=${g?.hint ?? ''} value=${draft[k]} onInput=${(e) => set(k, e.target.value)} />`}</td>
    <td class="act">${canEdit && !['_timezone', '_type', '_service'].includes(k) && html`<button class="icon-button" aria-label=${`Remove ${k}`} onClick=${() => drop(k)}><${Icon} name="trash" /></button>`}</td>
  </tr>`;
  const keys = Object.keys(draft).filter((k) => matches(query, k, draft[k]));
  return html`<div class="office-table">
    <div class="toolbar"><input type="search" aria-label="Search Table" placeholder="Search Table" value=${query} onInput=${(e) => setQuery(e.target.value)} />
      ${canEdit && html`<button class="primary" disabled=${!changed} onClick=${() => onSave(draft)}>Save</button>
        <button disabled=${!changed} onClick=${() => setDraft(options)}>Revert</button>`}</div>
    <table class="grid"><thead><tr><th>Option</th><th>Value</th><th class="act"></th></tr></thead>
      <tbody>
        ${keys.includes('_timezone') || !draft._timezone ? row('_timezone') : ''}
        ${GROUPS.map((g) => {
          const mine = keys.filter((k) => inGroup(k, g.prefix)).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
          return html`<tr class="group" key=${g.prefix}><th colspan="2">${g.title} (${mine.length})</th>
            <th class="act">${canEdit && html`<button class="icon-button" aria-label=${`Add to ${g.title}`}
              onClick=${() => set(nextName(draft, g.prefix), g.imports ? (others[0] ?? '') : '')}><${Icon} name="plus" /></button>`}</th></tr>
            ${mine.map((k) => row(k, g))}`;
        })}
        ${keys.filter((k) => k !== '_timezone' && !groupOf(k)).map((k) => row(k))}
      </tbody></table>
  </div>`;
}

// ---- the tab -----------------------------------------------------------------------------------
function OfficeDetail({ name, options, others, canEdit, onSaved, onDeleted }) {
  const [mode, setMode] = useState('calendar');
  const [display, setDisplay] = useState(BROWSER_TZ);
  const [dialog, setDialog] = useState(null);
  const office = options._timezone || 'UTC';
  const readOnly = !canEdit || display !== office;
  const save = (next, what) => saveService(name, next, what, onSaved);
  const clone = async (e) => {
    e.preventDefault();
    const to = e.target.elements.clone.value.trim();
    try {
      const made = await api.put(`admin/services/${seg(to)}`, options, { action: `Office Hours ${to} Cloned` });
      notify('ok', `Office hours ${name} cloned to ${to}`);
      setDialog(null);
      onSaved(to, made);
      go('office-hours', to);
    } catch (err) { notify('error', err.message); }
  };
  return html`<section class="detail" aria-label=${`Office Hours ${name}`}>
    <div class="toolbar"><h2>${name}</h2>
      <span role="tablist" class="views">
        <button role="tab" aria-selected=${mode === 'calendar'} class=${mode === 'calendar' ? 'primary' : ''} onClick=${() => setMode('calendar')}>Calendar</button>
        <button role="tab" aria-selected=${mode === 'table'} class=${mode === 'table' ? 'primary' : ''} onClick=${() => setMode('table')}>Table</button></span>
      <button onClick=${() => setDialog('settings')}>Settings</button>
      ${canEdit && html`<button onClick=${() => setDialog('clone')}>Clone</button>
        <button class="danger" onClick=${() => setDialog('delete')}><${Icon} name="trash" /> Delete</button>`}
    </div>
    ${display !== office && html`<p class="banner warn" role="note">The calendar is in read-only mode because the office timezone (${office}) is not equal to the displayed timezone (${display}).</p>`}
    ${mode === 'calendar'
      ? html`<${Calendar} name=${name} options=${options} tz=${display} readOnly=${readOnly}
          onAdd=${(prefix, value) => save({ ...options, [nextName(options, prefix)]: value }, `${prefix === '_holiday' ? 'Holiday' : prefix === '_bh_add' ? 'Exception' : 'Regular hours'} ${value} added`)} />`
      : html`<${OptionsTable} options=${options} others=${others} canEdit=${canEdit} onSave=${(next) => save(next, `Office hours ${name} saved`)} />`}
    ${dialog === 'settings' && html`<${SettingsDialog} display=${display} office=${office} canEdit=${canEdit} onDisplay=${setDisplay}
      onOffice=${(tz) => save({ ...options, _timezone: tz }, `Office timezone set to ${tz}`)} onClose=${() => setDialog(null)} />`}
    ${dialog === 'clone' && html`<${Modal} title="Clone Office Hours" onClose=${() => setDialog(null)}>
      <form class="stack" onSubmit=${clone}><label>New service name<input name="clone" required pattern="[A-Za-z0-9._\\-]+" value=${`${name}-copy`} /></label>
        <div class="actions"><button type="button" onClick=${() => setDialog(null)}>Cancel</button><button class="primary" type="submit">Clone</button></div></form>
    <//>`}
    ${dialog === 'delete' && html`<${Confirm} title="Delete Office Hours" text=${`Delete office hours ${name}? Services that name it in _business_hours_service lose their calendar.`}
      onYes=${async () => {
        try { await api.del(`admin/services/${seg(name)}`, { action: `Office Hours ${name} Deleted` }); notify('ok', `Office hours ${name} deleted`); onDeleted(name); }
        catch (e) { notify('error', e.message); }
      }} onClose=${() => setDialog(null)} />`}
  </section>`;
}

export function OfficeHours({ role, route }) {
  const [services, setServices] = useState(null);
  const [creating, setCreating] = useState(false);
  const canEdit = role === 'Administrator';
  const selected = route[0];
  const load = useCallback(async () => {
    try {
      const all = await api.get('admin/services', { action: 'All Services Received Successfully' });
      setServices(Object.fromEntries(Object.entries(all).filter(([, o]) => o._service === 'office-hours')));
    } catch (e) { notify('error', e.message); }
  }, []);
  useEffect(() => { load(); }, [load]);
  useEffect(() => {
    if (services && !selected && Object.keys(services).length) go('office-hours', Object.keys(services).sort()[0]);
  }, [services, selected]);
  const create = async (e) => {
    e.preventDefault();
    const name = e.target.elements.name.value.trim();
    try {
      const made = await api.post(`admin/services/${seg(name)}`, { template: 'office-hours' }, { action: `Office Hours ${name} Created` });
      notify('ok', `Office hours ${name} created`);
      setServices((s) => ({ ...s, [name]: made }));
      setCreating(false);
      go('office-hours', name);
    } catch (err) { notify('error', err.message); }
  };
  if (!services) return html`<p class="muted">Loading office hours…</p>`;
  const names = Object.keys(services).sort();
  return html`<div class="split">
    <aside class="list" aria-label="Office Hours Services">
      <div class="toolbar"><h1>Office Hours</h1>
        ${canEdit && html`<button class="primary" onClick=${() => setCreating(true)}><${Icon} name="plus" /> Create</button>`}</div>
      <ul class="plain">${names.map((n) => html`<li key=${n}><a href=${`#/office-hours/${encodeURIComponent(n)}`} class=${n === selected ? 'active' : ''}>${n}</a></li>`)}</ul>
    </aside>
    <div class="main">${selected && services[selected]
      ? html`<${OfficeDetail} key=${selected} name=${selected} options=${services[selected]} others=${names.filter((n) => n !== selected)} canEdit=${canEdit}
          onSaved=${(n, o) => setServices((s) => ({ ...s, [n]: o }))}
          onDeleted=${(n) => { setServices((s) => { const c = { ...s }; delete c[n]; return c; }); go('office-hours'); }} />`
      : html`<p class="empty">${names.length ? 'Select an office hours service.' : canEdit ? 'No office hours service yet: create one.' : 'No office hours service that you may see.'}</p>`}</div>
    ${creating && html`<${Modal} title="Add Office Hours" onClose=${() => setCreating(false)}>
      <form class="stack" onSubmit=${create}><label>Service Name<input name="name" required pattern="[A-Za-z0-9._\\-]+" /></label>
        <div class="actions"><button type="button" onClick=${() => setCreating(false)}>Cancel</button><button class="primary" type="submit">Add</button></div></form>
    <//>`}
  </div>`;
}
