// The markdown report and the plain-text table printed at the end of a run.
import { BASELINE } from './baseline.mjs';
import { COLUMNS, mb, ms } from './rows.mjs';
import { summarize } from './stats.mjs';
import { BARE } from './wasm.mjs';

const ORDER = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
const VARIANT_TEXT = { unset: 'unset', set: 'set' };

/** Rows grouped by measurement, the variants of one measurement next to each other. */
export function orderedRows(rows) {
  const rank = (row) => ORDER.indexOf(row.key[0]) * 1000 + Number(row.key.slice(1) || 0);
  return rows
    .map((row, i) => ({ row, i }))
    .sort((x, y) => rank(x.row) - rank(y.row) || x.i - y.i)
    .map(({ row }) => row);
}

function ratioCell(row) {
  const met = row.met === undefined ? '' : row.met ? ' ✓' : ' ✗';
  if (row.reference) {
    return `${row.ratioText}${met} (node:wasi bare: ${row.reference.cell.text})`;
  }
  return `${row.ratioText}${met}`;
}

function cellText(row, name) {
  return row.cells[name].text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** The runtime columns of the rows ([{ name, label }]), the same in every row of a run. */
export function columnsOfRows(rows) {
  return rows[0]?.columns ?? COLUMNS.map((name) => ({ name, label: name }));
}

function hasBaseline(rows) {
  return columnsOfRows(rows).some((c) => c.name === BASELINE);
}

export function markdownTable(rows) {
  const columns = columnsOfRows(rows);
  const baseline = hasBaseline(rows);
  const head = ['measurement', 'NODE_EXTRA_CA_CERTS', ...columns.map((c) => c.label),
    'hako / runc', ...(baseline ? ['hako / baseline'] : []), 'target'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const row of orderedRows(rows)) {
    lines.push(`| ${[row.label, VARIANT_TEXT[row.variant] ?? row.variant,
      ...columns.map((c) => cellText(row, c.name)), ratioCell(row),
      ...(baseline ? [row.baselineText] : []), row.target.text].join(' | ')} |`);
  }
  return lines.join('\n');
}

/** The table for the terminal: one block per row, so long cells do not wrap into a mess. */
export function textTable(rows) {
  const columns = columnsOfRows(rows);
  const width = Math.max(6, ...columns.map((c) => c.label.length));
  const out = [];
  for (const row of orderedRows(rows)) {
    out.push(`${row.label} [NODE_EXTRA_CA_CERTS ${row.variant}]`);
    for (const c of columns) out.push(`    ${c.label.padEnd(width)} ${row.cells[c.name].text}`);
    out.push(`    ${'ratio'.padEnd(width)} ${ratioCell(row)}   target ${row.target.text}`);
    if (row.baselineText) {
      out.push(`    ${'hako / baseline'.padEnd(width)} ${row.baselineText}`);
    }
  }
  return out.join('\n');
}

export function markdownReport({ machine, rows, config, extras }) {
  const m = machine;
  const lines = [
    '# hako benchmark',
    '',
    `Run ${m.date} by \`npm run bench\` (bench/run.mjs), hako at commit ${m.hakoCommit}` +
      (m.baselineCommit ? `, baseline hako at commit ${m.baselineCommit}.` : '.'),
    '',
    '## Machine',
    '',
    `- kernel: ${m.kernel}${m.os ? ` (${m.os})` : ''}`,
    `- CPU: ${m.cpu}, ${m.cores} cores; memory ${m.memory}`,
    `- node ${m.node}`,
    ...m.runtimes.map((r) => `- ${r.name}: ${r.version}${r.bin ? ` (${r.bin})` : ''}`),
    `- cgroups: ${m.cgroups}`,
    `- load average: ${m.load}; the machine is shared, other jobs may have run meanwhile`,
    '',
    '## Results',
    '',
    'Timings are median (min–max, n = samples) wall time of the runtime invocations, spawned',
    'from Node with stdout and stderr to files. ✓/✗: target met or missed. Each measurement',
    'ran with NODE_EXTRA_CA_CERTS unset and set in the environment of the runtime invocations.',
    '',
    markdownTable(rows),
    '',
    '![timings](latest.svg)',
    '',
    ...baselineNotes(rows),
    ...caNotes(rows, extras),
    ...methodNotes(config, extras),
    ...breakdownNotes(rows),
    ...memoryNotes(rows),
    ...errorNotes(rows, extras),
  ];
  return `${lines.join('\n')}\n`;
}

/** hako minus the baseline build, per timing row: what an A/B of two builds is read from. */
export function baselineNotes(rows) {
  const column = columnsOfRows(rows).find((c) => c.name === BASELINE);
  if (!column) return [];
  const lines = ['## hako against the baseline', '',
    `hako minus ${column.label}, both timed in the same interleaved rounds: median (and`,
    'minimum, which is less sensitive to other jobs on the machine), and the ratio of the medians:',
    ''];
  for (const row of orderedRows(rows).filter((r) => r.kind === 'timing')) {
    const hako = row.cells.hako.summary;
    const base = row.cells[BASELINE].summary;
    if (!hako || !base) continue;
    lines.push(`- ${row.label}, CA ${row.variant}: ${signed(hako.median - base.median)}` +
      ` (${signed(hako.min - base.min)}), ${row.baselineText}`);
  }
  lines.push('');
  return lines;
}

function caNotes(rows) {
  const lines = ['## NODE_EXTRA_CA_CERTS', ''];
  lines.push('With the variable set minus with it unset, median (and minimum, which is less',
    'sensitive to other jobs on the machine):', '');
  for (const key of ['a', 'b', 'c', 'g']) {
    const unset = rows.find((r) => r.key === key && r.variant === 'unset');
    const set = rows.find((r) => r.key === key && r.variant === 'set');
    if (!unset || !set) continue;
    const columns = [...unset.columns, ...(unset.reference ? [{ name: BARE, label: BARE }] : [])];
    const diffs = columns.map(({ name, label }) => {
      const a = name === BARE ? unset.reference.cell.summary : unset.cells[name].summary;
      const b = name === BARE ? set.reference.cell.summary : set.cells[name].summary;
      if (!a || !b) return undefined;
      return `${label} ${signed(b.median - a.median)} (${signed(b.min - a.min)})`;
    }).filter(Boolean);
    if (diffs.length > 0) lines.push(`- ${unset.label}: ${diffs.join(', ')}`);
  }
  lines.push('',
    'runc and crun are Go and C programs: the variable means nothing to them, so their',
    'difference is noise. hako\'s launcher (bin/hako) unsets it before starting Node, so',
    'hako\'s difference should be equally small; the bare node:wasi baseline does not unset it',
    'and shows what the variable costs a Node start on this machine.', '');
  return lines;
}

function signed(value) {
  if (Math.abs(value) < 0.05) return '±0.0 ms';
  return `${value >= 0 ? '+' : '−'}${ms(Math.abs(value))}`;
}

function methodNotes(config, extras) {
  const wrapper = extras.crunWrapper ? summarize(extras.crunWrapper) : undefined;
  return [
    '## How it was measured',
    '',
    `- Rounds: ${config.rounds} for a and b, ${config.execRounds} for c,` +
      ` ${config.wasmRounds} for g,`,
    `  each after ${config.warmup} uncounted warm-up rounds; f repeated ${config.concurrentReps}`,
    '  times. Round i visits the runtimes in an order rotated by i and alternates the',
    '  NODE_EXTRA_CA_CERTS variants, so drift on the shared machine spreads over all columns.',
    ...(config.baseline ? [
      `- Baseline: a second hako build (BENCH_HAKO_BASELINE=${config.baseline}), one more`,
      '  runtime in every measurement (the memory ones too), visited in the same rounds.',
    ] : []),
    '- Bundles: one busybox-static rootfs (scripts/make-rootfs.mjs), read-only and shared; a',
    `  config.json per container from \`${config.templateSource} spec\` with terminal false,`,
    `  the args of the measurement and linux.cgroupsPath /${config.cgroupParent}/<id>.`,
    '  Each runtime has its own --root under a temporary directory.',
    '- a: `create`, `start`, `delete --force` (the sum of the three invocations; `--force`',
    '  because `true` may not have exited when `start` returns). b: `run` (foreground, checks',
    '  that `hi` was printed) plus `delete --force`, which is a no-op after runc and hako,',
    '  whose `run` deletes the container itself.',
    '- c: one `sleep 1000` container per runtime and variant, then `exec <id> true` each round.',
    '- d: `run` of `echo work` with linux.resources.memory.limit 1, 2, 4, 8, 16, 32 MB',
    `  (memory.swap equal to the limit off cgroup v2), smallest limit that printed \`work\`.`,
    '- e: `create` of `sleep 1000`; VmRSS from /proc/<pid>/status of the pid in `state`, its',
    '  descendants and the ancestors that appeared with it (the runtime\'s helpers), 200 ms',
    '  after `create` returned; median of 3 containers.',
    '- f: N `run` of `true` spawned at once (foreground runs, each deleting its container);',
    '  wall time from the first spawn to the last exit; median over the repetitions.',
    '- g: hako `run` of /hello.wasm (test/fixtures/wasm/hello.wat compiled with wabt) with the',
    '  annotation run.oci.handler=wasm, against `node --no-warnings bench/wasi-hello.mjs',
    '  hello.wasm` (node:wasi preview1) outside any container. Both print "hello from wasm".',
    `- crun: ${extras.crunMode}` +
      (wrapper ? ` The wrapper alone (with \`true\` instead of crun) takes ${ms(wrapper.median)}` +
        ` (${ms(wrapper.min)}–${ms(wrapper.max)}), included in every crun figure.` : ''),
    '',
  ];
}

function breakdownNotes(rows) {
  const lines = ['## Steps', ''];
  for (const row of orderedRows(rows).filter((r) => r.key === 'a' || r.key === 'b')) {
    const parts = row.columns.map(({ name, label }) => {
      const cell = row.cells[name];
      if (!cell.parts) return undefined;
      const steps = Object.entries(cell.parts)
        .map(([step, samples]) => `${step} ${ms(summarize(samples).median)}`);
      return `${label}: ${steps.join(', ')}`;
    }).filter(Boolean);
    if (parts.length) lines.push(`- ${row.label}, CA ${row.variant}: ${parts.join('; ')}`);
  }
  lines.push('');
  return lines;
}

function memoryNotes(rows) {
  const lines = ['## Memory details', ''];
  for (const row of orderedRows(rows).filter((r) => r.key === 'd')) {
    for (const { name, label } of row.columns) {
      for (const b of row.cells[name].detail?.below ?? []) {
        lines.push(`- d, ${label}, CA ${row.variant}, ${b.mb} MB: ${b.why}`);
      }
    }
  }
  for (const row of orderedRows(rows).filter((r) => r.key === 'e')) {
    for (const { name, label } of row.columns) {
      const detail = row.cells[name].detail;
      if (!detail) continue;
      const procs = detail.processes.map((p) => `${p.name} ${mb(p.rssKb)}`).join(', ');
      const samples = detail.samplesKb.map((kb) => mb(kb)).join(', ');
      lines.push(`- e, ${label}, CA ${row.variant}: containers ${samples}; the last: ${procs}`);
    }
  }
  lines.push('');
  return lines;
}

function errorNotes(rows, extras) {
  const lines = [];
  for (const row of orderedRows(rows)) {
    for (const { name, label } of row.columns) {
      const cell = row.cells[name];
      if (cell.summary && cell.error) {
        const where = `${row.label}, ${label}, CA ${row.variant}`;
        lines.push(`- ${where}: some rounds failed: ${cell.error}`);
      }
    }
  }
  for (const leak of extras.leaks) lines.push(`- left behind and removed at the end: ${leak}`);
  if (lines.length === 0) return ['## Failures and leaks', '', 'None.', ''];
  return ['## Failures and leaks', '', ...lines, ''];
}
