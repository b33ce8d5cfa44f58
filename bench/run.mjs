// hako's benchmark against runc (and crun where it runs), interleaved in one run.
// Usage: npm run bench (as root). Settings, all optional, from the environment:
//   BENCH_ROUNDS=30 BENCH_EXEC_ROUNDS=30 BENCH_WASM_ROUNDS=20 BENCH_WARMUP=2
//   BENCH_CONCURRENCY=20,50 BENCH_CONCURRENT_REPS=3 BENCH_RUNTIMES=runc,crun,hako
//   BENCH_ONLY=a,b,c,d,e,f,g BENCH_HAKO=bin/hako BENCH_OUT=bench/results
//   BENCH_HAKO_COPY=1: run a copy of bin/ and dist/ taken at start (0: the checkout itself)
//   BENCH_HAKO_BASELINE=<launcher of another hako build>: measured as one more runtime
//   BENCH_RUNC, BENCH_CRUN: paths of the reference runtimes.
// Paths are relative to the repository; bench/lib/settings.mjs checks the values.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { BASELINE, describeBaseline } from './lib/baseline.mjs';
import { CGROUP_PARENT, prepareBundles, removeBundle, writeBundle } from './lib/bundles.mjs';
import { svgChart } from './lib/chart.mjs';
import { measureConcurrent } from './lib/concurrent.mjs';
import { measureExec, measureLifecycle, measureRun } from './lib/lifecycle.mjs';
import { cgroupLayout, describeMachine, removeCgroupParent } from './lib/machine.mjs';
import { measureCreatedRss, measureMemoryFloor } from './lib/memory.mjs';
import { describeFailure, invoke, stopStarting } from './lib/proc.mjs';
import { markdownReport, textTable } from './lib/report.mjs';
import { buildRows } from './lib/rows.mjs';
import { crunWrapperArgv, deleteIfLeft, makeRuntimes, sweep } from './lib/runtimes.mjs';
import { readSettings } from './lib/settings.mjs';
import { snapshotHako } from './lib/snapshot.mjs';
import { measureWasm } from './lib/wasm.mjs';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

/** The two environments of the runtime invocations: NODE_EXTRA_CA_CERTS unset, and set. */
function variants() {
  const base = { ...process.env };
  const ca = base.NODE_EXTRA_CA_CERTS ?? (existsSync(CA_BUNDLE) ? CA_BUNDLE : undefined);
  delete base.NODE_EXTRA_CA_CERTS;
  const unset = { name: 'unset', env: base };
  return ca ? [unset, { name: 'set', env: { ...base, NODE_EXTRA_CA_CERTS: ca } }] : [unset];
}

const MEASUREMENTS = [
  ['a', 'lifecycle', 'a. create + start + delete', measureLifecycle],
  ['b', 'run', 'b. run + delete', measureRun],
  ['c', 'exec', 'c. exec', measureExec],
  ['d', 'floor', 'd. memory floor', measureMemoryFloor],
  ['e', 'rss', 'e. created container RSS', measureCreatedRss],
  ['f', 'concurrent', 'f. concurrent runs', measureConcurrent],
  ['g', 'wasm', 'g. wasm hello', measureWasm],
];

