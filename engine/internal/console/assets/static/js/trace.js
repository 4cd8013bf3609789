// Trace: everything one event did (GET /v1/apps/{app}/events/{id}/trace):
// every partner planned or skipped, every postback and its attempts.
import { get } from './api.js';
import { el, clear, loading, failure, empty, badge, num, pageHead, params, time, kv, field } from './ui.js';
import { attemptDetail, statusText } from './deliveries.js';

export async function render(root) {
  const p = params();
  const app = el('input', { type: 'text', value: p.app || '', required: true });
  const id = el('input', { type: 'text', class: 'wide', value: p.event_id || '', required: true });
  const form = el('form', { class: 'filters panel', id: 'trace-form', method: 'get', action: '/console/trace' },
    field('App', app), field('Event id', id), el('button', { type: 'submit', class: 'primary' }, 'Trace'));
  app.name = 'app';
  id.name = 'event_id';
  const body = el('div', {});
  clear(root, pageHead('Event trace', el('a', { href: '/console/deliveries' }, '← Deliveries')), form, body);
  if (!p.app || !p.event_id) { clear(body, empty('Enter an app and an event id, or follow an event link from Deliveries.')); return; }
  clear(body, loading());
  let tr;
  try { tr = await get(`/v1/apps/${encodeURIComponent(p.app)}/events/${encodeURIComponent(p.event_id)}/trace`); } catch (e) { clear(body, failure(e)); return; }
  const parts = tr.partners || [];
  clear(body, el('section', { class: 'panel', id: 'trace' },
    kv([['app', tr.app], ['event', tr.event_id], ['received', time(tr.received)], ['config version', tr.config_version]]),
    parts.length ? parts.map(partner) : empty('No partner was planned for this event.')));
}

function partner(p) {
  return el('div', { class: 'trace-partner', dataset: { partner: p.partner } },
    el('h2', {}, p.partner, ' ', badge(p.state), p.skip_reason ? el('span', { class: 'muted small' }, ` ${p.skip_class ? p.skip_class + ': ' : ''}${p.skip_reason}`) : null),
    (p.postbacks || []).map((pb) => el('div', { class: 'trace-postback', dataset: { postback: pb.postback_id || '' } },
      el('div', {}, el('strong', {}, pb.name || pb.postback), ' ', badge(pb.state), ' ', el('span', { class: 'mono muted' }, pb.postback_id || ''),
        pb.skip_reason ? el('div', { class: 'muted small' }, pb.skip_reason) : null),
      (pb.attempts || []).length ? el('table', { class: 'attempts' }, el('thead', {}, el('tr', {}, ['Time', 'Try', 'Status', 'Code', 'Latency', 'Error'].map((h) => el('th', {}, h)))),
        el('tbody', {}, (pb.attempts || []).flatMap((a) => {
          const d = el('tr', { class: 'detail', hidden: true }, el('td', { colspan: 6 }, attemptDetail(a)));
          return [el('tr', { class: 'row', tabindex: 0, onclick: () => { d.hidden = !d.hidden; }, onkeydown: (e) => { if (e.key === 'Enter') d.hidden = !d.hidden; } },
            el('td', {}, time(a.time)), el('td', { class: 'num' }, a.attempt), el('td', {}, badge(statusText(a))), el('td', { class: 'num' }, a.status_code || ''),
            el('td', { class: 'num' }, a.latency_ms !== undefined ? num(a.latency_ms, 1) + ' ms' : ''), el('td', { class: 'err' }, a.error || '')), d];
        }))) : el('p', { class: 'muted small' }, 'No attempt yet.'))));
}
