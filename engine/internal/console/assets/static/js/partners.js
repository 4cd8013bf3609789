// Partners: per (app, partner) health, policy, breaker and backlog from
// GET /v1/partners; pause and resume; send a test postback.
import { get, post } from './api.js';
import { el, clear, loading, failure, empty, badge, num, pageHead, params, time, kv, headersText, changeButton } from './ui.js';

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
      el('thead', {}, el('tr', {}, ['App', 'Partner', 'Health', 'Breaker', 'Backlog', 'Policy', 'Last delivered', 'Last error', ''].map((h) => el('th', {}, h)))),
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
  const reason = el('input', { type: 'text', placeholder: 'reason (optional)', 'aria-label': `pause reason for ${p.partner}`, id: `reason-${id}`, size: 16 });
  const act = async (what, body) => {
    try { await post(`/v1/apps/${encodeURIComponent(p.app)}/partners/${encodeURIComponent(p.partner)}/${what}`, body); redraw(); } catch (e) { clear(out, failure(e)); }
  };
  const pause = changeButton('Pause', { id: `pause-${id}`, class: 'danger', onclick: () => act('pause', { reason: reason.value }) }, ctx.canChange);
  const resume = changeButton('Resume', { id: `resume-${id}`, class: 'primary', onclick: () => act('resume', {}) }, ctx.canChange);
  const test = changeButton('Send test', { id: `test-${id}`, onclick: () => sendTest(p, out) }, ctx.canChange);
  if (!ctx.canChange) reason.disabled = true;
  const b = p.backlog || {};
  return el('tr', { id: `partner-${id}` },
    el('td', {}, p.app),
    el('td', {}, el('a', { href: `/console/deliveries?app=${encodeURIComponent(p.app)}&partner=${encodeURIComponent(p.partner)}` }, p.partner)),
    el('td', {}, badge(health(p)), p.paused && p.paused_reason ? el('div', { class: 'muted small' }, p.paused_reason) : null,
      p.paused ? el('div', { class: 'muted small' }, 'since ', time(p.paused_at)) : null),
    el('td', {}, badge((p.breaker && p.breaker.state) || 'closed'),
      ...((p.breaker && p.breaker.hosts) || []).map((h) => el('div', { class: 'muted small', title: `${h.failures} failures of ${h.requests} requests` }, `${h.host}: ${h.state}`))),
    el('td', { class: 'num backlog' }, el('span', { title: 'postbacks queued for delivery' }, num(b.queued)), ' + ', el('span', { title: 'events waiting to be rendered' }, num(b.to_render))),
    el('td', { class: 'small' }, kv([
      ['timeout', pol.timeout], ['attempts', pol.max_attempts], ['max age', pol.max_age], ['concurrency', pol.concurrency],
      ['rate', pol.rate_per_second ? `${pol.rate_per_second}/s (burst ${pol.burst || 1})` : 'unlimited'],
      ['success', pol.success_codes ? [].concat(pol.success_codes).join(', ') : ''],
      ['breaker', pol.breaker ? `${Math.round((pol.breaker.failure_ratio || 0) * 100)}% of ≥${pol.breaker.min_requests} in ${pol.breaker.window}, open ${pol.breaker.open_for}` : ''],
    ])),
    el('td', {}, time(p.last_delivered)),
    el('td', { class: 'err' }, p.last_error && p.last_error.error ? [time(p.last_error.time), el('div', {}, (p.last_error.status_code ? p.last_error.status_code + ' ' : '') + p.last_error.error)] : ''),
    el('td', {}, el('div', { class: 'pg-controls' }, p.paused ? resume : [reason, pause], test)));
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
