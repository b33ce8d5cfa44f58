// Timed measurements of single containers: create + start + delete (a), run + delete (b) and
// exec into a running container (c). Every round visits each runtime in a rotating order and
// alternates the environment variants, so drift on a shared machine hits all columns alike.
import { describeFailure, invoke, must } from './proc.mjs';
import { forceDelete, hasCommand } from './runtimes.mjs';
import { removeBundle, writeBundle } from './bundles.mjs';
import { rotate } from './stats.mjs';

/** A runtime whose first few tries all fail is not tried again in this measurement. */
const GIVE_UP_AFTER = 3;

let idSequence = 0;

export function containerId(runtime, what) {
  return `bench-${process.pid}-${what}-${runtime.name}-${idSequence++}`;
}

/**
 * Drives `step(runtime, variant)` over warmup + rounds interleaved rounds and returns
 * results[variant][runtime] = { samples: [...], parts?: {...}, error?: string }.
 */
export async function interleave(ctx, runtimes, rounds, step) {
  const results = {};
  for (const v of ctx.variants) {
    results[v.name] = Object.fromEntries(runtimes.map((r) => [r.name, { samples: [], fails: 0 }]));
  }
  for (let round = 0; round < ctx.warmup + rounds; round++) {
    for (const variant of rotate(ctx.variants, round)) {
      for (const runtime of rotate(runtimes, round)) {
        const cell = results[variant.name][runtime.name];
        if (cell.error && cell.samples.length === 0 && cell.fails >= GIVE_UP_AFTER) continue;
        try {
          const sample = await step(runtime, variant);
          if (round >= ctx.warmup) record(cell, sample);
        } catch (error) {
          cell.fails++;
          cell.error = String(error.message);
        }
      }
    }
  }
  return results;
}

function record(cell, sample) {
  cell.samples.push(sample.ms);
  if (!sample.parts) return;
  cell.parts ??= {};
  for (const [name, ms] of Object.entries(sample.parts)) (cell.parts[name] ??= []).push(ms);
}

function options(ctx, variant) {
  return { env: variant.env, scratch: ctx.scratch };
}

/** a. create, start and delete --force of a container running `true`. */
export async function measureLifecycle(ctx) {
  const runtimes = ctx.runtimes.filter((r) => !r.broken);
  return interleave(ctx, runtimes, ctx.rounds, async (runtime, variant) => {
    const opts = options(ctx, variant);
    const id = containerId(runtime, 'life');
    const bundle = writeBundle(ctx.bundles, id, { args: ['true'], layout: ctx.layout });
    runtime.live.add(id);
    try {
      const create = await must(runtime.argv(['create', '--bundle', bundle, id]), opts, 'create');
      const start = await must(runtime.argv(['start', id]), opts, 'start');
      const del = await must(runtime.argv(['delete', '--force', id]), opts, 'delete');
      runtime.live.delete(id);
      const parts = { create: create.ms, start: start.ms, delete: del.ms };
      return { ms: create.ms + start.ms + del.ms, parts };
    } finally {
      if (runtime.live.has(id)) await forceDelete(runtime, id, opts);
      removeBundle(ctx.bundles, id);
    }
  });
}

/** b. `run` of `echo hi` to its exit, then `delete --force` (a no-op where run deleted it). */
export async function measureRun(ctx) {
  const runtimes = ctx.runtimes.filter((r) => !r.broken);
  return interleave(ctx, runtimes, ctx.rounds, async (runtime, variant) => {
    const opts = options(ctx, variant);
    const id = containerId(runtime, 'run');
    const bundle = writeBundle(ctx.bundles, id, { args: ['echo', 'hi'], layout: ctx.layout });
    runtime.live.add(id);
    try {
      const run = await must(runtime.argv(['run', '--bundle', bundle, id]), opts, 'run');
      if (run.stdout !== 'hi\n') throw new Error(`run: printed ${JSON.stringify(run.stdout)}`);
      const del = await must(runtime.argv(['delete', '--force', id]), opts, 'delete');
      runtime.live.delete(id);
      return { ms: run.ms + del.ms, parts: { run: run.ms, delete: del.ms } };
    } finally {
      if (runtime.live.has(id)) await forceDelete(runtime, id, opts);
      removeBundle(ctx.bundles, id);
    }
  });
}

/**
 * c. `exec <id> true` into a running `sleep 1000` container, one container per runtime and
 * variant. A runtime without an `exec` command gets "not implemented" instead of samples.
 */
export async function measureExec(ctx) {
  const runtimes = [];
  const missing = {};
  for (const runtime of ctx.runtimes.filter((r) => !r.broken)) {
    const opts = options(ctx, ctx.variants[0]);
    if (await hasCommand(runtime, 'exec', opts)) runtimes.push(runtime);
    else missing[runtime.name] = 'not implemented';
  }
  const running = new Map();
  try {
    for (const variant of ctx.variants) {
      for (const runtime of runtimes) {
        running.set(`${variant.name}/${runtime.name}`, await startSleeper(ctx, runtime, variant));
      }
    }
    const results = await interleave(ctx, runtimes, ctx.execRounds, async (runtime, variant) => {
      const sleeper = running.get(`${variant.name}/${runtime.name}`);
      if (sleeper.error) throw new Error(sleeper.error);
      const exec = await invoke(runtime.argv(['exec', sleeper.id, 'true']), options(ctx, variant));
      if (exec.code !== 0) throw new Error(`exec: ${describeFailure(exec)}`);
      return { ms: exec.ms };
    });
    for (const variant of ctx.variants) {
      for (const [name, error] of Object.entries(missing)) {
        results[variant.name][name] = { samples: [], error, notImplemented: true };
      }
    }
    return results;
  } finally {
    for (const [key, sleeper] of running) {
      const runtime = runtimes.find((r) => r.name === key.split('/')[1]);
      await forceDelete(runtime, sleeper.id, options(ctx, ctx.variants[0]));
      removeBundle(ctx.bundles, sleeper.id);
    }
  }
}

async function startSleeper(ctx, runtime, variant) {
  const opts = options(ctx, variant);
  const id = containerId(runtime, 'exec');
  const bundle = writeBundle(ctx.bundles, id, { args: ['sleep', '1000'], layout: ctx.layout });
  runtime.live.add(id);
  try {
    await must(runtime.argv(['create', '--bundle', bundle, id]), opts, 'create');
    await must(runtime.argv(['start', id]), opts, 'start');
    return { id };
  } catch (error) {
    return { id, error: String(error.message) };
  }
}
