/**
 * The wasm handler as a Handler of the plugin API (src/handlers/api.ts): prepare finds and
 * compiles the module beneath the container's root while the host is visible; run starts
 * the guest after pivot_root. The transpile cache is the one `create` filled.
 *
 * A WASI guest has no signals, so the runtime ends it on a stop signal, as a wasmtime process
 * that is not a pid namespace's init would die: from run on, SIGTERM, SIGINT, SIGHUP and
 * SIGQUIT end the engine with 128 + the signal, whether the guest computes or waits in a WASI
 * call (src/core/sys/signals.ts).
 */
import { loadExitOnSignals } from '../../core/sys/signals.js';
import { readFileInRoot } from '../../core/sys/libc.js';
import type { Handler } from '../api.js';
import type { WasmRunner } from './core.js';
import { prepareWasm } from './handler.js';
import { WASM_HANDLER } from './select.js';

interface PreparedGuest {
  run: WasmRunner;
  exitOnSignals: () => void;
}

export function wasmHandler(cacheDir: string): Handler<PreparedGuest> {
  return {
    name: WASM_HANDLER,
    validate(ctx) {
      if (ctx.spec.process?.terminal) {
        throw new Error('config.json: process.terminal: the wasm handler has no terminal support');
      }
    },
    async prepare(ctx) {
      const proc = ctx.spec.process;
      const prepared = await prepareWasm({
        args: proc?.args ?? [],
        env: proc?.env ?? [],
        cwd: proc?.cwd ?? '/',
        cacheDir,
        readFile: (path) => readFileInRoot(ctx.root, path),
      });
      return { run: prepared.run, exitOnSignals: loadExitOnSignals() };
    },
    async run(_ctx, prepared) {
      if (!prepared) throw new Error('wasm: the module was not prepared');
      prepared.exitOnSignals();
      return prepared.run();
    },
  };
}
