// Playground: edit a partner spec and an event, and see, as you type, the
// lint findings at their lines and the requests the gateway would send,
// with the explain view (POST /v1/playground). Nothing is saved.
import { get, post } from './api.js';
import { el, clear, loading, failure, empty, badge, pageHead, field, headersText } from './ui.js';

const starter = `id: playground
name: Playground partner
postbacks:
  - events: [INSTALL, OPEN]
    url: https://postback.example.com/install?click={click_id}&os={os}&event={event}
parameters:
  - macro: click_id
    branch: CLICK_ID
    link_macro: "{click}"
  - macro: os
    branch: OS
  - macro: event
    branch: EVENT_NAME
`;

export async function render(root) {
  let specs = [];
  try { specs = (await get('/v1/playground/specs')).specs || []; } catch (e) { root.append(failure(e)); }
  const specSel = el('select', { id: 'pg-spec' }, el('option', { value: '' }, 'my own spec (paste below)'),
    specs.map((s) => el('option', { value: s.id }, `${s.id} · ${s.name}`)));
  const eventSel = el('select', { id: 'pg-event' });
  const appSel = el('select', { id: 'pg-app' }, el('option', { value: '' }, 'none'));
  const specEd = editor('pg-spec-text', 'Partner spec (YAML)');
  const eventEd = editor('pg-event-text', 'Event (JSON)', true);
  const findings = el('div', { id: 'pg-findings' });
  const results = el('div', { id: 'pg-results' });
  const status = el('span', { class: 'muted small', id: 'pg-status', role: 'status' });
  clear(root, pageHead('Playground', status),
    el('p', { class: 'muted' }, 'Edit a partner spec and an event; findings and rendered requests update as you type. Nothing is saved, and the running config\'s credentials are never shown: an app\'s credentials appear as placeholders.'),
    el('div', { class: 'split' },
      el('div', {},
        el('div', { class: 'pg-controls' }, field('Start from', specSel)), specEd.box,
        el('section', { class: 'panel' }, el('h2', {}, 'Findings'), findings)),
      el('div', {},
        el('div', { class: 'pg-controls' }, field('Event', eventSel), field('App settings', appSel)), eventEd.box, results)));

  const current = () => specs.find((s) => s.id === specSel.value);
  const fillEvents = (keys) => {
    const prev = eventSel.value;
    clear(eventSel, (keys.length ? keys : ['INSTALL']).flatMap((k) => [el('option', { value: k }, `${k} (Android sample)`), el('option', { value: k + ':ios' }, `${k} (iOS sample)`)]),
      el('option', { value: 'custom' }, 'my own event (edit below)'));
    if ([...eventSel.options].some((o) => o.value === prev)) eventSel.value = prev;
  };
  const fillApps = () => {
    const s = current();
    clear(appSel, el('option', { value: '' }, 'none'), ((s && s.apps) || []).map((a) => el('option', { value: a }, a)));
    // A loaded spec renders with its first app's settings and bundles, as
    // the gateway would; credentials stay placeholders.
    if (s && s.apps && s.apps.length) appSel.value = s.apps[0];
  };
  specEd.text.value = starter;
  fillEvents(['INSTALL']);

  let timer = null;
  let inflight = null;
  const run = async () => {
    if (inflight) inflight.abort();
    const ctl = new AbortController();
    inflight = ctl;
    const req = { spec: specEd.text.value };
    if (appSel.value) req.app = appSel.value;
    if (eventSel.value === 'custom') {
      try { req.event = JSON.parse(eventEd.text.value); } catch (e) {
        clear(results, el('p', { class: 'state error' }, 'The event is not valid JSON: ' + e.message));
        return;
      }
    } else {
      req.sample = eventSel.value;
    }
    status.textContent = 'rendering…';
    try {
      const r = await post('/v1/playground', req, ctl.signal);
      if (ctl.signal.aborted) return;
      if (eventSel.value !== 'custom' && r.event) eventEd.text.value = JSON.stringify(r.event, null, 2);
      if (r.postbacks && r.postbacks.length) fillEvents(r.postbacks);
      eventEd.refresh();
      showFindings(findings, specEd, r.findings || []);
      showResults(results, r, (r.findings || []).some((f) => f.severity === 'error'));
      status.textContent = 'up to date';
    } catch (e) {
      if (e.name === 'AbortError') return;
      status.textContent = '';
      clear(results, failure(e));
    }
  };
  const later = () => { clearTimeout(timer); status.textContent = 'typing…'; timer = setTimeout(run, 350); };
  specEd.text.addEventListener('input', later);
  eventEd.text.addEventListener('input', () => { if (eventSel.value !== 'custom') eventSel.value = 'custom'; later(); });
  eventSel.addEventListener('change', run);
  appSel.addEventListener('change', run);
  specSel.addEventListener('change', () => {
    const s = current();
    specEd.text.value = s ? s.yaml : starter;
    specEd.refresh();
    fillApps();
    fillEvents(s ? s.postbacks || [] : ['INSTALL']);
    run();
  });
  specEd.refresh();
  await run();
}

