// Small DOM helpers: elements, times, badges and the loading, empty and
// error states every page shows the same way.
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

export function clear(node, ...children) { node.replaceChildren(...children.flat().filter(Boolean)); return node; }

export const loading = (what = 'Loading…') => el('p', { class: 'state loading', role: 'status' }, what);
export const empty = (what) => el('p', { class: 'state empty' }, what);
export const failure = (err) => el('p', { class: 'state error', role: 'alert' }, 'Error: ' + (err && err.message ? err.message : String(err)));

// time shows an RFC 3339 time in local time, with UTC on hover.
export function time(iso) {
  if (!iso || iso.startsWith('0001-')) return el('span', { class: 'muted' }, '—');
  const d = new Date(iso);
  if (isNaN(d)) return el('span', {}, iso);
  return el('time', { datetime: d.toISOString(), title: d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') + ' (UTC)' }, fmtLocal(d));
}

// fmtLocal is short when it can be: today's times show the clock only.
export function fmtLocal(d) {
  const p = (n) => String(n).padStart(2, '0');
  const clock = `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  const now = new Date();
  if (d.getFullYear() === now.getFullYear() && d.getMonth() === now.getMonth() && d.getDate() === now.getDate()) return clock;
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${clock}`;
}

// localInput converts a datetime-local value to RFC 3339 UTC.
export function localInput(v) { return v ? new Date(v).toISOString().replace(/\.\d+Z$/, 'Z') : ''; }

const tone = {
  delivered: 'ok', closed: 'ok', healthy: 'ok', planned: 'ok', '2xx': 'ok',
  retry: 'warn', retrying: 'warn', 'half-open': 'warn', delayed: 'warn', queued: 'info', paused: 'warn', warning: 'warn',
  dead: 'bad', open: 'bad', failing: 'bad', error: 'bad', '4xx': 'bad', '5xx': 'bad',
};
export function badge(text, t) { return el('span', { class: 'badge ' + (t || tone[text] || '') }, text); }

export function num(n, digits = 0) {
  if (n === undefined || n === null || Number.isNaN(n)) return '—';
  return Number(n).toLocaleString(undefined, { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

export function pct(r) { return r === undefined || r === null ? '—' : (r * 100).toFixed(r >= 0.9995 || r === 0 ? 0 : 1) + '%'; }

// kv renders a definition list of the non-empty pairs.
export function kv(pairs) {
  const dl = el('dl', { class: 'kv' });
  for (const [k, v] of pairs) {
    if (v === undefined || v === null || v === '') continue;
    dl.append(el('dt', {}, k), el('dd', {}, v));
  }
  return dl;
}

export function headersText(h) {
  if (!h) return '';
  return Object.entries(h).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : v}`).join('\n');
}

// field is a labelled input for a filter form.
export function field(label, input) {
  if (!input.id) input.id = 'f-' + label.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  return el('div', { class: 'field' }, el('label', { for: input.id }, label), input);
}

// changeButton is a button that changes something: disabled, with a
// note why, in a read-only session.
export function changeButton(label, attrs, canChange) {
  const b = el('button', Object.assign({ type: 'button' }, attrs), label);
  if (!canChange) { b.disabled = true; b.title = 'read-only session'; }
  return b;
}

export function pageHead(title, ...right) {
  return el('div', { class: 'page-head' }, el('h1', {}, title), el('div', {}, ...right));
}

// params reads the page's query parameters.
export function params() { return Object.fromEntries(new URLSearchParams(location.search)); }

// setParams records the filters in the address so a view can be shared.
export function setParams(p) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(p)) if (v) q.set(k, v);
  const s = q.toString();
  history.replaceState(null, '', location.pathname + (s ? '?' + s : ''));
}

// dur shortens a Go duration string: 24h0m0s is 24h, 1m30s stays.
export function dur(d) {
  if (!d) return '—';
  return String(d).replace(/(\d)h0m0s$/, '$1h').replace(/(\d)m0s$/, '$1m');
}
