// Deliveries: search the durable attempt history (GET /v1/deliveries),
// page with its cursor, expand a row into its request and response.
import { get } from './api.js';
import { el, clear, loading, failure, empty, badge, num, pageHead, params, setParams, time, kv, headersText, field, localInput } from './ui.js';

const statuses = ['', 'delivered', 'retry', 'dead', 'delayed', 'skipped', 'paused', '2xx', '4xx', '5xx', 'error'];

export async function render(root) {
  const p = params();
  const inputs = {
    app: el('input', { type: 'text', value: p.app || '' }),
    partner: el('input', { type: 'text', value: p.partner || '' }),
    status: el('select', {}, statuses.map((s) => el('option', { value: s, selected: s === (p.status || '') }, s || 'any'))),
    event_id: el('input', { type: 'text', class: 'wide', value: p.event_id || '' }),
    id: el('input', { type: 'text', class: 'wide', value: p.id || '' }),
    since: el('input', { type: 'datetime-local', value: p.since || '' }),
    until: el('input', { type: 'datetime-local', value: p.until || '' }),
  };
  const form = el('form', { class: 'filters panel', id: 'delivery-filters' },
    field('App', inputs.app), field('Partner', inputs.partner), field('Status', inputs.status), field('Event id', inputs.event_id),
    field('Postback id', inputs.id), field('Since (local)', inputs.since), field('Until (local)', inputs.until),
    el('button', { type: 'submit', class: 'primary', id: 'search' }, 'Search'));
  const body = el('div', { id: 'delivery-results' });
  clear(root, pageHead('Deliveries'), form, body);
  const values = () => Object.fromEntries(Object.entries(inputs).map(([k, i]) => [k, i.value.trim()]));
  const search = async () => {
    const v = values();
    setParams(v);
    const q = Object.assign({}, v, { since: localInput(v.since), until: localInput(v.until), limit: 50 });
    clear(body, loading());
    const tbody = el('tbody', {});
    const more = el('button', { type: 'button', id: 'more' }, 'Load more');
    const table = el('table', { id: 'deliveries' }, el('thead', {}, el('tr', {},
      ['Time', 'App', 'Partner', 'Postback', 'Event', 'Try', 'Status', 'Code', 'Latency', 'Error'].map((h) => el('th', { class: h === 'Latency' || h === 'Try' || h === 'Code' ? 'num' : '' }, h)))), tbody);
    let first = true;
    const page = async (cursor) => {
      let r;
      try { r = await get('/v1/deliveries', Object.assign({}, q, { cursor })); } catch (e) { clear(body, failure(e)); return; }
      const list = r.deliveries || [];
      if (first && !list.length) { clear(body, empty('No delivery attempt matches these filters.')); return; }
      if (first) clear(body, el('div', { class: 'panel table-wrap' }, table), more);
      first = false;
      for (const a of list) addRow(tbody, a);
      more.hidden = !r.next_cursor;
      more.onclick = () => page(r.next_cursor);
    };
    await page('');
  };
  form.addEventListener('submit', (e) => { e.preventDefault(); search(); });
  await search();
}

export function statusText(a) { return a.status || a.outcome || ''; }

function addRow(tbody, a) {
  const detail = el('tr', { class: 'detail', hidden: true }, el('td', { colspan: 10 }, attemptDetail(a)));
  const tr = el('tr', { class: 'row', tabindex: 0, dataset: { postback: a.postback_id || '', event: a.event_id || '', partner: a.partner || '', status: statusText(a) },
    onclick: (e) => { if (e.target.tagName !== 'A') detail.hidden = !detail.hidden; },
    onkeydown: (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); detail.hidden = !detail.hidden; } } },
  el('td', {}, time(a.time)), el('td', {}, a.app), el('td', {}, a.partner), el('td', {}, a.postback),
  el('td', { class: 'mono' }, a.event_id ? el('a', { href: `/console/trace?app=${encodeURIComponent(a.app)}&event_id=${encodeURIComponent(a.event_id)}`, class: 'trace-link' }, a.event_id) : ''),
  el('td', { class: 'num' }, a.attempt), el('td', {}, badge(statusText(a))), el('td', { class: 'num' }, a.status_code || ''),
  el('td', { class: 'num' }, a.latency_ms !== undefined ? num(a.latency_ms, 1) + ' ms' : ''), el('td', { class: 'err' }, a.error || ''));
  tbody.append(tr, detail);
}

// attemptDetail shows one attempt's request, response and verdict.
export function attemptDetail(a) {
  const rq = a.request || { method: a.method, url: a.url, headers: a.headers };
  const rs = a.response || {};
  return el('div', { class: 'split' },
    el('div', {}, el('h3', {}, 'Request'), el('pre', { class: 'request' }, `${rq.method || ''} ${rq.url || ''}\n${headersText(rq.headers)}${rq.body_excerpt ? '\n\n' + rq.body_excerpt : ''}`)),
    el('div', {}, el('h3', {}, 'Response'), el('pre', { class: 'response' },
      (rs.status_code || a.status_code ? `HTTP ${rs.status_code || a.status_code}\n` : 'no HTTP answer\n') + headersText(rs.headers) + (rs.body_excerpt ? '\n\n' + rs.body_excerpt : '') +
        // Without an answer the error says what happened instead.
        (a.error && !(rs.status_code || a.status_code) ? '\n' + a.error : '')),
    kv([['postback id', a.postback_id], ['decided by', a.decided_by], ['config version', a.config_version], ['instance', a.instance],
      ['replay', a.replay ? `of config ${a.replay.of_config_version}${a.replay.rerendered ? ', rendered again' : ''}` : '']])));
}
