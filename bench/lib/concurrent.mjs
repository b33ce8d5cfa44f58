// f. Many containers at once: N `run` invocations of `true` started together; the wall time is
// from the first spawn to the last exit. Runtimes and variants take turns between repetitions.
import { describeFailure, invoke } from './proc.mjs';
import { deleteIfLeft } from './runtimes.mjs';
import { removeBundle, writeBundle } from './bundles.mjs';
import { containerId } from './lifecycle.mjs';
import { rotate } from './stats.mjs';

/** results[n][variant][runtime] = { samples: [ms per repetition], error? }. */
export async function measureConcurrent(ctx) {
  const runtimes = ctx.runtimes.filter((r) => !r.broken);
  const results = {};
  for (const n of ctx.concurrency) {
    results[n] = {};
    for (const v of ctx.variants) {
      results[n][v.name] = Object.fromEntries(runtimes.map((r) => [r.name, { samples: [] }]));
    }
    for (let rep = 0; rep < ctx.concurrentReps; rep++) {
      for (const variant of rotate(ctx.variants, rep)) {
        for (const runtime of rotate(runtimes, rep)) {
          const cell = results[n][variant.name][runtime.name];
          if (cell.error && cell.samples.length === 0) continue;
          try {
            cell.samples.push(await burst(ctx, runtime, variant, n));
          } catch (error) {
            cell.error = String(error.message);
          }
        }
      }
    }
  }
  return results;
}

async function burst(ctx, runtime, variant, n) {
  const opts = { env: variant.env, scratch: ctx.scratch };
  const ids = Array.from({ length: n }, () => containerId(runtime, `par${n}`));
  const bundles = ids.map((id) =>
    writeBundle(ctx.bundles, id, { args: ['true'], layout: ctx.layout }));
  for (const id of ids) runtime.live.add(id);
  try {
    const start = process.hrtime.bigint();
    const runs = await Promise.all(
      ids.map((id, i) => invoke(runtime.argv(['run', '--bundle', bundles[i], id]), opts)),
    );
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    const failed = runs.filter((r) => r.code !== 0);
    if (failed.length > 0) {
      throw new Error(`${failed.length} of ${n} runs failed, e.g. ${describeFailure(failed[0])}`);
    }
    return ms;
  } finally {
    // `run` deletes its container on exit; only a failed run can have left one behind.
    for (const id of ids) {
      await deleteIfLeft(runtime, id, opts);
      removeBundle(ctx.bundles, id);
    }
  }
}
