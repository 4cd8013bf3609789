// Partners: per (app, partner) health, policy, breaker and backlog from
// GET /v1/partners; pause and resume; send a test postback.
import { get, post } from './api.js';
import { el, clear, loading, failure, empty, badge, num, pageHead, params, time, headersText, changeButton, dur } from './ui.js';

export async function render(root, ctx) {
  const body = el('div', {});
  const out = el('div', { id: 'test-result' });
  const refresh = el('button', { type: 'button', id: 'refresh', onclick: () => draw() }, 'Refresh');
  clear(root, pageHead('Partners', refresh), out, body);
  const app = params().app || '';
  const draw = async () => {
    clear(body, loading());
    let list;
    try { list = (await get('/v1/partners', { app })).partners || []; } catch (e) { clear(body, failure(e)); return; }
    if (!list.length) { clear(body, empty('No partner is enabled' + (app ? ` for app ${app}` : '') + '.')); return; }
    clear(body, el('div', { class: 'panel table-wrap' }, el('table', { id: 'partners' },
      el('thead', {}, el('tr', {}, ['Partner', 'Health', 'Breaker', 'Backlog', 'Delivery policy', 'Last error', ''].map((h) => el('th', {}, h)))),
      el('tbody', {}, list.map((p) => row(p, ctx, draw, out))))));
  };
  await draw();
}

function health(p) {
  if (p.paused) return 'paused';
  const st = p.breaker && p.breaker.state;
  if (st === 'open') return 'failing';
  if (st === 'half-open') return 'retrying';
  const le = p.last_error && p.last_error.time ? Date.parse(p.last_error.time) : 0;
  const ld = p.last_delivered ? Date.parse(p.last_delivered) : 0;
  if (le && le > ld) return 'error';
  return 'healthy';
}

function row(p, ctx, redraw, out) {
  const pol = p.policy || {};
  const id = `${p.app}-${p.partner}`;
  const reason = el('input', { type: 'text', placeholder: 'reason (optional)', 'aria-label': `pause reason for ${p.partner}`, id: `reason-${id}`, });
  const act = async (what, body) => {
    try { await post(`/v1/apps/${encodeURIComponent(p.app)}/partners/${encodeURIComponent(p.partner)}/${what}`, body); redraw(); } catch (e) { clear(out, failure(e)); }
  };
  const pause = changeButton('Pause', { id: `pause-${id}`, class: 'danger', onclick: () => act('pause', { reason: reason.value }) }, ctx.canChange);
  const resume = changeButton('Resume', { id: `resume-${id}`, class: 'primary', onclick: () => act('resume', {}) }, ctx.canChange);
  const test = changeButton('Send test', { id: `test-${id}`, onclick: () => sendTest(p, out) }, ctx.canChange);
  if (!ctx.canChange) reason.disabled = true;
  const b = p.backlog || {};
  return el('tr', { id: `partner-${id}` },
    el('td', {}, el('a', { href: `/console/deliveries?app=${encodeURIComponent(p.app)}&partner=${encodeURIComponent(p.partner)}`, class: 'strong' }, p.partner),
      el('div', { class: 'muted small' }, 'app ', p.app)),
    el('td', { class: 'health' }, badge(health(p)), p.paused && p.paused_reason ? el('div', { class: 'muted small' }, p.paused_reason) : null,
      p.paused ? el('div', { class: 'muted small' }, 'paused since ', time(p.paused_at)) : null,
      el('div', { class: 'muted small' }, 'last delivered ', time(p.last_delivered))),
    el('td', {}, badge((p.breaker && p.breaker.state) || 'closed'),
      // Hosts are listed when one is not closed: which endpoint fails.
      ...((p.breaker && p.breaker.hosts) || []).filter((h) => h.state && h.state !== 'closed').map((h) =>
        el('div', { class: 'muted small', title: `${h.failures} failures of ${h.requests} requests` }, `${h.host}: ${h.state}, ${h.failures}/${h.requests} failed`))),
    el('td', { class: 'num backlog' }, el('div', { title: 'postbacks queued for delivery' }, `${num(b.queued)} queued`),
      b.to_render ? el('div', { class: 'muted small', title: 'events waiting to be rendered' }, `${num(b.to_render)} to render`) : null),
    el('td', { class: 'small policy' }, policyLines(pol)),
    el('td', { class: 'err' }, p.last_error && p.last_error.error ? [el('div', {}, errorText(p.last_error)), el('div', { class: 'muted small' }, time(p.last_error.time))] : ''),
    el('td', { class: 'actions-cell' }, el('div', { class: 'pg-controls' }, p.paused ? resume : [reason, pause], test)));
}

function errorText(e) {
  const code = e.status_code ? String(e.status_code) : '';
  return code && !e.error.startsWith(code) ? `${code} ${e.error}` : e.error;
}

// policyLines summarises the delivery policy in three short lines.
function policyLines(pol) {
  const br = pol.breaker;
  const codes = [].concat(pol.success_codes || []);
  return [
    `${dur(pol.timeout)} timeout · ${pol.max_attempts ?? '—'} attempts · max age ${dur(pol.max_age)}`,
    `${pol.concurrency ?? '—'} at once · ${pol.rate_per_second ? `${pol.rate_per_second}/s, burst ${pol.burst || 1}` : 'no rate limit'} · success ${codes.length ? codes.join(', ') : '2xx'}`,
    br ? `breaker opens at ${Math.round((br.failure_ratio || 0) * 100)}% of ≥${br.min_requests} in ${dur(br.window)}, for ${dur(br.open_for)}` : '',
  ].filter(Boolean).map((l) => el('div', {}, l));
}

async function sendTest(p, out) {
  clear(out, el('div', { class: 'panel' }, loading(`Sending a test postback to ${p.partner}…`)));
  try {
    const r = await post(`/v1/apps/${encodeURIComponent(p.app)}/partners/${encodeURIComponent(p.partner)}/test`);
    const ok = r.outcome === 'delivered';
    clear(out, el('section', { class: 'panel', id: 'test-panel' },
      el('div', { class: 'page-head' }, el('h2', {}, `Test postback to ${p.app}/${p.partner}: `, badge(r.outcome || 'error', ok ? 'ok' : 'bad')),
        el('button', { type: 'button', onclick: () => clear(out) }, 'Close')),
      el('div', { class: 'split' },
        el('div', {}, el('h3', {}, 'Request'), el('pre', { id: 'test-request' }, `${r.method} ${r.url}\n${headersText(r.headers)}`)),
        el('div', {}, el('h3', {}, 'Response'), el('pre', { id: 'test-response' },
          (r.status_code ? `HTTP ${r.status_code} in ${num(r.latency_ms, 1)} ms\n\n` : '') + (r.error ? 'error: ' + r.error + '\n' : '') + (r.body || ''))))));
  } catch (e) {
    clear(out, el('div', { class: 'panel' }, failure(e)));
  }
}
