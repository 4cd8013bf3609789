// The console's one door to the gateway: same-origin fetches carrying the
// session cookie, and the session's CSRF token on every unsafe request.
let session = null;

export class APIError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

export async function loadSession() {
  const r = await fetch('/console/session', { credentials: 'same-origin', cache: 'no-store' });
  if (r.status === 401 || r.status === 403) { toLogin(); throw new APIError(r.status, 'not logged in'); }
  if (!r.ok) throw new APIError(r.status, 'cannot read the session');
  session = await r.json();
  return session;
}

export function canChange() { return session !== null && session.role === 'admin'; }

function toLogin() {
  location.assign('/console/login?next=' + encodeURIComponent(location.pathname + location.search));
}

async function call(method, path, { params, body, signal } = {}) {
  let url = path;
  if (params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
    const s = q.toString();
    if (s) url += '?' + s;
  }
  const headers = { 'Accept': 'application/json' };
  if (method !== 'GET') {
    headers['X-CSRF-Token'] = session ? session.csrf_token : '';
    if (body !== undefined) headers['Content-Type'] = 'application/json';
  }
  let r;
  try {
    r = await fetch(url, { method, headers, signal, credentials: 'same-origin', cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new APIError(0, 'the gateway did not answer: ' + e.message);
  }
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (r.status === 401) { toLogin(); throw new APIError(401, 'session ended: log in again'); }
  if (!r.ok) throw new APIError(r.status, (data && data.error) || `${r.status} ${r.statusText}`);
  return data;
}

export const get = (path, params, signal) => call('GET', path, { params, signal });
export const post = (path, body, signal) => call('POST', path, { body, signal });

export async function logout() {
  try { await call('POST', '/console/logout', {}); } catch { /* the cookie is cleared either way */ }
  location.assign('/console/login');
}
