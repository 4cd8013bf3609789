// The console's shell: loads the session, marks the current page in the
// navigation, wires logout, and draws the page the address names.
import { loadSession, canChange, logout } from './api.js';
import { clear, failure, loading, el } from './ui.js';

const pages = {
  overview: () => import('./overview.js'),
  partners: () => import('./partners.js'),
  deliveries: () => import('./deliveries.js'),
  trace: () => import('./trace.js'),
  deadletters: () => import('./deadletters.js'),
  playground: () => import('./playground.js'),
};

async function start() {
  const main = document.getElementById('main');
  document.getElementById('logout').addEventListener('click', logout);
  let sess;
  try {
    sess = await loadSession();
  } catch (e) {
    clear(main, failure(e));
    return;
  }
  const role = document.getElementById('role');
  role.textContent = sess.role;
  role.classList.add(sess.role === 'admin' ? 'info' : 'warn');
  let name = location.pathname.replace(/^\/console\/?/, '').replace(/\/$/, '') || 'overview';
  if (!pages[name]) name = 'overview';
  const navName = name === 'trace' ? 'deliveries' : name;
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.dataset.page === navName);
  document.body.dataset.page = name;
  clear(main, loading());
  try {
    const mod = await pages[name]();
    const body = el('div', {});
    if (!canChange()) body.append(el('p', { class: 'read-only-note' }, 'Read-only session: you can look at everything, but changes are disabled.'));
    const content = el('div', {});
    body.append(content);
    clear(main, body);
    await mod.render(content, { canChange: canChange() });
  } catch (e) {
    clear(main, failure(e));
  }
}

start();
