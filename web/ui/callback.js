// The Callback panel (the help's "Callback Interface"): the callbacks of a time range in pages
// of 250, with their state, desired time in the display time zone, phone number, service and
// the columns configured (aliases from callback_column_alias); range presets and saved custom
// ranges, search by column while typing, filter by states and service, the maximum per service;
// create (immediate or scheduled, with an availability check), edit (reschedule or cancel),
// reschedule a completed callback, the diagnostics of a QUEUED one, bulk cancel and the two
// reports. Changes arrive as they happen (server-sent events), without a reload.
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, seg } from './api.js';
import { Confirm, html, Icon, Modal, notify } from './lib.js';
import { log } from './log.js';

export const PAGE = 250;
const STATES = ['SCHEDULED', 'QUEUED', 'ROUTING', 'PROCESSING', 'COMPLETED', 'PAUSED'];
const PRESETS = [
  { id: 'past-day', title: 'Past Day', days: -1 },
  { id: 'past-week', title: 'Past Week', days: -7 },
  { id: 'past-month', title: 'Past Month', months: -1 },
  { id: 'next-day', title: 'Next Day', days: 1 },
  { id: 'next-week', title: 'Next Week', days: 7 },
  { id: 'next-month', title: 'Next Month', months: 1 },
];
// Record keys the fixed columns show, and those no user typed.
const SYSTEM = new Set(['_id', '_service_name', '_callback_state', '_callback_reason', '_desired_time',
  '_expiration_time', '_customer_number', '_url', '_ors_session_id', '_gms_user', '_notification_reminder_time']);

// ---- time ----------------------------------------------------------------------------------
const startOfDay = (d) => { const x = new Date(d); x.setHours(0, 0, 0, 0); return x; };
const endOfDay = (d) => { const x = new Date(d); x.setHours(23, 59, 59, 999); return x; };
const shift = (d, days = 0, months = 0) => { const x = new Date(d); x.setDate(x.getDate() + days); x.setMonth(x.getMonth() + months); return x; };

/** The [start, end] of a range choice, in whole days of the display time zone. */
export function rangeOf(choice, custom, saved, now = new Date()) {
  const preset = PRESETS.find((p) => p.id === choice);
  if (preset) {
    const other = shift(now, preset.days ?? 0, preset.months ?? 0);
    return other < now ? [startOfDay(other), endOfDay(now)] : [startOfDay(now), endOfDay(other)];
  }
  const mine = saved.find((r) => `saved:${r.name}` === choice);
  if (mine) return [startOfDay(shift(now, Number(mine.start))), endOfDay(shift(now, Number(mine.end)))];
  return [startOfDay(new Date(`${custom.start}T00:00`)), endOfDay(new Date(`${custom.end}T00:00`))];
}

/** "GMT+2", "GMT-4:30": the display time zone as the help labels the time column. */
export function zoneLabel(d = new Date()) {
  const m = -d.getTimezoneOffset();
  const h = Math.trunc(Math.abs(m) / 60), mm = Math.abs(m) % 60;
  return `GMT${m < 0 ? '-' : '+'}${h}${mm ? `:${String(mm).padStart(2, '0')}` : ''}`;
}

const pad = (n) => String(n).padStart(2, '0');
/** 7/4/2017 11:44:01, as the help shows desired times. */
export function when(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.getMonth() + 1}/${d.getDate()}/${d.getFullYear()} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
const dayInput = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;

function stateText(r) {
  const s = r._callback_state;
  return s === 'COMPLETED' && r._callback_reason ? `COMPLETED (${r._callback_reason})` : s;
}

// ---- preferences (per user, in this browser) -----------------------------------------------
function usePrefs(user) {
  const key = `ringback.callback.${user ?? 'open'}`;
  const [prefs, setPrefs] = useState(() => {
    try { return { range: 'next-day', states: [], service: '', max: 500, columns: [], ranges: [], searchBy: '_customer_number', ...JSON.parse(localStorage.getItem(key) || '{}') }; }
    catch { return { range: 'next-day', states: [], service: '', max: 500, columns: [], ranges: [], searchBy: '_customer_number' }; }
  });
  const save = useCallback((change) => setPrefs((p) => {
    const next = { ...p, ...change };
    log.info('callback-controller', `Set User Preferences: ${Object.keys(change).join(', ')}`);
    localStorage.setItem(key, JSON.stringify(next));
    return next;
  }), [key]);
  return [prefs, save];
}

