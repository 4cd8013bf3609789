// Overview: traffic per partner over the last hour or day from
// GET /v1/stats, queue depth, breaker states and paused partners from
// GET /v1/partners.
import { get } from './api.js';
import { el, clear, loading, failure, empty, badge, num, pct, pageHead, params, setParams, time } from './ui.js';
import { lineChart, barChart } from './chart.js';

export async function render(root, _ctx) {
  let window = params().window === '24h' ? '24h' : '1h';
  const toggle = el('div', { class: 'toggle', role: 'group', 'aria-label': 'Time window' });
  const body = el('div', {});
  const draw = async () => {
    clear(toggle, ['1h', '24h'].map((w) => el('button', { type: 'button', class: w === window ? 'on' : '', 'aria-pressed': String(w === window), id: 'window-' + w,
      onclick: () => { window = w; setParams({ window: w === '1h' ? '' : w }); draw(); } }, w === '1h' ? 'Last hour' : 'Last 24 hours')));
    clear(body, loading());
    // Each source fails alone: without stats the partner table still
    // shows, and the other way round.
    const [st, pa] = await Promise.allSettled([get('/v1/stats', { window }), get('/v1/partners')]);
    clear(body, drawStats(st.status === 'fulfilled' ? st.value : null, pa.status === 'fulfilled' ? pa.value.partners || [] : null,
      st.reason, pa.reason));
  };
  clear(root, pageHead('Overview', toggle), body);
  await draw();
}

function drawStats(st, partners, stErr, paErr) {
  if (!st) st = { partners: [], events_in: [], queue: {}, window: 'unavailable' };
  const partnersOK = partners !== null;
  if (!partnersOK) partners = [];
  const now = Date.parse(st.now) || Date.now();
  const step = (st.step_seconds || 60) * 1000;
  const from = now - (st.window === '24h' ? 24 * 3600e3 : 3600e3);
  const perMin = 60000 / step;
  const ps = st.partners || [];
  const q = st.queue || {};
  const tot = ps.reduce((a, p) => {
    const t = p.totals || {};
    a.delivered += t.delivered || 0; a.retried += t.retried || 0; a.dead += t.dead || 0; return a;
  }, { delivered: 0, retried: 0, dead: 0 });
  const eventsIn = (st.events_in || []).reduce((a, p) => a + (p.count || 0), 0);
  const open = partners.filter((p) => p.breaker && p.breaker.state && p.breaker.state !== 'closed');
  const paused = partners.filter((p) => p.paused);
  const tiles = el('div', { class: 'grid four' },
    tile('Events in', num(eventsIn), 'this window', 'tile-events'),
    tile('Delivered', num(tot.delivered), `${num(tot.retried)} retried · ${num(tot.dead)} dead`, 'tile-delivered'),
    tile('Queue', num(q.pending), `${num(q.to_render)} to render · ${num(q.dead)} dead letters`, 'tile-queue'),
    tile('Partners', num(partners.length), `${open.length} breaker${open.length === 1 ? '' : 's'} not closed · ${paused.length} paused`, 'tile-partners'));
  const label = (p) => `${p.app}/${p.partner}`;
  const series = (f, extra = {}) => ps.map((p, i) => Object.assign({ name: label(p), color: i, values: (p.points || []).map((pt) => ({ t: Date.parse(pt.t), v: f(pt) })) }, extra));
  const charts = el('div', { class: 'grid two' });
  if (stErr) {
    charts.append(el('div', { class: 'panel' }, failure(stErr)));
  } else if (ps.length === 0) {
    charts.append(el('div', { class: 'panel' }, empty('No postbacks in this window yet. Send events to POST /v1/apps/{app}/events and they show here.')));
  } else {
    charts.append(
      panel('Delivery rate (per minute)', lineChart({ title: 'delivery rate', from, to: now, series: series((pt) => (pt.delivered || 0) * perMin), yFmt: (v) => num(v, 1) })),
      panel('Success ratio', barChart({ title: 'success ratio', max: 1, yFmt: pct, bars: ps.map((p, i) => ({ label: label(p), v: p.totals ? p.totals.success_ratio : null, color: i })) })),
      panel('Latency p50 / p99 (ms)', lineChart({ title: 'latency', from, to: now, yFmt: (v) => num(v, v < 10 ? 1 : 0),
        series: [...series((pt) => pt.p50_ms || null), ...series((pt) => pt.p99_ms || null, { dashed: true, noLegend: true })], note: 'solid: p50 · dashed: p99' })),
      panel('Events in (per minute)', lineChart({ title: 'events in', from, to: now, yFmt: (v) => num(v, 1),
        series: [{ name: 'events', color: 6, values: (st.events_in || []).map((p) => ({ t: Date.parse(p.t), v: (p.count || 0) * perMin })) }] })));
  }
  const table = el('table', { id: 'partner-health' },
    el('thead', {}, el('tr', {}, ['Partner', 'Breaker', 'Paused', 'Backlog', 'Last delivered', 'Last error'].map((h) => el('th', {}, h)))),
    el('tbody', {}, partners.map((p) => el('tr', {},
      el('td', {}, el('a', { href: `/console/partners?app=${encodeURIComponent(p.app)}` }, label(p))),
      el('td', {}, badge((p.breaker && p.breaker.state) || 'closed')),
      el('td', {}, p.paused ? badge('paused') : el('span', { class: 'muted' }, 'no')),
      el('td', { class: 'num' }, num(p.backlog ? p.backlog.queued + p.backlog.to_render : 0)),
      el('td', {}, time(p.last_delivered)),
      el('td', { class: 'err' }, p.last_error && p.last_error.error ? p.last_error.error : '')))));
  const list = !partnersOK ? failure(paErr) : partners.length ? el('div', { class: 'table-wrap' }, table) : empty('No partner is enabled in the config.');
  return el('div', {}, tiles, charts, panel('Partners', list));
}

function tile(label, value, sub, id) {
  return el('div', { class: 'panel tile', id }, el('div', { class: 'label' }, label), el('div', { class: 'num' }, value), el('div', { class: 'muted small' }, sub));
}

function panel(title, content) { return el('section', { class: 'panel' }, el('h2', {}, title), content); }