// editor is a textarea with a line-number gutter that marks findings.
function editor(id, label, small) {
  const gutter = el('div', { class: 'gutter', 'aria-hidden': 'true' });
  const text = el('textarea', { id, spellcheck: 'false', autocomplete: 'off', 'aria-label': label, wrap: 'off' });
  const box = el('div', {}, el('label', { for: id }, label), el('div', { class: 'editor' + (small ? ' small' : '') }, gutter, text));
  let marks = new Map();
  const refresh = () => {
    const n = text.value.split('\n').length;
    const rows = [];
    for (let i = 1; i <= n; i++) {
      const m = marks.get(i);
      rows.push(el('div', m ? { class: m.severity, title: m.text, dataset: { line: i } } : { dataset: { line: i } }, String(i)));
    }
    clear(gutter, rows);
    gutter.scrollTop = text.scrollTop;
  };
  text.addEventListener('input', refresh);
  text.addEventListener('scroll', () => { gutter.scrollTop = text.scrollTop; });
  text.addEventListener('keydown', (e) => {
    if (e.key === 'Tab' && !e.shiftKey && !e.ctrlKey && !e.altKey) {
      // Two spaces, as YAML wants; Escape then Tab leaves the editor.
      if (text.dataset.escaped === '1') { text.dataset.escaped = ''; return; }
      e.preventDefault();
      text.setRangeText('  ', text.selectionStart, text.selectionEnd, 'end');
      text.dispatchEvent(new Event('input'));
    } else if (e.key === 'Escape') text.dataset.escaped = '1';
    else text.dataset.escaped = '';
  });
  const mark = (list) => { marks = new Map(list.map((f) => [f.line, { severity: f.severity, text: `${f.rule}: ${f.message}` }])); refresh(); };
  const goTo = (line) => {
    const lines = text.value.split('\n');
    let off = 0;
    for (let i = 0; i < line - 1 && i < lines.length; i++) off += lines[i].length + 1;
    text.focus();
    text.setSelectionRange(off, off + (lines[line - 1] || '').length);
    text.scrollTop = Math.max(0, (line - 5) * 18);
  };
  return { box, text, refresh, mark, goTo };
}

function showFindings(node, ed, list) {
  ed.mark(list.filter((f) => f.line > 0));
  if (!list.length) { clear(node, el('p', { class: 'state empty', id: 'pg-no-findings' }, 'No findings: the spec is clean.')); return; }
  clear(node, el('ul', { class: 'findings' }, list.map((f) => el('li', { dataset: { line: f.line, rule: f.rule } },
    f.line > 0 ? el('a', { href: '#', class: 'where', onclick: (e) => { e.preventDefault(); ed.goTo(f.line); } }, `${f.line}:${f.col}`) : el('span', { class: 'where' }, '—'),
    badge(f.severity), ' ', el('code', {}, f.rule), ' ', f.message, f.hint ? el('div', { class: 'muted small' }, f.hint) : null))));
}

function showResults(node, r, broken) {
  const reqs = r.requests || [];
  const skipped = r.skipped || [];
  clear(node,
    reqs.map((q, i) => el('section', { class: 'panel pg-request', id: 'pg-request-' + i },
      el('h2', {}, q.name ? `${q.postback} · ${q.name}` : q.postback),
      el('pre', { class: 'pg-url' }, `${q.method} ${q.url}\n${headersText(q.headers)}${q.body ? '\n\n' + q.body : ''}`),
      (q.explain || []).length ? explainTable(q.explain) : null)),
    skipped.map((s) => el('section', { class: 'panel pg-skipped' }, el('h2', {}, `${s.postback} `, badge('skipped', 'warn')), el('p', { class: 'err' }, s.reason),
      (s.explain || []).length ? explainTable(s.explain) : null)),
    !reqs.length && !skipped.length ? el('div', { class: 'panel' }, empty(broken ? 'The spec has errors: fix the findings on the left to see its requests.'
      : 'This event selects no postback of the spec. Pick another event.')) : null);
}

function explainTable(list) {
  return el('table', { class: 'explain' }, el('thead', {}, el('tr', {}, ['Macro', 'Value', 'Branch', 'Source', 'From'].map((h) => el('th', {}, h)))),
    el('tbody', {}, list.map((m) => el('tr', {}, el('td', { class: 'mono' }, m.macro), el('td', { class: 'mono wrap' }, m.error ? el('span', { class: 'err' }, m.error) : m.value),
      el('td', { class: 'small' }, m.branch), el('td', { class: 'small' }, m.source), el('td', { class: 'small wrap' }, m.from)))));
}