// ---- availability --------------------------------------------------------------------------
/** The open slots of `service` on `day` (yyyy-mm-dd): [{iso, capacity}]. */
async function slotsOf(service, day) {
  const start = startOfDay(new Date(`${day}T00:00`));
  const now = new Date();
  const from = start < now ? now : start;
  const answer = await api.get(`service/callback/${seg(service)}/availability?start=${encodeURIComponent(from.toISOString())}&end=${encodeURIComponent(endOfDay(start).toISOString())}`,
    { action: 'Availability Received' });
  return Object.entries(answer || {})
    .filter(([k, v]) => !Number.isNaN(Date.parse(k)) && Number(v) > 0)
    .map(([iso, capacity]) => ({ iso, capacity: Number(capacity) }))
    .sort((a, b) => a.iso.localeCompare(b.iso));
}

function SlotPicker({ service, day, setDay, slot, setSlot }) {
  const [slots, setSlots] = useState(null);
  const [error, setError] = useState(null);
  const check = async () => {
    setError(null);
    try {
      const s = await slotsOf(service, day);
      setSlots(s);
      setSlot(s[0]?.iso ?? '');
    } catch (e) { setError(e.message); setSlots(null); }
  };
  return html`<fieldset class="stack slots">
    <legend>Desired Callback Time</legend>
    <div class="row">
      <label>Desired Date<input type="date" value=${day} onInput=${(e) => { setDay(e.target.value); setSlots(null); setSlot(''); }} /></label>
      <button type="button" onClick=${check} disabled=${!service || !day}>Check Availability</button>
    </div>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    ${slots && (slots.length === 0
      ? html`<p class="error" role="alert">No time slot is available on that day.</p>`
      : html`<label>Available Time Slot<select value=${slot} onChange=${(e) => setSlot(e.target.value)}>
          ${slots.map((s) => html`<option value=${s.iso}>${when(s.iso)} (${s.capacity} left)</option>`)}
        </select></label>`)}
  </fieldset>`;
}

// ---- dialogs ---------------------------------------------------------------------------------
function CreateCallback({ services, onDone, onClose }) {
  const [type, setType] = useState('Immediate');
  const [service, setService] = useState(services[0] ?? '');
  const [number, setNumber] = useState('');
  const [vq, setVq] = useState('');
  const [stat, setStat] = useState('');
  const [props, setProps] = useState([]);
  const [day, setDay] = useState(dayInput(new Date()));
  const [slot, setSlot] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    const body = { _customer_number: number };
    if (vq) body._urs_virtual_queue = vq;
    if (stat) body._request_queue_time_stat = stat;
    for (const p of props) if (p.name) body[p.name] = p.value;
    if (type === 'Scheduled') {
      if (!slot) { setError('Check the availability and pick a time slot first.'); return; }
      body._desired_time = slot;
    }
    setBusy(true);
    setError(null);
    try {
      const answer = await api.post(`service/callback/${seg(service)}`, body, { action: 'Callback Created Successfully' });
      notify('ok', `Callback ${answer?._id ?? ''} created for ${number}`);
      onDone();
      onClose();
    } catch (err) { setError(err.message); } finally { setBusy(false); }
  };
  return html`<${Modal} title="Add New Callback" onClose=${onClose}>
    <form class="stack" onSubmit=${submit}>
      <label>Callback type<select value=${type} onChange=${(e) => setType(e.target.value)}>
        <option>Immediate</option><option>Scheduled</option></select></label>
      <label>Service Name<select value=${service} onChange=${(e) => { setService(e.target.value); setSlot(''); }}>
        ${services.map((s) => html`<option value=${s}>${s}</option>`)}</select></label>
      <fieldset class="stack"><legend>Callback Parameters</legend>
        <label>Customer Number<input required placeholder="Your Callback Number" value=${number} onInput=${(e) => setNumber(e.target.value.trim())} /></label>
        <label>Urs Virtual Queue<input placeholder="Optional" value=${vq} onInput=${(e) => setVq(e.target.value.trim())} /></label>
        <label>Request Queue Time Stat<input placeholder="Optional" value=${stat} onInput=${(e) => setStat(e.target.value.trim())} /></label>
      </fieldset>
      ${type === 'Scheduled' && html`<${SlotPicker} service=${service} day=${day} setDay=${setDay} slot=${slot} setSlot=${setSlot} />`}
      <fieldset class="stack"><legend>Additional Properties</legend>
        ${props.map((p, i) => html`<div class="row" key=${i}>
          <input aria-label="Property name" placeholder="Name" value=${p.name} onInput=${(e) => setProps(props.map((q, j) => j === i ? { ...q, name: e.target.value.trim() } : q))} />
          <input aria-label="Property value" placeholder="Parameter Value" value=${p.value} onInput=${(e) => setProps(props.map((q, j) => j === i ? { ...q, value: e.target.value } : q))} />
          <button type="button" class="icon-button" aria-label="Remove property" onClick=${() => setProps(props.filter((_, j) => j !== i))}>×</button>
        </div>`)}
        <div><button type="button" onClick=${() => setProps([...props, { name: '', value: '' }])}><${Icon} name="plus" /> Add Property</button></div>
      </fieldset>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <div class="actions"><button type="button" onClick=${onClose}>Cancel</button>
        <button class="primary" type="submit" disabled=${busy || !service}>Continue</button></div>
    </form>
  <//>`;
}

