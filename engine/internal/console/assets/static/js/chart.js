// SVG line and bar charts: enough for the overview's time series and
// per-partner comparisons, drawn with the DOM (no inline styles: colours
// come from the stylesheet's c0..c7 classes).
const NS = 'http://www.w3.org/2000/svg';

function svg(tag, attrs = {}, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

// scale picks a y axis for values up to max: a step of 1, 2 or 5 times a
// power of ten giving three to five gridlines, and the top as a whole
// number of steps.
function scale(max) {
  if (!(max > 0)) return { top: 1, ticks: 4 };
  const rough = max / 4;
  const p = Math.pow(10, Math.floor(Math.log10(rough)));
  let step = 10 * p;
  for (const m of [1, 2, 5]) if (rough <= m * p) { step = m * p; break; }
  const ticks = Math.max(1, Math.ceil(max / step - 1e-9));
  return { top: ticks * step, ticks };
}

function timeLabel(ms, spanMs) {
  const d = new Date(ms);
  const p = (n) => String(n).padStart(2, '0');
  return spanMs > 26 * 3600e3 ? `${d.getMonth() + 1}/${d.getDate()} ${p(d.getHours())}h` : `${p(d.getHours())}:${p(d.getMinutes())}`;
}

function legend(series, note) {
  const l = document.createElement('div');
  l.className = 'legend';
  series.forEach((s, i) => {
    if (s.noLegend) return;
    const item = document.createElement('span');
    const sw = document.createElement('span');
    sw.className = 'sw c' + ((s.color ?? i) % 8);
    item.append(sw, s.name);
    l.append(item);
  });
  if (note) {
    const n = document.createElement('span');
    n.className = 'muted';
    n.textContent = note;
    l.append(n);
  }
  return l;
}

function frame(width, height, pad, yMax, yFmt, ticks = 4) {
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img' });
  for (let i = 0; i <= ticks; i++) {
    const y = pad.t + (height - pad.t - pad.b) * (1 - i / ticks);
    root.append(svg('line', { class: i === 0 ? 'axis' : 'grid-line', x1: pad.l, x2: width - pad.r, y1: y, y2: y }));
    root.append(svg('text', { x: pad.l - 6, y: y + 3, 'text-anchor': 'end' }, yFmt((yMax * i) / ticks)));
  }
  return root;
}

// lineChart draws series of {t (ms), v (number or null)} points over
// [from, to]; a null leaves a gap.
export function lineChart({ series, from, to, yFmt = (v) => String(Math.round(v * 100) / 100), height = 170, width = 560, title, note }) {
  const pad = { l: 46, r: 10, t: 10, b: 22 };
  let max = 0;
  for (const s of series) for (const p of s.values) if (p.v !== null && p.v > max) max = p.v;
  const { top: yMax, ticks } = scale(max);
  const root = frame(width, height, pad, yMax, yFmt, ticks);
  if (title) root.setAttribute('aria-label', title);
  const span = Math.max(1, to - from);
  const x = (t) => pad.l + ((t - from) / span) * (width - pad.l - pad.r);
  const y = (v) => pad.t + (height - pad.t - pad.b) * (1 - v / yMax);
  for (let i = 0; i <= 4; i++) {
    const t = from + (span * i) / 4;
    root.append(svg('text', { x: x(t), y: height - 6, 'text-anchor': i === 0 ? 'start' : i === 4 ? 'end' : 'middle' }, timeLabel(t, span)));
  }
  series.forEach((s, i) => {
    let d = '';
    let pen = false;
    for (const p of s.values) {
      if (p.v === null || p.v === undefined) { pen = false; continue; }
      d += (pen ? 'L' : 'M') + x(p.t).toFixed(1) + ' ' + y(p.v).toFixed(1) + ' ';
      pen = true;
    }
    const cls = 'line c' + ((s.color ?? i) % 8) + (s.dashed ? ' dashed' : '');
    if (d) root.append(svg('path', { class: cls, d, fill: 'none' }));
    const pts = s.values.filter((p) => p.v !== null && p.v !== undefined);
    if (pts.length === 1) root.append(svg('circle', { class: 'c' + ((s.color ?? i) % 8), cx: x(pts[0].t), cy: y(pts[0].v), r: 2.5 }));
  });
  const box = document.createElement('div');
  box.className = 'chart';
  box.append(root, legend(series, note));
  return box;
}

// barChart draws one bar per {label, v}, on a 0..max scale.
export function barChart({ bars, yFmt = (v) => String(v), max, height = 170, width = 560, title }) {
  const pad = { l: 46, r: 10, t: 10, b: 34 };
  const sc = max ? { top: max, ticks: 4 } : scale(Math.max(0, ...bars.map((b) => b.v ?? 0)));
  const yMax = sc.top;
  const root = frame(width, height, pad, yMax, yFmt, sc.ticks);
  if (title) root.setAttribute('aria-label', title);
  const slot = (width - pad.l - pad.r) / Math.max(1, bars.length);
  const bw = Math.min(48, slot * 0.6);
  bars.forEach((b, i) => {
    const cx = pad.l + slot * (i + 0.5);
    const v = b.v ?? 0;
    const h = (height - pad.t - pad.b) * (v / yMax);
    const rect = svg('rect', { class: 'c' + ((b.color ?? i) % 8), x: cx - bw / 2, y: height - pad.b - h, width: bw, height: Math.max(0, h) });
    rect.append(svg('title', {}, `${b.label}: ${yFmt(v)}`));
    root.append(rect);
    root.append(svg('text', { x: cx, y: height - pad.b - h - 3, 'text-anchor': 'middle' }, b.v === null || b.v === undefined ? '—' : yFmt(v)));
    const lab = b.label.length > 18 ? b.label.slice(0, 17) + '…' : b.label;
    root.append(svg('text', { x: cx, y: height - pad.b + 14, 'text-anchor': 'middle' }, lab));
  });
  const box = document.createElement('div');
  box.className = 'chart';
  box.append(root);
  return box;
}
