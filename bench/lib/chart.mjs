// A horizontal bar chart of the timing rows as hand-written SVG. The rows span three orders of
// magnitude (an exec against 50 concurrent runs), so the axis is logarithmic.
import { BASELINE } from './baseline.mjs';
import { columnsOfRows, orderedRows } from './report.mjs';
import { ms } from './rows.mjs';
import { BARE } from './wasm.mjs';

const COLORS = {
  runc: '#4e79a7', crun: '#59a14f', hako: '#e15759', [BASELINE]: '#f1a340', [BARE]: '#9c755f',
};
const BAR = 13;
const GAP = 3;
const GROUP_GAP = 14;
const LEFT = 330;
const PLOT = 520;
const RIGHT = 90;
const TOP = 58;
/** Room for the two lines of a group's label. */
const MIN_GROUP = 28;

export function svgChart(rows, title) {
  const groups = orderedRows(rows)
    .filter((row) => row.kind === 'timing')
    .map((row) => ({ row, bars: barsOf(row) }))
    .filter((g) => g.bars.length > 0);
  const values = groups.flatMap((g) => g.bars.map((b) => b.value ?? 0));
  const top = 10 ** Math.ceil(Math.log10(Math.max(10, ...values)));
  const bottom = 1;
  const decades = Math.log10(top / bottom);
  const x = (v) => LEFT + (PLOT * Math.log10(Math.max(v, bottom) / bottom)) / decades;

  const parts = [];
  let y = TOP;
  for (const { row, bars } of groups) {
    const height = Math.max(bars.length * (BAR + GAP) - GAP, MIN_GROUP);
    const start = y;
    const label = `${row.label.replace(/`/g, '')}`;
    parts.push(text(LEFT - 8, y + height / 2 - 2, truncate(label, 52), 'end', 11));
    parts.push(text(LEFT - 8, y + height / 2 + 11, `NODE_EXTRA_CA_CERTS ${row.variant}`, 'end', 9,
      '#666'));
    for (const bar of bars) {
      if (bar.note) {
        const note = `${bar.name}: ${truncate(bar.note, 70)}`;
        parts.push(text(LEFT + 4, y + BAR - 3, note, 'start', 10, COLORS[bar.name]));
        y += BAR + GAP;
        continue;
      }
      const width = Math.max(1, x(bar.value) - LEFT);
      parts.push(`<rect x="${LEFT}" y="${y}" width="${width.toFixed(1)}" height="${BAR}" ` +
        `fill="${COLORS[bar.name]}"><title>${esc(`${bar.name}: ${ms(bar.value)}`)}</title></rect>`);
      parts.push(text(LEFT + width + 4, y + BAR - 3, `${bar.name} ${ms(bar.value)}`, 'start', 10));
      y += BAR + GAP;
    }
    y = start + height + GROUP_GAP;
  }

  const height = y + 30;
  const width = LEFT + PLOT + RIGHT;
  const axis = [];
  for (let v = bottom; v <= top; v *= 10) {
    const px = x(v).toFixed(1);
    axis.push(`<line x1="${px}" y1="${TOP - 6}" x2="${px}" y2="${y}" stroke="#ddd"/>`);
    axis.push(text(Number(px), y + 14, v >= 1000 ? `${v / 1000} s` : `${v} ms`, 'middle', 10));
  }
  const legend = legendOf([...columnsOfRows(rows), { name: BARE, label: 'node:wasi bare' }]);

  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
      `viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    text(10, 20, title, 'start', 14, '#000', 'bold'),
    ...legend,
    ...axis,
    ...parts,
    text(LEFT + PLOT / 2, height - 4, 'median wall time, logarithmic scale', 'middle', 10, '#666'),
    '</svg>',
    '',
  ].join('\n');
}

/** One swatch per column, each as wide as its label needs (the baseline's names its commit). */
function legendOf(columns) {
  const parts = [];
  let x = LEFT;
  for (const { name, label } of columns) {
    parts.push(`<rect x="${x}" y="30" width="12" height="12" fill="${COLORS[name]}"/>` +
      text(x + 16, 40, label, 'start', 11));
    x += Math.max(80, 16 + label.length * 6.5 + 14);
  }
  return parts;
}

function barsOf(row) {
  const bars = [];
  if (row.reference?.cell.summary) {
    bars.push({ name: BARE, value: row.reference.cell.summary.median });
  }
  for (const { name } of row.columns) {
    const cell = row.cells[name];
    if (cell.summary) bars.push({ name, value: cell.summary.median });
    else if (!/^(n\/a|not installed|not measured)/.test(cell.text)) {
      bars.push({ name, note: cell.text });
    }
  }
  return bars;
}

function text(x, y, content, anchor, size, fill = '#222', weight = 'normal') {
  return `<text x="${Number(x).toFixed(1)}" y="${Number(y).toFixed(1)}" text-anchor="${anchor}" ` +
    `font-size="${size}" font-weight="${weight}" fill="${fill}">${esc(content)}</text>`;
}

function truncate(value, max) {
  return value.length > max ? `${value.slice(0, max - 1)}…` : value;
}

function esc(value) {
  return String(value).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