function EditCallback({ record: r, onDone, onClose }) {
  const scheduled = r._callback_state === 'SCHEDULED';
  const [day, setDay] = useState(dayInput(new Date(r._desired_time)));
  const [slot, setSlot] = useState('');
  const [error, setError] = useState(null);
  const [confirm, setConfirm] = useState(false);
  const path = `service/callback/${seg(r._service_name)}/${seg(r._id)}`;
  const reschedule = async () => {
    try {
      await api.put(path, { _new_desired_time: slot }, { action: 'Callback Rescheduled Successfully' });
      notify('ok', `Callback ${r._id} rescheduled to ${when(slot)}`);
      onDone();
      onClose();
    } catch (e) { setError(e.message); }
  };
  const cancel = async () => {
    try {
      await api.del(path, { action: 'Callback Cancelled Successfully' });
      notify('ok', `Callback ${r._id} cancelled`);
      onDone();
      onClose();
    } catch (e) { setError(e.message); }
  };
  return html`<${Modal} title="Edit Callback" onClose=${onClose}>
    <div class="stack">
      <dl class="facts"><dt>Callback Time</dt><dd>${when(r._desired_time)}</dd>
        <dt>Callback Number</dt><dd>${r._customer_number}</dd><dt>State</dt><dd>${stateText(r)}</dd></dl>
      ${scheduled
        ? html`<${SlotPicker} service=${r._service_name} day=${day} setDay=${setDay} slot=${slot} setSlot=${setSlot} />`
        : html`<p class="muted">Only a SCHEDULED callback can be rescheduled; this one can be cancelled.</p>`}
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <div class="actions">
        <button class="danger" onClick=${() => setConfirm(true)}>Cancel Callback</button>
        <button onClick=${onClose}>Back</button>
        ${scheduled && html`<button class="primary" disabled=${!slot} onClick=${reschedule}>Continue</button>`}
      </div>
    </div>
    ${confirm && html`<${Confirm} title="Cancel Callback" yes="Cancel Callback" text=${`Cancel the callback to ${r._customer_number} (${r._service_name})?`}
      onYes=${cancel} onClose=${() => setConfirm(false)} />`}
  <//>`;
}

function RescheduleCompleted({ record: r, onDone, onClose }) {
  const keys = Object.keys(r).filter((k) => !SYSTEM.has(k)).sort();
  const [values, setValues] = useState(Object.fromEntries(keys.map((k) => [k, r[k]])));
  const [day, setDay] = useState(dayInput(new Date()));
  const [slot, setSlot] = useState('');
  const [error, setError] = useState(null);
  const submit = async () => {
    try {
      const answer = await api.post(`service/callback/${seg(r._service_name)}`,
        { ...values, _customer_number: r._customer_number, _desired_time: slot },
        { action: 'Completed Callback Rescheduled Successfully' });
      notify('ok', `Callback to ${r._customer_number} scheduled again for ${when(slot)}${answer?._id ? ` (${answer._id})` : ''}`);
      onDone();
      onClose();
    } catch (e) { setError(e.message); }
  };
  return html`<${Modal} title="Reschedule Completed Callback" onClose=${onClose}>
    <div class="stack">
      <dl class="facts"><dt>Last Callback Time</dt><dd>${when(r._desired_time)}</dd>
        <dt>Callback Number</dt><dd>${r._customer_number}</dd><dt>Outcome</dt><dd>${stateText(r)}</dd></dl>
      <${SlotPicker} service=${r._service_name} day=${day} setDay=${setDay} slot=${slot} setSlot=${setSlot} />
      ${keys.length > 0 && html`<fieldset class="stack"><legend>Edit Customer Lookup Keys</legend>
        ${keys.map((k) => html`<label key=${k}>${k}<input value=${values[k]} onInput=${(e) => setValues({ ...values, [k]: e.target.value })} /></label>`)}
      </fieldset>`}
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <div class="actions"><button onClick=${onClose}>Back</button>
        <button class="primary" disabled=${!slot} onClick=${submit}>Reschedule</button></div>
    </div>
  <//>`;
}

