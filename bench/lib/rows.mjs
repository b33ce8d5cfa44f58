// Turns raw results into the rows of the report: one row per measurement and environment
// variant, with a cell per runtime, hako's ratio to the reference and the target, and with a
// baseline build in the run, hako's ratio to it.
import { BASELINE } from './baseline.mjs';
import { BARE } from './wasm.mjs';
import { summarize } from './stats.mjs';

export const COLUMNS = ['runc', 'crun', 'hako'];

/**
 * The report's runtime columns, [{ name, label }]: runc, crun and hako always (a cell says when
 * one is missing), then the baseline build when the run has one.
 */
export function columnsOf(runtimes) {
  const columns = COLUMNS.map((name) => ({ name, label: name }));
  const baseline = runtimes.find((r) => r.name === BASELINE);
  if (baseline) columns.push({ name: BASELINE, label: baseline.label ?? BASELINE });
  return columns;
}

/** Each timing cell keeps its summary so the chart and the notes can use the numbers. */
export function buildRows({ results, variants, runtimes, concurrency }) {
  const rows = [];
  const columns = columnsOf(runtimes);
  for (const variant of variants) {
    const v = variant.name;
    const timing = (key, label, cells, target, reference = 'runc') =>
      rows.push(timingRow({ key, label, variant, cells, target, reference, runtimes, columns }));
    timing('a', `a. create + start + delete \`true\``, results.lifecycle?.[v],
      { max: 1.0, text: '≤ 1.0x runc' });
    timing('b', 'b. run `echo hi` to exit + delete', results.run?.[v],
      { max: 1.0, text: '≤ 1.0x runc (lifecycle)' });
    timing('c', 'c. exec `true` into a running container', results.exec?.[v],
      { max: 1.0, text: '≤ 1.0x runc' });
    rows.push(floorRow(variant, results.floor?.[v], runtimes, columns));
    rows.push(rssRow(variant, results.rss?.[v], runtimes, columns));
    for (const n of concurrency) {
      const target = n === Math.max(...concurrency) ? { max: 1.0, text: '≤ runc wall time' }
        : { text: '—' };
      timing(`f${n}`, `f. ${n} concurrent \`run true\`, wall time`, results.concurrent?.[n]?.[v],
        target);
    }
    timing('g', 'g. wasm hello, `run` to exit', results.wasm?.[v],
      { max: 1.3, text: '≤ 1.3x bare node:wasi' }, BARE);
  }
  for (const row of rows) compareBaseline(row);
  return rows;
}

function timingRow({ key, label, variant, cells, target, reference, runtimes, columns }) {
  const row = { key, label, variant: variant.name, kind: 'timing', columns, cells: {}, target };
  for (const { name } of columns) row.cells[name] = timingCell(cells?.[name], name, runtimes, key);
  if (reference === BARE) {
    row.reference = { name: BARE, cell: timingCell(cells?.[BARE], BARE, runtimes, key) };
  }
  const ref = (row.reference?.cell ?? row.cells.runc).summary;
  const hako = row.cells.hako.summary;
  finishRatio(row, hako && ref ? hako.median / ref.median : undefined, reference);
  return row;
}

function timingCell(cell, name, runtimes, key) {
  const runtime = runtimes.find((r) => r.name === name);
  if (runtime?.broken) return { text: runtime.broken };
  if (key === 'g' && ![BARE, 'hako', BASELINE].includes(name) && !cell) {
    return { text: 'n/a: no wasm handler' };
  }
  if (!cell) return { text: 'not measured' };
  const summary = summarize(cell.samples);
  if (!summary) {
    const plain = cell.notImplemented || /^not available/.test(cell.error);
    return { text: plain ? cell.error : `error: ${cell.error}` };
  }
  const failed = cell.fails ? `, ${cell.fails} failed` : '';
  return {
    summary,
    parts: cell.parts,
    error: cell.error,
    text: `${ms(summary.median)} (${ms(summary.min)}–${ms(summary.max)},` +
      ` n=${summary.n}${failed})`,
  };
}

function floorRow(variant, cells, runtimes, columns) {
  const row = {
    key: 'd', label: 'd. memory floor: smallest limit where `echo work` works',
    variant: variant.name, kind: 'floor', columns, cells: {}, target: { max: 1, text: '1 MB' },
  };
  for (const { name } of columns) {
    const runtime = runtimes.find((r) => r.name === name);
    const cell = cells?.[name];
    if (runtime?.broken) row.cells[name] = { text: runtime.broken };
    else if (!cell) row.cells[name] = { text: 'not measured' };
    else if (cell.floorMb === undefined) row.cells[name] = { text: cell.error, detail: cell };
    else row.cells[name] = { value: cell.floorMb, text: `${cell.floorMb} MB`, detail: cell };
  }
  const hako = row.cells.hako.value;
  const runc = row.cells.runc.value;
  finishRatio(row, hako && runc ? hako / runc : undefined, 'runc', hako);
  return row;
}

function rssRow(variant, cells, runtimes, columns) {
  const row = {
    key: 'e', label: 'e. RSS of a created, not started container (init + runtime helpers)',
    variant: variant.name, kind: 'rss', columns, cells: {}, target: { max: 1, text: '≤ 1 MB' },
  };
  for (const { name } of columns) {
    const runtime = runtimes.find((r) => r.name === name);
    const cell = cells?.[name];
    if (runtime?.broken) row.cells[name] = { text: runtime.broken };
    else if (!cell) row.cells[name] = { text: 'not measured' };
    else if (cell.samplesKb.length === 0) row.cells[name] = { text: `error: ${cell.error}` };
    else {
      const kb = summarize(cell.samplesKb).median;
      const who = cell.processes.map((p) => p.name).join(' + ');
      row.cells[name] = { value: kb / 1024, text: `${mb(kb)} (${who})`, detail: cell };
    }
  }
  const hako = row.cells.hako.value;
  const runc = row.cells.runc.value;
  finishRatio(row, hako && runc ? hako / runc : undefined, 'runc', hako);
  return row;
}

/**
 * Sets the ratio text and whether the target is met: against the ratio, or for the memory rows
 * against hako's own value in MB (`absolute`).
 */
function finishRatio(row, ratio, reference, absolute) {
  row.ratio = ratio;
  const suffix = reference === BARE ? ' bare' : '';
  row.ratioText = ratio === undefined ? '—' : `${ratio.toFixed(2)}x${suffix}`;
  const measured = absolute ?? ratio;
  if (row.target.max === undefined || measured === undefined) return;
  row.met = measured <= row.target.max + 1e-9;
}

/**
 * hako over the baseline build: medians for timings, values for the memory rows. Without a
 * baseline in the run the row gets no such fields; with one, '—' when either side has no number.
 */
function compareBaseline(row) {
  const baseline = row.cells[BASELINE];
  if (!baseline) return;
  const number = (cell) => cell.summary?.median ?? cell.value;
  const hako = number(row.cells.hako);
  const base = number(baseline);
  row.baselineRatio = hako !== undefined && base ? hako / base : undefined;
  row.baselineText = row.baselineRatio === undefined ? '—' : `${row.baselineRatio.toFixed(2)}x`;
}

export function ms(value) {
  return value >= 100 ? `${value.toFixed(0)} ms` : `${value.toFixed(1)} ms`;
}

export function mb(kb) {
  return `${(kb / 1024).toFixed(2)} MB`;
}
