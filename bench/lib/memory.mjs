// Memory measurements: the smallest memory limit a container can run `echo work` in (d), and the
// resident memory a created, not yet started container holds (e).
import { containerProcesses, describeFailure, invoke, listPids, must } from './proc.mjs';
import { deleteIfLeft, forceDelete } from './runtimes.mjs';
import { removeBundle, writeBundle } from './bundles.mjs';
import { containerId } from './lifecycle.mjs';

export const MEMORY_LIMITS_MB = [1, 2, 4, 8, 16, 32];
const RSS_SAMPLES = 3;

/**
 * d. Tries the limits in increasing order until `echo work` prints `work`. Returns
 * results[variant][runtime] = { floorMb?, below?: [{ mb, why }], error? }.
 */
export async function measureMemoryFloor(ctx) {
  const results = {};
  for (const variant of ctx.variants) {
    results[variant.name] = {};
    for (const runtime of ctx.runtimes.filter((r) => !r.broken)) {
      if (runtime.wrapped) {
        results[variant.name][runtime.name] = {
          error: 'not measurable here: run without a cgroup manager, so no memory controller',
        };
        continue;
      }
      results[variant.name][runtime.name] = await floorOf(ctx, runtime, variant);
    }
  }
  return results;
}

async function floorOf(ctx, runtime, variant) {
  const opts = { env: variant.env, scratch: ctx.scratch };
  const below = [];
  for (const mb of MEMORY_LIMITS_MB) {
    const id = containerId(runtime, `mem${mb}`);
    const bundle = writeBundle(ctx.bundles, id, {
      args: ['echo', 'work'], memoryBytes: mb * 2 ** 20, layout: ctx.layout,
    });
    runtime.live.add(id);
    try {
      const run = await invoke(runtime.argv(['run', '--bundle', bundle, id]), opts);
      if (run.code === 0 && run.stdout === 'work\n') return { floorMb: mb, below };
      const printed = run.stdout ? `printed ${JSON.stringify(run.stdout)}` : 'printed nothing';
      below.push({ mb, why: run.code === 0 ? printed : `${printed}; ${describeFailure(run)}` });
    } finally {
      await deleteIfLeft(runtime, id, opts);
      removeBundle(ctx.bundles, id);
    }
  }
  return { below, error: `no limit up to ${MEMORY_LIMITS_MB.at(-1)} MB worked` };
}

/**
 * e. Creates a container (`sleep 1000`, never started) and sums VmRSS of its init and of every
 * helper of the runtime still alive for it (runc: the `runc init` that is the init; hako: the
 * agent). Returns results[variant][runtime] = { samplesKb: [...], processes: [...], error? }.
 */
export async function measureCreatedRss(ctx) {
  const results = {};
  for (const variant of ctx.variants) {
    results[variant.name] = {};
    for (const runtime of ctx.runtimes.filter((r) => !r.broken)) {
      const cell = { samplesKb: [] };
      results[variant.name][runtime.name] = cell;
      for (let i = 0; i < RSS_SAMPLES; i++) {
        try {
          const processes = await createdProcesses(ctx, runtime, variant);
          cell.samplesKb.push(processes.reduce((sum, p) => sum + p.rssKb, 0));
          cell.processes = processes;
        } catch (error) {
          cell.error = String(error.message);
          break;
        }
      }
    }
  }
  return results;
}

async function createdProcesses(ctx, runtime, variant) {
  const opts = { env: variant.env, scratch: ctx.scratch };
  const id = containerId(runtime, 'rss');
  const bundle = writeBundle(ctx.bundles, id, { args: ['sleep', '1000'], layout: ctx.layout });
  const before = listPids();
  runtime.live.add(id);
  try {
    await must(runtime.argv(['create', '--bundle', bundle, id]), opts, 'create');
    const state = await must(runtime.argv(['state', id]), opts, 'state');
    const pid = JSON.parse(state.stdout).pid;
    if (!Number.isInteger(pid) || pid <= 0) throw new Error(`state: no pid in ${state.stdout}`);
    // Let a runtime that finishes setting up after `create` returns settle first.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const processes = containerProcesses(pid, before);
    if (processes.length === 0) throw new Error(`create: the container's pid ${pid} is gone`);
    return processes.map(({ pid: p, name, rssKb }) => ({ pid: p, name, rssKb }));
  } finally {
    await forceDelete(runtime, id, opts);
    removeBundle(ctx.bundles, id);
  }
}
