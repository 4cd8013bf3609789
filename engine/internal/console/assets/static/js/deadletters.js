// Dead letters: filter (GET /v1/deadletters), select, dry-run and replay
// (POST /v1/deadletters/replay) by the selected ids or by the filter.
import { get, post } from './api.js';
import { el, clear, loading, failure, empty, badge, pageHead, params, setParams, time, field, localInput, changeButton, num } from './ui.js';

const classes = ['', '4xx', '5xx', 'network', 'timeout', 'refused_host', 'window_closed', 'budget_exhausted', 'render', 'other'];

export async function render(root, ctx) {
  const p = params();
  const inputs = {
    app: el('input', { type: 'text', value: p.app || '' }),
    partner: el('input', { type: 'text', value: p.partner || '' }),
    error_class: el('select', {}, classes.map((c) => el('option', { value: c, selected: c === (p.error_class || '') }, c || 'any'))),
    since: el('input', { type: 'datetime-local', value: p.since || '' }),
    until: el('input', { type: 'datetime-local', value: p.until || '' }),
  };
  const form = el('form', { class: 'filters panel', id: 'dl-filters' },
    field('App', inputs.app), field('Partner', inputs.partner), field('Error class', inputs.error_class),
    field('Since (local)', inputs.since), field('Until (local)', inputs.until), el('button', { type: 'submit', class: 'primary', id: 'dl-search' }, 'Filter'));
  const rerender = el('input', { type: 'checkbox', id: 'rerender' });
  const result = el('div', { id: 'replay-result' });
  const selected = new Set();
  const count = el('span', { class: 'muted', id: 'selected-count' }, 'none selected');
  const scope = () => (selected.size ? `the ${selected.size} selected` : 'every dead letter matching the filter');
  const filter = () => {
    const v = Object.fromEntries(Object.entries(inputs).map(([k, i]) => [k, i.value.trim()]));
    return { app: v.app || undefined, partner: v.partner || undefined, error_class: v.error_class || undefined, since: localInput(v.since) || undefined, until: localInput(v.until) || undefined };
  };
  const request = (dry) => Object.assign(selected.size ? { ids: [...selected] } : filter(), { dry_run: dry, rerender: rerender.checked });
  const dryRun = changeButton('Dry run', { id: 'dry-run', onclick: async () => {
    clear(result, loading());
    try {
      const r = await post('/v1/deadletters/replay', request(true));
      clear(result, el('div', { class: 'alert info', id: 'dry-run-result' }, `Dry run: ${num(r.matched)} dead letter${r.matched === 1 ? '' : 's'} would be replayed (${scope()}).`,
        (r.sample || []).length ? el('ul', {}, r.sample.map((d) => el('li', { class: 'small' }, `${d.app}/${d.partner} ${d.postback} · ${d.postback_id} · ${d.reason || ''}`))) : null));
    } catch (e) { clear(result, failure(e)); }
  } }, ctx.canChange);
  const replay = changeButton('Replay', { id: 'replay', class: 'primary', onclick: async () => {
    if (!confirm(`Replay ${scope()}${rerender.checked ? ', rendering them again with the current spec' : ''}?`)) return;
    clear(result, loading());
    try {
      const r = await post('/v1/deadletters/replay', request(false));
      clear(result, el('div', { class: 'alert ok', id: 'replayed' }, `Replayed ${num(r.replayed)} dead letter${r.replayed === 1 ? '' : 's'}. Follow them in Deliveries.`));
      await search();
    } catch (e) { clear(result, failure(e)); }
  } }, ctx.canChange);
  if (!ctx.canChange) rerender.disabled = true;
  const actions = el('div', { class: 'panel actions' }, count, dryRun, replay,
    el('label', { for: 'rerender', class: 'inline' }, rerender, ' Render again with the partner\'s current spec and config'),
    el('span', { class: 'muted small full' }, 'Use it when the spec was the cause (a wrong parameter); otherwise the exact request that failed is sent again. History records both config versions.'));
  const body = el('div', {});
  clear(root, pageHead('Dead letters'), form, actions, result, body);
  const updateCount = () => { count.textContent = selected.size ? `${selected.size} selected` : 'none selected: actions apply to the filter'; };
  const search = async () => {
    const f = filter();
    setParams({ app: inputs.app.value, partner: inputs.partner.value, error_class: inputs.error_class.value, since: inputs.since.value, until: inputs.until.value });
    selected.clear();
    updateCount();
    clear(body, loading());
    const tbody = el('tbody', {});
    const all = el('input', { type: 'checkbox', 'aria-label': 'select all', id: 'select-all' });
    const more = el('button', { type: 'button', id: 'dl-more' }, 'Load more');
    const boxes = [];
    all.addEventListener('change', () => { for (const b of boxes) { b.checked = all.checked; b.dispatchEvent(new Event('change')); } });
    let first = true;
    const page = async (cursor) => {
      let r;
      try { r = await get('/v1/deadletters', Object.assign({}, f, { cursor, limit: 100 })); } catch (e) { clear(body, failure(e)); return; }
      const list = r.dead_letters || [];
      if (first && !list.length) { clear(body, empty('No dead letter matches these filters.')); return; }
      if (first) clear(body, el('div', { class: 'panel table-wrap' }, el('table', { id: 'deadletters' }, el('thead', {}, el('tr', {},
        el('th', {}, all), ['Dead since', 'App', 'Partner', 'Postback', 'Event', 'Tries', 'Class', 'Reason', 'Decided by'].map((h) => el('th', {}, h)))), tbody)), more);
      first = false;
      for (const d of list) {
        const box = el('input', { type: 'checkbox', 'aria-label': `select ${d.postback_id}`, dataset: { id: d.postback_id } });
        boxes.push(box);
        box.addEventListener('change', () => { if (box.checked) selected.add(d.postback_id); else selected.delete(d.postback_id); updateCount(); });
        tbody.append(el('tr', { dataset: { id: d.postback_id, event: d.event_id || '', partner: d.partner } }, el('td', {}, box), el('td', {}, time(d.dead_at)), el('td', {}, d.app), el('td', {}, d.partner), el('td', {}, d.postback),
          el('td', { class: 'mono' }, d.event_id ? el('a', { href: `/console/trace?app=${encodeURIComponent(d.app)}&event_id=${encodeURIComponent(d.event_id)}` }, d.event_id) : ''),
          el('td', { class: 'num' }, d.attempts), el('td', {}, d.error_class ? badge(d.error_class, 'bad') : ''), el('td', { class: 'err' }, d.reason || ''), el('td', { class: 'small' }, d.decided_by || '')));
      }
      more.hidden = !r.next_cursor;
      more.onclick = () => page(r.next_cursor);
    };
    await page('');
  };
  form.addEventListener('submit', (e) => { e.preventDefault(); search(); });
  await search();
}
