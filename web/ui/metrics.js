// Tools > Metrics (the help's "Metrics", known as Reporting in the former UI): a dashboard of the
// server's metrics history — Resources (a resource group's usage), Services (how often each
// service was asked for), Callback (callbacks by state; with "Display Advanced Metrics", the
// hold time or the QUEUED watermark) and Operational metrics (DNIS pool availability, average
// handle time and how bookings ended). Pre-defined ranges or a custom one, a rollup of 1 minute
// to a day, a chart (uPlot; drag across it to zoom in, double-click to zoom out), the figures
// as a table, and CSV export. Buckets follow the browser's time zone.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api } from './api.js';
import { html, notify } from './lib.js';
import { log } from './log.js';

const ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The ranges the panel offers: [id, label, () => [start, end]] in the browser's zone. */
const RANGES = [
  ['hour', 'Last Hour', (now) => [now - HOUR, now]],
  ['today', 'Today', (now) => [midnight(now), now]],
  ['yesterday', 'Yesterday', (now) => [midnight(midnight(now) - 1), midnight(now)]],
  ['day', 'Last 24 Hours', (now) => [now - DAY, now]],
  ['week', 'Last Week', (now) => [midnight(now) - 7 * DAY, now]],
  ['month', 'Last Month', (now) => [midnight(now) - 30 * DAY, now]],
];

