// The capacity service's editors (the help's "Capacity Service"): the weekly grid (24 hourly
// slots × 7 days, with Set Slot and Set Day) kept as `_capacity_N` ({"N": {"HHMM": n}}, N the ISO
// weekday) with the `_capacity` summary ([Mon, Tue, ...]), and the capacity exceptions, one date
// each, kept as `_capacity_add_yyyyMMdd` ({"yyyyMMdd": {"HHMM": n}}).
import { useState } from 'preact/hooks';
import { html, Icon, notify } from './lib.js';

// Columns in the help's order (Sunday first), with their ISO weekday.
const DAYS = [['Sun', 7], ['Mon', 1], ['Tue', 2], ['Wed', 3], ['Thu', 4], ['Fri', 5], ['Sat', 6]];
const HOURS = Array.from({ length: 24 }, (_, h) => `${String(h).padStart(2, '0')}00`);
const label = (slot) => `${slot.slice(0, 2)}:${slot.slice(2)}`;

function parse(text, key) {
  try {
    const v = JSON.parse(text || '{}');
    const inner = v?.[key] ?? {};
    return Object.fromEntries(Object.entries(inner).map(([k, n]) => [k.trim(), Number(n) || 0]));
  } catch {
    return {};
  }
}

/** The weekly grid of a capacity service's options: {iso: {HHMM: n}}. */
export function gridOf(options) {
  return Object.fromEntries(DAYS.map(([, iso]) => [iso, parse(options[`_capacity_${iso}`], String(iso))]));
}

/** The options with `grid` written back (days with no capacity left out). */
export function withGrid(options, grid) {
  const next = { ...options };
  const named = [];
  for (const [name, iso] of [...DAYS.slice(1), DAYS[0]]) {
    const slots = Object.fromEntries(Object.entries(grid[iso]).filter(([, n]) => n > 0).sort());
    if (Object.keys(slots).length) {
      next[`_capacity_${iso}`] = JSON.stringify({ [iso]: slots });
      named.push(name);
    } else delete next[`_capacity_${iso}`];
  }
  if (named.length) next._capacity = `[${named.join(', ')}]`;
  else delete next._capacity;
  return next;
}

function SlotGrid({ columns, values, set, readOnly }) {
  const [fill, setFill] = useState('');
  const n = Number(fill);
  const ok = fill !== '' && Number.isInteger(n) && n >= 0;
  return html`<div class="capacity-grid">
    ${!readOnly && html`<label class="toggle">Value for Set Slot / Set Day <input class="narrow" type="number" min="0" aria-label="Set value" value=${fill} onInput=${(e) => setFill(e.target.value)} /></label>`}
    <table class="grid"><thead><tr><th>Timestamp</th>${columns.map((c) => html`<th>${c.title}
        ${!readOnly && html`<button class="small" disabled=${!ok} aria-label=${`Set Day ${c.title}`} onClick=${() => HOURS.forEach((h) => set(c.key, h, n))}>Set Day</button>`}</th>`)}
      ${!readOnly && html`<th>Set Slot</th>`}</tr></thead>
      <tbody>${HOURS.map((h) => html`<tr key=${h} data-slot=${h}><th>${label(h)}</th>
        ${columns.map((c) => html`<td>${readOnly ? values(c.key)[h] ?? 0
          : html`<input class="narrow" type="number" min="0" aria-label=${`${c.title} ${label(h)}`} value=${values(c.key)[h] ?? 0}
              onInput=${(e) => set(c.key, h, Math.max(0, Number(e.target.value) || 0))} />`}</td>`)}
        ${!readOnly && html`<td><button class="small" disabled=${!ok} aria-label=${`Set Slot ${label(h)}`} onClick=${() => columns.forEach((c) => set(c.key, h, n))}>Set Slot</button></td>`}
      </tr>`)}</tbody></table>
  </div>`;
}

/** The weekly grid and the exceptions of a capacity service, saved with `save(options, what)`. */
export function CapacityEditor({ options, canEdit, save }) {
  const [grid, setGrid] = useState(() => gridOf(options));
  const exceptionKeys = Object.keys(options).filter((k) => /^_capacity_add_\d{8}$/.test(k)).sort();
  const [day, setDay] = useState('');
  const [exception, setException] = useState(null);
  const setSlot = (iso, slot, n) => setGrid((g) => ({ ...g, [iso]: { ...g[iso], [slot]: n } }));
  const changed = JSON.stringify(withGrid(options, grid)) !== JSON.stringify(withGrid(options, gridOf(options)));
  const openException = (date) => {
    const key = date.replaceAll('-', '');
    setException({ key, slots: parse(options[`_capacity_add_${key}`], key) });
  };
  const saveException = async () => {
    const slots = Object.fromEntries(Object.entries(exception.slots).sort());
    const ok = await save({ ...options, [`_capacity_add_${exception.key}`]: JSON.stringify({ [exception.key]: slots }) },
      `Capacity exception ${exception.key} saved`);
    if (ok) setException(null);
  };
  const removeException = (key) => {
    const next = { ...options };
    delete next[key];
    save(next, `Capacity exception ${key.slice(-8)} removed`);
  };
  return html`<section class="capacity" aria-label="Capacity">
    <div class="toolbar"><h3>Capacity</h3><span class="muted">Scheduled callbacks allowed per time bucket of each hour, in ${options._timezone || 'UTC'}.</span>
      ${canEdit && html`<button onClick=${() => setGrid(gridOf(options))} disabled=${!changed}>Reset</button>
        <button class="primary" disabled=${!changed} onClick=${async () => { if (await save(withGrid(options, grid), 'Capacity saved')) notify('info', 'The weekly grid is saved'); }}>Save</button>`}</div>
    <${SlotGrid} columns=${DAYS.map(([title, iso]) => ({ title, key: iso }))} values=${(iso) => grid[iso]} set=${setSlot} readOnly=${!canEdit} />
    <div class="toolbar"><h3>Capacity Exception</h3><span class="muted">Dates whose capacity replaces the weekly grid.</span></div>
    <ul class="plain exceptions">${exceptionKeys.map((k) => html`<li key=${k} data-key=${k}>
      <button class="link" onClick=${() => openException(`${k.slice(-8, -4)}-${k.slice(-4, -2)}-${k.slice(-2)}`)}>${k.slice(-8, -4)}-${k.slice(-4, -2)}-${k.slice(-2)}</button>
      ${canEdit && html`<button class="icon-button" aria-label=${`Remove ${k}`} onClick=${() => removeException(k)}><${Icon} name="trash" /></button>`}</li>`)}</ul>
    ${canEdit && html`<div class="row"><label>Date<input type="date" aria-label="Exception date" value=${day} onInput=${(e) => setDay(e.target.value)} /></label>
      <button disabled=${!day} onClick=${() => openException(day)}><${Icon} name="plus" /> Add Exception</button></div>`}
    ${exception && html`<div class="capacity-exception" aria-label=${`Capacity Exception ${exception.key}`} role="group">
      <${SlotGrid} columns=${[{ title: exception.key, key: 'x' }]} values=${() => exception.slots} readOnly=${!canEdit}
        set=${(_, slot, n) => setException((x) => ({ ...x, slots: { ...x.slots, [slot]: n } }))} />
      ${canEdit && html`<div class="actions"><button onClick=${() => setException(null)}>Cancel</button><button class="primary" onClick=${saveException}>Save Exception</button></div>`}
    </div>`}
  </section>`;
}
