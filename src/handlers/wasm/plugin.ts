/**
 * The wasm handler as a Handler of the plugin API (src/handlers/api.ts): prepare finds and
 * compiles the module beneath the container's root while the host is visible; run starts
 * the guest after pivot_root. The transpile cache is the one `create` filled.
 */
import { readFileInRoot } from '../../core/sys/libc.js';
import type { Handler } from '../api.js';
import type { WasmRunner } from './core.js';
import { prepareWasm } from './handler.js';
import { WASM_HANDLER } from './select.js';

export function wasmHandler(cacheDir: string): Handler<WasmRunner> {
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
      return prepared.run;
    },
    async run(_ctx, run) {
      if (!run) throw new Error('wasm: the module was not prepared');
      return run();
    },
  };
}