function AdvancedOptions({ prefs, services, states, allowColumns, onSave, onClose }) {
  const [columns, setColumns] = useState(prefs.columns);
  const [ranges, setRanges] = useState(prefs.ranges);
  const [chosen, setChosen] = useState(prefs.states);
  const [service, setService] = useState(prefs.service);
  const [max, setMax] = useState(prefs.max);
  const [error, setError] = useState(null);
  const save = () => {
    const bad = ranges.find((r) => !r.name.trim() || !Number.isInteger(Number(r.start)) || !Number.isInteger(Number(r.end)) || Number(r.start) > Number(r.end));
    if (bad) { setError('A custom range needs a name and whole day offsets, the first not after the second.'); return; }
    if (!(Number(max) > 0)) { setError('Max # of Callbacks per Service must be a positive number.'); return; }
    onSave({ columns: columns.filter((c) => c.key.trim()), ranges, states: chosen, service, max: Number(max) });
    onClose();
  };
  const edit = (list, set, i, change) => set(list.map((x, j) => (j === i ? { ...x, ...change } : x)));
  return html`<${Modal} title="Advanced Options" onClose=${onClose} footer=${html`
      <button onClick=${onClose}>Close</button><button class="primary" onClick=${save}>Save</button>`}>
    <div class="stack">
      ${allowColumns && html`<fieldset class="stack"><legend>Configure Columns</legend>
        ${columns.map((c, i) => html`<div class="row" key=${i}>
          <input aria-label="Column Name" placeholder="Column Name" value=${c.key} onInput=${(e) => edit(columns, setColumns, i, { key: e.target.value.trim() })} />
          <input aria-label="Alias" placeholder="Alias (Optional)" value=${c.alias} onInput=${(e) => edit(columns, setColumns, i, { alias: e.target.value })} />
          <button class="icon-button" aria-label="Remove column" onClick=${() => setColumns(columns.filter((_, j) => j !== i))}>×</button></div>`)}
        <div><button onClick=${() => setColumns([...columns, { key: '', alias: '' }])}><${Icon} name="plus" /> Add Column Field</button></div>
      </fieldset>`}
      <fieldset class="stack"><legend>Configure Custom Date Range</legend>
        <p class="muted">Day offsets from today: -7 and 0 is the past week.</p>
        ${ranges.map((r, i) => html`<div class="row" key=${i}>
          <input aria-label="Range Name" placeholder="Range Name" value=${r.name} onInput=${(e) => edit(ranges, setRanges, i, { name: e.target.value })} />
          <input aria-label="Start offset (days)" type="number" value=${r.start} onInput=${(e) => edit(ranges, setRanges, i, { start: e.target.value })} />
          <input aria-label="End offset (days)" type="number" value=${r.end} onInput=${(e) => edit(ranges, setRanges, i, { end: e.target.value })} />
          <button class="icon-button" aria-label="Remove range" onClick=${() => setRanges(ranges.filter((_, j) => j !== i))}>×</button></div>`)}
        <div><button onClick=${() => setRanges([...ranges, { name: '', start: 0, end: 0 }])}><${Icon} name="plus" /> Add Custom Date Range</button></div>
      </fieldset>
      <fieldset><legend>Filter Table by States and Service</legend>
        <div class="columns">
          <div role="group" aria-label="States"><p>States</p>
            ${states.map((s) => html`<label class="toggle" key=${s}><input type="checkbox" checked=${chosen.includes(s)}
              onChange=${(e) => setChosen(e.target.checked ? [...chosen, s] : chosen.filter((x) => x !== s))} /> ${s}</label>`)}</div>
          <div role="group" aria-label="Services"><p>Services</p>
            <label class="toggle"><input type="radio" name="svc" checked=${!service} onChange=${() => setService('')} /> All services</label>
            ${services.map((s) => html`<label class="toggle" key=${s}><input type="radio" name="svc" checked=${service === s} onChange=${() => setService(s)} /> ${s}</label>`)}</div>
        </div>
      </fieldset>
      <label>Max # of Callbacks per Service<input type="number" min="1" value=${max} onInput=${(e) => setMax(e.target.value)} /></label>
      ${error && html`<p class="error" role="alert">${error}</p>`}
    </div>
  <//>`;
}