async function main() {
  if (process.getuid?.() !== 0) {
    console.error('bench: run as root (the runtimes create namespaces, mounts and cgroups)');
    return 2;
  }
  const config = readSettings(process.env, repo);
  const baseline = config.baseline ? describeBaseline(config.baseline) : undefined;
  const layout = cgroupLayout();
  const scratch = mkdtempSync(join(os.tmpdir(), 'hako-bench-'));
  const copied = ', run from a copy of bin/ and dist/ taken at start';
  const hakoBin = config.hakoCopy && existsSync(config.hako)
    ? snapshotHako(config.hako, scratch, 'hako') : config.hako;
  // The baseline is copied as hako is, so both builds start from the same kind of place.
  const baselineBin = baseline && config.hakoCopy
    ? snapshotHako(baseline.bin, scratch, BASELINE) : baseline?.bin;
  const runtimes = makeRuntimes({
    scratch, layout, hakoBin, only: config.runtimes,
    baseline: baseline && { bin: baselineBin, label: baseline.label },
  });
  const hako = runtimes.find((r) => r.name === 'hako');
  if (hako?.bin) hako.where = relative(repo, config.hako) + (hakoBin === config.hako ? '' : copied);
  const base = runtimes.find((r) => r.name === BASELINE);
  if (base) base.where = baseline.bin + (baselineBin === baseline.bin ? '' : copied);
  const loadAtStart = os.loadavg();
  const ctx = {
    ...config, layout, scratch, runtimes, variants: variants(), bundles: undefined,
  };
  const cleanupOptions = { env: ctx.variants[0].env, scratch, cleanup: true };
  const leaks = [];
  const cleanup = async () => {
    for (const runtime of runtimes) {
      for (const id of await sweep(runtime, cleanupOptions)) leaks.push(`${runtime.name} ${id}`);
    }
    leaks.push(...removeCgroupParent(CGROUP_PARENT).map((dir) => `cgroup ${dir}`));
  };
  let interrupted = false;
  const onSignal = (signal) => {
    interrupted = true;
    console.error(`bench: ${signal}: removing the benchmark's containers`);
    stopStarting().then(cleanup).finally(() => {
      rmSync(scratch, { recursive: true, force: true });
      process.exit(130);
    });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const results = {};
  const extras = { leaks, crunMode: crunMode(runtimes) };
  const started = Date.now();
  try {
    ctx.bundles = prepareBundles({ scratch, runtimes });
    await probe(ctx);
    if (runtimes.some((r) => r.name === 'crun' && r.wrapped && !r.broken)) {
      extras.crunWrapper = await timeWrapper(ctx);
    }
    for (const [letter, key, title, measure] of MEASUREMENTS) {
      if (!config.only.includes(letter)) continue;
      const t0 = Date.now();
      results[key] = await measure(ctx);
      console.error(`bench: ${title}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
  } finally {
    await cleanup();
    if (!interrupted) rmSync(scratch, { recursive: true, force: true });
  }
  // The signal handler finishes the cleanup and exits; a partial run must not replace latest.md.
  if (interrupted) return new Promise(() => {});

  const rows = buildRows({
    results, variants: ctx.variants, runtimes, concurrency: config.concurrency,
  }).filter((row) => config.only.includes(row.key[0]));
  const machine = describeMachine({
    layout, runtimes, loadAtStart, hakoDir: dirname(config.hako),
    baselineDir: baseline && dirname(baseline.bin),
  });
  const report = markdownReport({
    machine, rows, extras,
    config: { ...config, templateSource: ctx.bundles.source, cgroupParent: CGROUP_PARENT },
  });
  const against = base ? `runc, crun and ${base.label}` : 'runc and crun';
  const chart = svgChart(rows, `hako vs ${against}, ${machine.date.slice(0, 10)}`);
  writeResults(config.out, machine.date, report, chart);

  console.log(textTable(rows));
  console.log(`\nbench: ${((Date.now() - started) / 1000).toFixed(0)} s; report in ` +
    `${join(config.out, 'latest.md')}, chart in ${join(config.out, 'latest.svg')}`);
  return 0;
}

/**
 * One `run` of `true` per runtime before anything is timed. A runtime that cannot run a
 * container (hako while it is being written) gets that error in every cell instead of samples.
 */
async function probe(ctx) {
  const opts = { env: ctx.variants[0].env, scratch: ctx.scratch };
  for (const runtime of ctx.runtimes.filter((r) => !r.broken)) {
    const id = `bench-${process.pid}-probe-${runtime.name}`;
    const bundle = writeBundle(ctx.bundles, id, { args: ['true'], layout: ctx.layout });
    runtime.live.add(id);
    const result = await invoke(runtime.argv(['run', '--bundle', bundle, id]), opts);
    if (result.code !== 0) runtime.broken = `error: run true: ${describeFailure(result)}`;
    await deleteIfLeft(runtime, id, opts);
    removeBundle(ctx.bundles, id);
  }
}

async function timeWrapper(ctx) {
  const samples = [];
  for (let i = 0; i < 20; i++) {
    const opts = { env: ctx.variants[0].env, scratch: ctx.scratch };
    const result = await invoke(crunWrapperArgv(), opts);
    if (result.code === 0) samples.push(result.ms);
  }
  return samples;
}

function crunMode(runtimes) {
  const crun = runtimes.find((r) => r.name === 'crun');
  if (!crun) return 'not part of this run.';
  if (!crun.wrapped) return 'run directly (the host has a pure cgroup v2 hierarchy).';
  return 'crun 1.8.1 refuses a v1/hybrid cgroup hierarchy, so every crun invocation runs as' +
    " `unshare -m sh -c 'mount -t cgroup2 none /sys/fs/cgroup && exec crun" +
    " --cgroup-manager=disabled --root <dir> ...'`. Its containers get no cgroup: the memory" +
    ' floor (d) cannot be measured for crun, and its other figures save the cgroup work runc' +
    ' and hako do.';
}

function writeResults(out, date, report, svg) {
  mkdirSync(out, { recursive: true });
  const stamp = date.replace(/[:.]/g, '-');
  writeFileSync(join(out, `${stamp}.md`), report.replace('(latest.svg)', `(${stamp}.svg)`));
  writeFileSync(join(out, `${stamp}.svg`), svg);
  writeFileSync(join(out, 'latest.md'), report);
  writeFileSync(join(out, 'latest.svg'), svg);
}

try {
  process.exitCode = await main();
} catch (error) {
  console.error(`bench: ${error.message}`);
  process.exitCode = 1;
}