function midnight(t) {
  const d = new Date(t);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

/** The rollup that suits a range (a few hundred points at most). */
function rollupFor(ms) {
  if (ms <= 3 * HOUR) return '1m';
  if (ms <= 2 * DAY) return '15m';
  if (ms <= 8 * DAY) return '1h';
  return '1d';
}

/** `yyyy-MM-ddTHH:mm` for a datetime-local input. */
function localInput(t) {
  const d = new Date(t - new Date(t).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

/** The reports of each kind the help names, and what each chart draws. */
const KINDS = {
  resources: { title: 'Resources', report: 'resources', series: ['in_use', 'available', 'total'], needsGroup: true },
  services: { title: 'Services', report: 'services', series: null },
  callback: { title: 'Callback', report: 'callbacks', series: ['SCHEDULED', 'QUEUED', 'ROUTING', 'PROCESSING', 'COMPLETED', 'PAUSED'] },
  operational: { title: 'Operational', report: 'resources', series: ['available', 'aht_seconds', 'match', 'timeout', 'cancel'], needsGroup: true },
};

const LABELS = {
  in_use: 'In Use', available: 'Available', total: 'Total', aht_seconds: 'AHT (s)', aht_max_seconds: 'Longest (s)',
  match: 'Matched', timeout: 'Timed Out', cancel: 'Cancelled', min: 'MIN', avg: 'AVG', max: 'MAX', count: 'Callbacks',
  avg_seconds: 'AVG (s)', min_seconds: 'MIN (s)', max_seconds: 'MAX (s)',
};

const COLORS = ['#1f6fb2', '#d9822b', '#2e9e5b', '#c23c3c', '#7a4fb3', '#8c6d3f', '#cc4e9a', '#5b7083'];

export function Metrics() {
  const [cat, setCat] = useState(null);
  const [kind, setKind] = useState('callback');
  const [advanced, setAdvanced] = useState(false);
  const [metric, setMetric] = useState('watermark');
  const [media, setMedia] = useState('all');
  const [service, setService] = useState('all');
  const [group, setGroup] = useState('');
  const [range, setRange] = useState('day');
  const [custom, setCustom] = useState(() => { const n = Date.now(); return [localInput(n - DAY), localInput(n)]; });
  const [rollup, setRollup] = useState('');
  const [data, setData] = useState(null);
  const [busy, setBusy] = useState(false);
  const [tick, setTick] = useState(0);
  const asked = useRef('');

  useEffect(() => {
    api.get('admin/metrics', { action: 'Metrics Catalogue Received' }).then((c) => {
      setCat(c);
      setGroup(c.resource_groups[0] ?? '');
    }, (e) => notify('error', e.message));
  }, []);

  const [start, end] = useMemo(() => {
    if (range === 'custom') return custom.map((v) => new Date(v).getTime());
    return RANGES.find((r) => r[0] === range)[2](Date.now());
  }, [range, custom, tick]);
  const by = rollup || rollupFor(end - start);
  const def = KINDS[kind];
  const report = kind === 'callback' && advanced ? metric : def.report;

  const query = useMemo(() => {
    const q = new URLSearchParams({ start: String(start), end: String(end), rollup: by, timezone: ZONE });
    if (def.needsGroup) q.set('group', group);
    else if (service !== 'all') q.set('service', service);
    if (report === 'holdtime' && media !== 'all') q.set('media', media);
    return q;
  }, [start, end, by, def, group, service, report, media]);

  const load = async () => {
    if (!cat || (def.needsGroup && !group)) return;
    if (!(end > start)) { notify('error', 'The end of the range must be after its start.'); return; }
    setBusy(true);
    log.info('metrics-controller', `Get ${report} report`);
    try {
      const key = `${report}?${query}`;
      asked.current = key;
      const got = await api.get(`admin/metrics/${key}`, { action: `Metrics ${report} Received` });
      // An answer to an earlier question that came late is dropped.
      if (asked.current === key) setData({ ...got, key });
    } catch (e) {
      setData(null);
      notify('error', e.message);
    } finally { setBusy(false); }
  };
  useEffect(() => { load(); }, [cat, query.toString(), report, tick]);

  if (!cat) return html`<p class="muted">Loading the metrics…</p>`;
  const callbackServices = cat.services.filter((s) => s.callback);
  const pickable = kind === 'callback' ? callbackServices : cat.services;
  // Only the answer to what is asked now is drawn: the last one may be of another report.
  const current = data && data.key === `${report}?${query}` ? data : null;
  const shown = report === 'watermark' ? ['min', 'avg', 'max']
    : report === 'holdtime' ? ['avg_seconds', 'min_seconds', 'max_seconds']
      : def.series ?? (current ? current.columns.slice(1) : []);
  const csv = `/genesys/1/admin/metrics/${report}?${query}&format=csv`;

  return html`<section class="metrics" aria-label="Metrics">
    <div class="metric-kinds" role="tablist" aria-label="Report">
      ${Object.entries(KINDS).map(([id, k]) => html`<button type="button" role="tab" aria-selected=${kind === id}
        class=${kind === id ? 'active' : ''} onClick=${() => { setKind(id); setService('all'); }}>${k.title}</button>`)}
    </div>
    <form class="metric-controls" onSubmit=${(e) => { e.preventDefault(); setTick((t) => t + 1); }}>
      <label>Range <select name="range" value=${range} onChange=${(e) => { setRange(e.target.value); setRollup(''); }}>
        ${RANGES.map(([id, label]) => html`<option value=${id}>${label}</option>`)}
        <option value="custom">Custom Range</option>
      </select></label>
      ${range === 'custom' && html`
        <label>From <input type="datetime-local" name="start" value=${custom[0]} onChange=${(e) => setCustom([e.target.value, custom[1]])} /></label>
        <label>To <input type="datetime-local" name="end" value=${custom[1]} onChange=${(e) => setCustom([custom[0], e.target.value])} /></label>`}
      <label>Rollup <select name="rollup" value=${by} onChange=${(e) => setRollup(e.target.value)}>
        <option value="1m">1 minute</option><option value="15m">15 minutes</option><option value="30m">30 minutes</option>
        <option value="1h">1 hour</option><option value="1d">1 day</option>
      </select></label>
      ${def.needsGroup
        ? html`<label>Resource Group <select name="group" value=${group} onChange=${(e) => setGroup(e.target.value)}>
            ${cat.resource_groups.length === 0 && html`<option value="">No resource groups</option>`}
            ${cat.resource_groups.map((g) => html`<option value=${g}>${g}</option>`)}</select></label>`
        : html`<label>Service <select name="service" value=${service} onChange=${(e) => setService(e.target.value)}>
            <option value="all">All Services</option>
            ${pickable.map((s) => html`<option value=${s.name}>${s.name}</option>`)}</select></label>`}
      ${kind === 'callback' && html`
        <label class="toggle"><input type="checkbox" name="advanced" checked=${advanced} onChange=${(e) => setAdvanced(e.target.checked)} /> Display Advanced Metrics</label>
        ${advanced && html`<label>Metric Type <select name="metric" value=${metric} onChange=${(e) => setMetric(e.target.value)}>
          <option value="holdtime">Holdtime</option><option value="watermark">Watermark</option></select></label>`}
        ${advanced && metric === 'holdtime' && html`<label>Media Type <select name="media" value=${media} onChange=${(e) => setMedia(e.target.value)}>
          <option value="all">All</option><option value="voice">Voice</option><option value="chat">Chat</option></select></label>`}`}
      <button type="submit" disabled=${busy}>Refresh</button>
      <a class="button" href=${csv} download>Export CSV</a>
    </form>
    ${!current && html`<p class="muted" role="status">${busy ? 'Loading the report…' : 'No report.'}</p>`}
    ${current && html`<${Chart} data=${current} series=${shown} title=${titleOf(kind, report, group, service)} />
      <p class="muted">Drag across the chart to zoom in; double-click to zoom out. ${current.rows.length} point(s), ${by} each, times in ${ZONE}.
        History is kept ${cat.retention_days} days.</p>
      <${Figures} data=${current} series=${shown} />`}
  </section>`;
}

function titleOf(kind, report, group, service) {
  const who = KINDS[kind].needsGroup ? `resource group ${group}` : service === 'all' ? 'all services' : service;
  const what = {
    resources: 'Resource usage', services: 'Service requests', callbacks: 'Callbacks by state',
    holdtime: 'Hold time', watermark: 'QUEUED watermark',
  }[report];
  return kind === 'operational' ? `Operational metrics — ${who}` : `${what} — ${who}`;
}

/** The chart: uPlot over the report's columns (the first is the time). */
function Chart({ data, series, title }) {
  const box = useRef(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return undefined;
    const idx = series.map((s) => data.columns.indexOf(s)).filter((i) => i > 0);
    const xs = data.rows.map((r) => r[0] / 1000);
    const cols = [xs, ...idx.map((i) => data.rows.map((r) => r[i]))];
    const width = () => Math.max(320, el.clientWidth || 800);
    let plot = null;
    let resize = null;
    let gone = false;
    // uPlot (50 KB) is loaded the first time a chart is drawn, not with the page.
    import('uplot').then(({ default: uPlot }) => {
      if (gone) return;
      plot = new uPlot({
        title,
        width: width(),
        height: 320,
        cursor: { drag: { x: true, y: false } },
        // Counts and seconds: from zero, and at least to one.
        scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
        series: [{}, ...idx.map((i, n) => ({
          label: LABELS[data.columns[i]] ?? data.columns[i],
          stroke: COLORS[n % COLORS.length],
          width: 2,
          spanGaps: false,
        }))],
        axes: [{}, { size: 56 }],
        // The time range shown (zoomed or not), for whoever reads the page.
        hooks: { setScale: [(u, key) => {
          if (key === 'x') el.dataset.range = `${Math.round(u.scales.x.min)}-${Math.round(u.scales.x.max)}`;
        }] },
      }, cols, el);
      // Which chart is drawn (tests wait for it; a chart being replaced has none).
      el.dataset.ready = title;
      resize = new ResizeObserver(() => plot.setSize({ width: width(), height: 320 }));
      resize.observe(el);
    }, (e) => notify('error', `The chart could not be drawn: ${e.message}`));
    return () => {
      gone = true;
      delete el.dataset.ready;
      delete el.dataset.range;
      resize?.disconnect();
      plot?.destroy();
    };
  }, [data, series.join(), title]);
  return html`<div class="chart" ref=${box} role="img" aria-label=${title}></div>`;
}

const fmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'short', timeStyle: 'short' });

/** The figures behind the chart, newest first (at most 500 rows). */
function Figures({ data, series }) {
  const idx = series.map((s) => data.columns.indexOf(s)).filter((i) => i > 0);
  const rows = data.rows.slice(-500).reverse();
  const cell = (v) => (v === null || v === undefined ? '' : Number.isInteger(v) ? v : v.toFixed(2));
  return html`<details class="figures"><summary>Figures</summary>
    <table class="grid"><thead><tr><th>Time</th>${idx.map((i) => html`<th>${LABELS[data.columns[i]] ?? data.columns[i]}</th>`)}</tr></thead>
    <tbody>${rows.map((r) => html`<tr><td>${fmt.format(new Date(r[0]))}</td>${idx.map((i) => html`<td>${cell(r[i])}</td>`)}</tr>`)}</tbody></table>
  </details>`;
}