function BulkCancel({ selected, inRange, onDone, onClose }) {
  const [all, setAll] = useState(false);
  const [busy, setBusy] = useState(false);
  const list = all ? inRange : selected;
  const go = async () => {
    setBusy(true);
    try {
      const answer = await api.post('admin/callback/cancel', { ids: list.map((r) => r._id) }, { action: 'Callbacks Cancelled Successfully' });
      const results = Object.entries(answer?.results ?? {});
      const ok = results.filter(([, v]) => v === 'CANCELLED').length;
      notify(ok === results.length ? 'ok' : 'error', `${ok} of ${results.length} callback(s) cancelled`);
      onDone(results.map(([id, status]) => {
        const r = list.find((x) => x._id === id) ?? {};
        return { id, status, service: r._service_name ?? '', number: r._customer_number ?? '' };
      }));
      onClose();
    } catch (e) { notify('error', e.message); } finally { setBusy(false); }
  };
  return html`<${Modal} title="Cancel Callbacks Confirmation" onClose=${onClose} footer=${html`
      <button onClick=${onClose}>Back</button>
      <button class="danger" disabled=${busy || list.length === 0} onClick=${go}>Confirm</button>`}>
    <div class="stack">
      <label class="toggle"><input type="checkbox" checked=${all} onChange=${(e) => setAll(e.target.checked)} /> Cancel All Callbacks In Current Time Range</label>
      ${all ? html`<p>All ${inRange.length} callback(s) of the current time range that are not completed will be cancelled.</p>`
        : html`<p>${selected.length} callback(s) will be cancelled:</p>
          <ul class="cancel-list">${selected.map((r) => html`<li key=${r._id}>${r._customer_number} · ${r._service_name} · ${when(r._desired_time)}</li>`)}</ul>`}
    </div>
  <//>`;
}

