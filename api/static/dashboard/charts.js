// Small SVG charts, written for this dashboard. Every label is set with textContent: paths,
// variant names and reasons come from visitors or editors and are never parsed as HTML.

const SVG = 'http://www.w3.org/2000/svg';

export function el(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function svgEl(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function svg(width, height, label) {
  return svgEl('svg', {viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': label, class: 'svg'});
}

export function fmt(value, digits) {
  if (value === null || value === undefined || Number.isNaN(value)) return '–';
  if (typeof value !== 'number') return String(value);
  return value.toLocaleString('en', {maximumFractionDigits: digits === undefined ? 1 : digits});
}

export function pct(value) {
  return value === null || value === undefined ? '–' : `${(value * 100).toFixed(1)}%`;
}

// Horizontal bars: rows of {label, value, note}; bar lengths relative to the largest value.
export function bars(container, rows, label) {
  container.replaceChildren();
  if (!rows.length) { container.append(el('p', {class: 'empty'}, 'Nothing in this period yet.')); return; }
  const width = Math.max(360, container.clientWidth || 640), row = 26, height = rows.length * row + 4;
  const labelW = Math.min(220, width * 0.5);
  const chart = svg(width, height, label);
  const max = Math.max(1, ...rows.map((r) => r.value));
  rows.forEach((r, i) => {
    const y = i * row + 2, length = Math.max(1, (width - labelW - 70) * r.value / max);
    chart.append(svgEl('text', {x: labelW - 8, y: y + 16, 'text-anchor': 'end', class: 'label'}, r.label));
    chart.append(svgEl('rect', {x: labelW, y: y + 3, width: length, height: row - 8, rx: 3,
      class: 'bar ' + (r.kind || '')}));
    chart.append(svgEl('text', {x: labelW + length + 6, y: y + 16, class: 'value'},
      fmt(r.value, 2) + (r.note ? `  ${r.note}` : '')));
  });
  container.append(chart);
}

// Score histogram: bins of {from, to, sessions}; bins at or above the threshold are highlighted.
export function histogram(container, bins, threshold, label) {
  container.replaceChildren();
  const width = 640, height = 200, left = 36, bottom = 24, top = 8;
  const chart = svg(width, height, label);
  const max = Math.max(4, Math.ceil(Math.max(...bins.map((b) => b.sessions)) / 4) * 4);
  const barW = (width - left - 8) / bins.length;
  for (let t = 0; t <= 4; t++) {
    const y = top + (height - top - bottom) * (1 - t / 4);
    chart.append(svgEl('line', {x1: left, x2: width - 8, y1: y, y2: y, class: 'grid'}));
    chart.append(svgEl('text', {x: left - 6, y: y + 4, 'text-anchor': 'end', class: 'axis'}, fmt(max * t / 4, 0)));
  }
  bins.forEach((b, i) => {
    const h = (height - top - bottom) * b.sessions / max;
    const rect = svgEl('rect', {x: left + i * barW + 1, y: height - bottom - h, width: barW - 2, height: h,
      class: 'bar ' + (b.from >= threshold - 1e-9 ? 'on' : 'off')});
    rect.append(svgEl('title', {}, `${b.from.toFixed(2)}–${b.to.toFixed(2)}: ${b.sessions} sessions`));
    chart.append(rect);
    if (i % 4 === 0) {
      chart.append(svgEl('text', {x: left + i * barW, y: height - 6, class: 'axis'}, b.from.toFixed(1)));
    }
  });
  const x = left + (width - left - 8) * threshold;
  chart.append(svgEl('line', {x1: x, x2: x, y1: top, y2: height - bottom, class: 'threshold'}));
  container.append(chart);
}

// Lines: series of {name, kind, points: [[x, y]]}, the y axis from 0. By default x is a time (ms) and
// y a count. Options: width and height (of the viewBox: near the width it is shown at, text stays legible),
// xLabel(x) for the two x-axis labels, minSpan (the narrowest x range), yStep (the four grid steps are a
// multiple of it), yDigits for the y-axis labels, empty (what to say with no points).
const LINE_DEFAULTS = {
  xLabel: (t) => new Date(t).toLocaleString('en-GB', {hour: '2-digit', minute: '2-digit', day: 'numeric', month: 'short'}),
  width: 640, height: 180, minSpan: 60000, yStep: 1, yDigits: 0, empty: 'No samples in this period yet.',
};

export function lines(container, series, label, options) {
  const o = Object.assign({}, LINE_DEFAULTS, options || {});
  container.replaceChildren();
  const points = series.flatMap((s) => s.points);
  if (!points.length) { container.append(el('p', {class: 'empty'}, o.empty)); return; }
  const {width, height} = o, left = 36, bottom = 24, top = 8;
  const chart = svg(width, height, label);
  const x0 = Math.min(...points.map((p) => p[0])), x1 = Math.max(x0 + o.minSpan, ...points.map((p) => p[0]));
  const quarter = 4 * o.yStep;
  const max = Math.max(quarter, Math.ceil(Math.max(...points.map((p) => p[1])) / quarter - 1e-9) * quarter);
  const sx = (t) => left + (width - left - 8) * (t - x0) / (x1 - x0);
  const sy = (v) => top + (height - top - bottom) * (1 - v / max);
  for (let t = 0; t <= 4; t++) {
    chart.append(svgEl('line', {x1: left, x2: width - 8, y1: sy(max * t / 4), y2: sy(max * t / 4), class: 'grid'}));
    chart.append(svgEl('text', {x: left - 6, y: sy(max * t / 4) + 4, 'text-anchor': 'end', class: 'axis'},
      fmt(max * t / 4, o.yDigits)));
  }
  for (const t of [x0, x1]) {
    chart.append(svgEl('text', {x: sx(t), y: height - 6, 'text-anchor': t === x0 ? 'start' : 'end', class: 'axis'},
      o.xLabel(t)));
  }
  for (const s of series) {
    const d = s.points.map((p, i) => `${i ? 'L' : 'M'}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(' ');
    chart.append(svgEl('path', {d, class: 'line ' + s.kind}));
    for (const p of s.points.length === 1 ? s.points : []) {
      chart.append(svgEl('circle', {cx: sx(p[0]), cy: sy(p[1]), r: 3, class: 'dot ' + s.kind}));
    }
  }
  container.append(chart);
  const legend = el('p', {class: 'legend'});
  for (const s of series) legend.append(el('span', {class: 'key ' + s.kind}, s.name));
  container.append(legend);
}

// A difference with its confidence interval on a symmetric axis around zero.
export function interval(container, difference, ci, label) {
  const width = 320, height = 56, mid = width / 2;
  const chart = svg(width, height, label);
  const reach = Math.max(0.05, Math.abs(ci[0]), Math.abs(ci[1]));
  const sx = (v) => mid + (width / 2 - 16) * v / reach;
  chart.append(svgEl('line', {x1: 8, x2: width - 8, y1: 28, y2: 28, class: 'grid'}));
  chart.append(svgEl('line', {x1: mid, x2: mid, y1: 10, y2: 46, class: 'zero'}));
  chart.append(svgEl('line', {x1: sx(ci[0]), x2: sx(ci[1]), y1: 28, y2: 28, class: 'whisker'}));
  chart.append(svgEl('circle', {cx: sx(difference), cy: 28, r: 5, class: 'point'}));
  chart.append(svgEl('text', {x: mid, y: 8, 'text-anchor': 'middle', class: 'axis'}, 'no difference'));
  chart.append(svgEl('text', {x: 8, y: height - 2, class: 'axis'}, pct(-reach)));
  chart.append(svgEl('text', {x: width - 8, y: height - 2, 'text-anchor': 'end', class: 'axis'}, pct(reach)));
  container.append(chart);
}

// A table of rows; columns: [{key, title, format}].
export function table(container, rows, columns, caption) {
  container.replaceChildren();
  if (!rows.length) { container.append(el('p', {class: 'empty'}, 'Nothing in this period yet.')); return; }
  const t = el('table');
  if (caption) t.append(el('caption', {class: 'sr-only'}, caption));
  const head = el('tr');
  for (const c of columns) head.append(el('th', {scope: 'col'}, c.title));
  const thead = el('thead');
  thead.append(head);
  t.append(thead);
  const body = el('tbody');
  for (const r of rows) {
    const tr = el('tr');
    for (const c of columns) tr.append(el('td', c.numeric ? {class: 'num'} : {}, (c.format || fmt)(r[c.key])));
    body.append(tr);
  }
  t.append(body);
  container.append(t);
}
