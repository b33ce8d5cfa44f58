// g. A WebAssembly hello in a container (hako's wasm handler, chosen by the annotation
// run.oci.handler=wasm) against the same module run by node:wasi in a bare Node process.
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describeFailure, invoke, must } from './proc.mjs';
import { deleteIfLeft, isHako } from './runtimes.mjs';
import { removeBundle, writeBundle } from './bundles.mjs';
import { containerId, interleave } from './lifecycle.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const HELLO_WAT = join(here, '..', '..', 'test', 'fixtures', 'wasm', 'hello.wat');
const BARE_RUNNER = join(here, '..', 'wasi-hello.mjs');
const GREETING = 'hello from wasm\n';
export const BARE = 'node:wasi';

/** hello.wat → `<rootfs>/hello.wasm` with the wabt library; returns the host path. */
export async function buildHelloWasm(rootfs) {
  const { default: initWabt } = await import('wabt');
  const wabt = await initWabt();
  const parsed = wabt.parseWat(HELLO_WAT, await readFile(HELLO_WAT, 'utf8'));
  try {
    parsed.validate();
    const out = join(rootfs, 'hello.wasm');
    await writeFile(out, parsed.toBinary({}).buffer);
    return out;
  } finally {
    parsed.destroy();
  }
}

/** Whether a runtime has a wasm handler at all; hako's is probed by the measurement itself. */
export function wasmCapable(runtime) {
  if (isHako(runtime)) return true;
  return runtime.name === 'crun' && /\+WASM/.test(runtime.versionText);
}

/**
 * results[variant][runtime or 'node:wasi'] = { samples, error? }. Runtimes without a wasm
 * handler are left out; the report says so.
 */
export async function measureWasm(ctx) {
  const wasmFile = await buildHelloWasm(ctx.bundles.rootfs);
  const bare = { name: BARE };
  const runtimes = [bare, ...ctx.runtimes.filter((r) => !r.broken && wasmCapable(r))];
  return interleave(ctx, runtimes, ctx.wasmRounds, async (runtime, variant) => {
    const opts = { env: variant.env, scratch: ctx.scratch };
    if (runtime === bare) {
      const run = await must([process.execPath, '--no-warnings', BARE_RUNNER, wasmFile], opts,
        'node:wasi');
      if (!run.stdout.startsWith(GREETING)) throw new Error(`node:wasi: printed ${run.stdout}`);
      return { ms: run.ms };
    }
    return inContainer(ctx, runtime, opts);
  });
}

async function inContainer(ctx, runtime, opts) {
  const id = containerId(runtime, 'wasm');
  const bundle = writeBundle(ctx.bundles, id, {
    args: ['/hello.wasm'], annotations: { 'run.oci.handler': 'wasm' }, layout: ctx.layout,
  });
  runtime.live.add(id);
  try {
    const run = await invoke(runtime.argv(['run', '--bundle', bundle, id]), opts);
    if (run.code !== 0) throw new Error(`not available: ${describeFailure(run)}`);
    if (!run.stdout.startsWith(GREETING)) {
      throw new Error(`not available: the container printed ${JSON.stringify(run.stdout)}`);
    }
    return { ms: run.ms };
  } finally {
    await deleteIfLeft(runtime, id, opts);
    removeBundle(ctx.bundles, id);
  }
}