function download(name, text) {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/csv' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

const csvField = (v) => (/[",\n]/.test(String(v)) ? `"${String(v).replaceAll('"', '""')}"` : String(v));

function Reports({ summary, onClose }) {
  const [busy, setBusy] = useState(false);
  const exportCancelled = async () => {
    setBusy(true);
    try {
      const csv = await api.post('admin/callback/reportcancelled', { callback_reason: 'CANCELLED_BY_ADMIN' }, { action: 'Cancelled Callbacks Exported' });
      download('cancelled-callbacks.csv', csv);
    } catch (e) { notify('error', e.message); } finally { setBusy(false); }
  };
  const summaryCsv = () => download('cancellation-summary.csv',
    ['_id,_service_name,_customer_number,status', ...summary.map((s) => [s.id, s.service, s.number, s.status].map(csvField).join(','))].join('\n') + '\n');
  return html`<${Modal} title="Download Reports" onClose=${onClose}>
    <div class="stack">
      <div class="row"><button class="primary" disabled=${busy} onClick=${exportCancelled}>Export Cancelled Callbacks</button>
        <span class="muted">A CSV of the callbacks cancelled by an administrator (made when you click, so it is never out of date).</span></div>
      <div class="row"><button disabled=${summary.length === 0} onClick=${summaryCsv}>Cancellation Summary Report</button>
        <span class="muted">${summary.length ? `What happened to each of the ${summary.length} callback(s) cancelled last.` : 'Available once you have cancelled callbacks.'}</span></div>
    </div>
  <//>`;
}

function Diagnostics({ id }) {
  const [d, setD] = useState(null);
  const [error, setError] = useState(null);
  const load = useCallback(async () => {
    try { setD(await api.get(`admin/callback/diagnostics/${seg(id)}`, { action: 'Queue Information Received' })); setError(null); }
    catch (e) { setError(e.message); }
  }, [id]);
  useEffect(() => { load(); }, [load]);
  if (error) return html`<p class="error">${error}</p>`;
  if (!d) return html`<p class="muted">Asking the queue…</p>`;
  const rows = [
    ['Estimated wait time', d.ewt == null ? 'Unknown' : `${Math.round(d.ewt * 10) / 10} seconds`],
    ['Position in queue', d.position ?? 'Not in queue'],
    ['Waiting in the queue', d.waiting],
    ['Agents Logged in', d.agents_logged_in ?? 'Unknown'],
    ['Agents Ready', d.agents_ready ?? 'Unknown'],
    ['Callback type', d.callback_type],
    ['Virtual queue', d.queue ?? 'Not Specified'],
    ['Routing target', d.routing_target ?? 'Not Specified'],
    ['Agent reserved', d.agent ?? 'None yet'],
    ['ORS session ID', d.ors_session_id ?? 'Not Specified'],
    ['Time callback was accepted', when(d.accepted)],
    ...Object.entries(d.facts ?? {}),
  ];
  return html`<div class="diagnostics" aria-label="Queue information">
    <button class="small" onClick=${load}><${Icon} name="refresh" /> Refresh</button>
    <dl class="facts">${rows.map(([k, v]) => html`<dt>${k}</dt><dd>${String(v)}</dd>`)}</dl>
  </div>`;
}

// ---- the panel -----------------------------------------------------------------------------
export function Callback({ me, role }) {
  const [prefs, savePrefs] = usePrefs(me.user);
  const [settings, setSettings] = useState(null);
  const [records, setRecords] = useState(null);
  const [custom, setCustom] = useState(() => ({ start: dayInput(new Date()), end: dayInput(shift(new Date(), 1)) }));
  const [query, setQuery] = useState('');
  const [page, setPage] = useState(0);
  const [open, setOpen] = useState(new Set());
  const [picked, setPicked] = useState(new Set());
  const [dialog, setDialog] = useState(null);
  const [summary, setSummary] = useState([]);
  const [live, setLive] = useState(false);
  const canChange = role === 'Administrator' || role === 'Supervisor';
  const features = me.features ?? {};
  const bulk = canChange && features['disable-bulk-cancel-and-export-callback'] === false;
  const allowColumns = features['disable-additional-columns-from-callbacks'] !== true;

  const [start, end] = useMemo(() => rangeOf(prefs.range, custom, prefs.ranges), [prefs.range, custom, prefs.ranges]);
  // What the query and the live changes read now (they outlive the render that made them).
  const current = useRef({ start, end, prefs });
  current.current = { start, end, prefs };

  const load = useCallback(async () => {
    const { start, end, prefs } = current.current;
    log.info('callback-controller', 'Query Callbacks');
    const q = new URLSearchParams({ start_time: start.toISOString(), end_time: end.toISOString(), max: String(prefs.max) });
    if (prefs.states.length) q.set('states', prefs.states.join(','));
    if (prefs.service) q.set('target', prefs.service);
    try {
      const answer = await api.get(`admin/callback/queues?${q}`, { action: 'Callbacks Received Successfully' });
      const all = Object.values(answer ?? {}).flat();
      setRecords(all);
      setPicked(new Set());
    } catch (e) { notify('error', e.message); }
  }, []);

  useEffect(() => {
    api.get('admin/callback/settings', { action: 'Callback Settings Received' }).then(setSettings, (e) => notify('error', e.message));
  }, []);
  useEffect(() => { setPage(0); load(); }, [load, start.getTime(), end.getTime(), prefs.states.join(), prefs.service, prefs.max]);

  // Live changes: a record that now fits the range and filters replaces (or joins) its row; one
  // that no longer fits leaves. Changes are applied in batches (at most every 200 ms), so a
  // burst of thousands costs the table one update, not one each.
  useEffect(() => {
    const pending = new Map();
    let timer = null;
    const flush = () => {
      timer = null;
      const changes = [...pending.values()];
      pending.clear();
      setRecords((rs) => {
        if (!rs) return rs;
        const byId = new Map(rs.map((r) => [r._id, r]));
        for (const c of changes) {
          if (c.record) byId.set(c.id, c.record);
          else byId.delete(c.id);
        }
        return [...byId.values()];
      });
    };
    const change = (id, record) => {
      pending.set(id, { id, record });
      if (!timer) timer = setTimeout(flush, 200);
    };
    const source = new EventSource('/genesys/1/admin/callback/events');
    source.addEventListener('ready', () => setLive(true));
    source.addEventListener('error', () => setLive(false));
    source.addEventListener('reload', () => load());
    source.addEventListener('gone', (e) => change(JSON.parse(e.data)._id, null));
    source.addEventListener('callback', (e) => {
      const r = JSON.parse(e.data);
      const { start, end, prefs } = current.current;
      const t = Date.parse(r._desired_time);
      const fits = t >= start.getTime() && t <= end.getTime() &&
        (!prefs.states.length || prefs.states.includes(r._callback_state)) && (!prefs.service || prefs.service === r._service_name);
      log.info('callback-controller', `Callback ${r._id} is ${r._callback_state}`);
      change(r._id, fits ? r : null);
    });
    return () => { source.close(); clearTimeout(timer); };
  }, [load]);

  const aliases = settings?.column_alias ?? {};
  const columns = useMemo(() => {
    const cols = Object.entries(aliases).map(([key, alias]) => ({ key, alias }));
    if (allowColumns) for (const c of prefs.columns) if (!cols.some((x) => x.key === c.key)) cols.push({ key: c.key, alias: c.alias || aliases[c.key] || c.key });
    return cols;
  }, [settings, prefs.columns, allowColumns]);
  const searchable = [
    { key: '_customer_number', title: 'Phone Number' }, { key: '_callback_state', title: 'State' },
    { key: '_service_name', title: 'Service Name' }, { key: '_id', title: 'Service ID' },
    ...columns.map((c) => ({ key: c.key, title: c.alias })),
  ];
  const sorted = useMemo(() => (records ?? []).slice().sort((a, b) => a._desired_time.localeCompare(b._desired_time) || a._id.localeCompare(b._id)), [records]);
  const shown = useMemo(() => {
    const q = query.trim().toLowerCase();
    if (!q) return sorted;
    const key = prefs.searchBy;
    return sorted.filter((r) => String(key === '_callback_state' ? stateText(r) : r[key] ?? '').toLowerCase().includes(q));
  }, [sorted, query, prefs.searchBy]);
  const pages = Math.max(1, Math.ceil(shown.length / PAGE));
  const at = Math.min(page, pages - 1);
  const rows = shown.slice(at * PAGE, at * PAGE + PAGE);
  const services = settings?.services ?? [];
  const toggle = (set, setSet, id) => setSet((s) => { const n = new Set(s); n.has(id) ? n.delete(id) : n.add(id); return n; });
  const cancellable = (r) => r._callback_state !== 'COMPLETED';
  const pagePicks = rows.filter(cancellable);

  return html`<section class="callbacks" aria-label="Callback">
    <div class="toolbar">
      <h1>Callback</h1>
      <select aria-label="Time range" value=${prefs.range} onChange=${(e) => savePrefs({ range: e.target.value })}>
        ${PRESETS.map((p) => html`<option value=${p.id}>${p.title}</option>`)}
        <option value="custom">Custom Date Range</option>
        ${prefs.ranges.map((r) => html`<option value=${`saved:${r.name}`}>${r.name}</option>`)}
      </select>
      ${prefs.range === 'custom' && html`<input type="date" aria-label="Start date" value=${custom.start} onChange=${(e) => setCustom({ ...custom, start: e.target.value })} />
        <input type="date" aria-label="End date" value=${custom.end} onChange=${(e) => setCustom({ ...custom, end: e.target.value })} />`}
      <span class="muted">${when(start.toISOString())} – ${when(end.toISOString())}</span>
      ${canChange && html`<button class="primary" onClick=${() => setDialog({ create: true })} disabled=${!services.length}><${Icon} name="plus" /> Create Callback</button>`}
      <button onClick=${() => setDialog({ advanced: true })}>Advanced Options</button>
      <button onClick=${load}><${Icon} name="refresh" /> Refresh</button>
      ${bulk && html`<button class="danger" onClick=${() => setDialog({ bulk: true })}>Cancel Callbacks</button>
        <button onClick=${() => setDialog({ reports: true })}>Download Reports</button>`}
      <span class=${`pill ${live ? 'live' : ''}`} title="State changes arrive without a reload">${live ? 'live' : 'offline'}</span>
    </div>
    <div class="toolbar">
      <strong class="found">${records === null ? 'Loading…' : `${shown.length} Callback(s) Found`}</strong>
      <input type="search" aria-label="Search" placeholder="Search" value=${query} onInput=${(e) => { setQuery(e.target.value); setPage(0); }} />
      <select aria-label="Search column" value=${prefs.searchBy} onChange=${(e) => savePrefs({ searchBy: e.target.value })}>
        ${searchable.map((c) => html`<option value=${c.key}>${c.title}</option>`)}
      </select>
      ${(prefs.states.length > 0 || prefs.service) && html`<span class="muted">Filtered: ${[prefs.states.join(', '), prefs.service].filter(Boolean).join(' · ')}</span>`}
      ${pages > 1 && html`<span class="pager">
        <button class="small" disabled=${at === 0} onClick=${() => setPage(at - 1)}>Previous</button>
        Page ${at + 1} of ${pages}
        <button class="small" disabled=${at >= pages - 1} onClick=${() => setPage(at + 1)}>Next</button></span>`}
    </div>
    <table class="grid">
      <thead><tr>
        ${bulk && html`<th class="check"><input type="checkbox" aria-label="Select the page" checked=${pagePicks.length > 0 && pagePicks.every((r) => picked.has(r._id))}
          onChange=${(e) => setPicked(e.target.checked ? new Set([...picked, ...pagePicks.map((r) => r._id)]) : new Set([...picked].filter((id) => !pagePicks.some((r) => r._id === id))))} /></th>`}
        <th>State</th><th>Desired Callback Time (${zoneLabel()})</th><th>Phone Number</th><th>Service Name</th>
        ${columns.map((c) => html`<th key=${c.key} title=${c.key}>${c.alias}</th>`)}
        <th class="act"></th>
      </tr></thead>
      <tbody>
        ${rows.map((r) => html`<tr key=${r._id} data-id=${r._id} class=${`state-${r._callback_state.toLowerCase()}`}>
          ${bulk && html`<td class="check">${cancellable(r) && html`<input type="checkbox" aria-label=${`Select ${r._customer_number}`} checked=${picked.has(r._id)} onChange=${() => toggle(picked, setPicked, r._id)} />`}</td>`}
          <td class="state">${r._callback_state === 'QUEUED'
            ? html`<button class="link" aria-expanded=${open.has(r._id)} onClick=${() => toggle(open, setOpen, r._id)}>QUEUED ${open.has(r._id) ? '▲' : '▼'}</button>
              ${open.has(r._id) && html`<${Diagnostics} id=${r._id} />`}`
            : stateText(r)}</td>
          <td>${when(r._desired_time)}</td>
          <td>${r._customer_number ?? html`<em class="muted">Not Specified</em>`}</td>
          <td>${r._service_name}</td>
          ${columns.map((c) => html`<td key=${c.key}>${r[c.key] ?? html`<em class="muted">Not Specified</em>`}</td>`)}
          <td class="act">${canChange && (r._callback_state === 'COMPLETED'
            ? html`<button class="icon-button" title="Reschedule" aria-label=${`Reschedule ${r._customer_number}`} onClick=${() => setDialog({ again: r })}><${Icon} name="refresh" /></button>`
            : html`<button class="icon-button" title="Edit" aria-label=${`Edit ${r._customer_number}`} onClick=${() => setDialog({ edit: r })}><${Icon} name="pencil" /></button>`)}</td>
        </tr>`)}
      </tbody>
    </table>
    ${records !== null && shown.length === 0 && html`<p class="empty">No callback in this range${query ? ' matches the search' : ''}.</p>`}
    ${dialog?.create && html`<${CreateCallback} services=${services} onDone=${load} onClose=${() => setDialog(null)} />`}
    ${dialog?.edit && html`<${EditCallback} record=${dialog.edit} onDone=${load} onClose=${() => setDialog(null)} />`}
    ${dialog?.again && html`<${RescheduleCompleted} record=${dialog.again} onDone=${load} onClose=${() => setDialog(null)} />`}
    ${dialog?.advanced && html`<${AdvancedOptions} prefs=${prefs} services=${services} states=${settings?.states ?? STATES}
      allowColumns=${allowColumns} onSave=${savePrefs} onClose=${() => setDialog(null)} />`}
    ${dialog?.bulk && html`<${BulkCancel} selected=${sorted.filter((r) => picked.has(r._id) && cancellable(r))} inRange=${sorted.filter(cancellable)}
      onDone=${(s) => { setSummary(s); setPicked(new Set()); load(); }} onClose=${() => setDialog(null)} />`}
    ${dialog?.reports && html`<${Reports} summary=${summary} onClose=${() => setDialog(null)} />`}
  </section>`;
}
