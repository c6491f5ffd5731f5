// The Monitor tab: every node with a green (up) or red (down) status bar, refreshed every three
// minutes (the help) and on demand.
import { useCallback, useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { html, Icon } from './lib.js';
import { log } from './log.js';

export const REFRESH_MS = 3 * 60 * 1000;

function uptime(s) {
  const d = Math.floor(s / 86400), hh = Math.floor((s % 86400) / 3600), mm = Math.floor((s % 3600) / 60);
  return d ? `${d} d ${hh} h` : hh ? `${hh} h ${mm} min` : `${mm} min ${s % 60} s`;
}

function Node({ n }) {
  const up = n.status === 'ONLINE';
  return html`<article class=${`node ${up ? 'up' : 'down'}`} aria-label=${`Node ${n.node_id ?? n.url}`}>
    <div class="bar" title=${up ? 'up' : 'down'}></div>
    <div class="facts">
      <h3>${n.node_id !== undefined ? `Node ${n.node_id}` : n.url}${n.self && html` <span class="pill">this node</span>`}</h3>
      <dl>
        <dt>Status</dt><dd class="status">${n.status}${n.detail && html` — ${n.detail}`}</dd>
        <dt>Address</dt><dd>${n.url}</dd>
        ${n.version && html`<dt>Version</dt><dd>${n.version}</dd>`}
        ${n.uptime_s !== undefined && html`<dt>Up for</dt><dd>${uptime(n.uptime_s)}</dd>`}
        ${n.live_sessions !== undefined && html`<dt>Live sessions</dt><dd>${n.live_sessions}</dd>`}
        ${n.answered_ms !== undefined && html`<dt>Answered in</dt><dd>${n.answered_ms} ms</dd>`}
      </dl>
    </div>
  </article>`;
}

export function Monitor() {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const refresh = useCallback(async () => {
    log.info('monitor-controller', 'Refresh Nodes');
    setBusy(true);
    try {
      setData(await api.get('admin/nodes', { action: 'Nodes Received Successfully' }));
      setError(null);
    } catch (e) {
      setError(e.message);
    } finally {
      setBusy(false);
    }
  }, []);
  useEffect(() => {
    refresh();
    const t = setInterval(refresh, REFRESH_MS);
    return () => clearInterval(t);
  }, [refresh]);
  const nodes = data?.nodes ?? [];
  const up = nodes.filter((n) => n.status === 'ONLINE').length;
  return html`<section aria-label="Monitor">
    <div class="toolbar">
      <h1>Monitor</h1>
      <span class="muted">${data ? `${up} of ${nodes.length} node(s) up · checked ${new Date(data.checked).toLocaleTimeString()} · refreshes every 3 minutes` : ''}</span>
      <button onClick=${refresh} disabled=${busy}><${Icon} name="refresh" /> Refresh</button>
    </div>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <div class="nodes">${nodes.map((n) => html`<${Node} key=${n.url} n=${n} />`)}</div>
  </section>`;
}
