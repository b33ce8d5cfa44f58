/**
 * WebAssembly components of the WASI preview2 command world (`wasi:cli/run`), run in-process:
 * jco-transpile turns the component into JavaScript plus core modules (cached by cache.ts),
 * and @bytecodealliance/preview2-shim implements the WASI interfaces it imports.
 *
 * preview2-shim does its I/O on a worker thread that it loads from a file, and the generated
 * code and core modules are files too. `prepareComponent` therefore loads all of it, and
 * makes one call through the worker so that its script is loaded, before it returns the
 * runner: the container's engine calls it before `pivot_root`, after which the host's files
 * are gone. One lazy load remains: the worker requires a native addon the first time a guest
 * calls `advise` (posix_fadvise) on a file; after `pivot_root` that call fails.
 */

import { pathToFileURL } from 'node:url';
import { readFile } from 'node:fs/promises';

import { HakoError } from '../../core/errors.js';
import { defaultCacheDir, transpileCached, type TranspiledComponent } from './cache.js';
import {
  checkPreopens,
  envObject,
  errorMessage,
  isTrap,
  reportTrap,
  workloadName,
  type WasiOptions,
  type WasmRunner,
} from './core.js';
import { fdStreamClasses, type ShimClocks, type ShimIo } from './component-stdio.js';

export interface ComponentOptions extends WasiOptions {
  /** The guest's initial working directory (`wasi:cli/environment.initial-cwd`); `/`. */
  cwd?: string;
  /** Where transpiled components are kept; `HAKO_WASM_CACHE` or /var/cache/hako/wasm. */
  cacheDir?: string;
}

/** What `prepareComponent` learned, for callers that log it (e.g. `--debug`). */
export interface PreparedComponent {
  run: WasmRunner;
  transpiled: TranspiledComponent;
}

interface ShimCli {
  _setArgs(args: string[]): void;
  _setEnv(env: Record<string, string>): void;
  _setCwd(cwd: string): void;
  _setStdin(stream: object): void;
  _setStdout(stream: object): void;
  _setStderr(stream: object): void;
}

interface Shim {
  cli: ShimCli;
  clocks: ShimClocks;
  filesystem: { _setPreopens(preopens: Record<string, string>): void };
  io: ShimIo;
}

interface WasiShimModule {
  WASIShim: new () => { getImportObject(): Record<string, unknown> };
}

interface GeneratedModule {
  instantiate(
    getCoreModule: (name: string) => WebAssembly.Module | undefined,
    imports: Record<string, unknown>,
  ): Promise<ComponentInstance> | ComponentInstance;
}

type ComponentInstance = Record<string, { run?: () => void } | undefined>;

/** Thrown by our `wasi:cli/exit` to unwind the guest; the shim's own calls process.exit. */
class GuestExit {
  constructor(readonly status: number) {}
}

const exitInterface = {
  exit(status: { tag: string }): never {
    throw new GuestExit(status.tag === 'err' ? 1 : 0);
  },
  exitWithCode(code: number): never {
    throw new GuestExit(code & 0xff);
  },
};

/**
 * Transpiles (or finds in the cache) a component, loads it and the WASI shim, and returns the
 * runner. Fails for a component that does not export `wasi:cli/run` or imports interfaces
 * other than WASI's.
 */
export async function prepareComponent(
  bytes: Uint8Array,
  opts: ComponentOptions,
): Promise<WasmRunner> {
  const prepared = await prepareComponentDetailed(bytes, opts);
  return prepared.run;
}

export async function prepareComponentDetailed(
  bytes: Uint8Array,
  opts: ComponentOptions,
): Promise<PreparedComponent> {
  const file = workloadName(opts);
  const transpiled = await transpileCached(bytes, file, opts.cacheDir ?? defaultCacheDir());
  const runExport = transpiled.exports.find(
    (name) => name === 'wasi:cli/run' || name.startsWith('wasi:cli/run@'),
  );
  if (runExport === undefined) {
    const exported = transpiled.exports.join(', ') || 'nothing';
    throw new HakoError(
      `${file}: component does not export wasi:cli/run ` +
        `(not a WASI command; it exports ${exported})`,
    );
  }

  const shim = (await import('@bytecodealliance/preview2-shim')) as unknown as Shim;
  const { WASIShim } = (await import(
    '@bytecodealliance/preview2-shim/instantiation'
  )) as unknown as WasiShimModule;
  const imports: Record<string, unknown> = {
    ...new WASIShim().getImportObject(),
    'wasi:cli/exit': exitInterface,
  };
  const missing = transpiled.imports.filter((name) => imports[name] === undefined);
  if (missing.length > 0) {
    throw new HakoError(`${file}: component imports ${missing.join(', ')}, which is not WASI`);
  }

  const generated = (await import(pathToFileURL(transpiled.entry).href)) as GeneratedModule;
  const modules = await compileCoreModules(transpiled, file);
  const { FdInputStream, FdOutputStream } = fdStreamClasses(shim.io, shim.clocks);
  // One round trip to the I/O worker: it answers only once its script is loaded.
  shim.clocks.monotonicClock.subscribeDuration(0n).block();

  const run = async (): Promise<number> => {
    checkPreopens(opts.preopens, file);
    shim.cli._setArgs(opts.args);
    shim.cli._setEnv(envObject(opts.env));
    // The shim's default is the runtime's own cwd, a host path the guest has no use for.
    shim.cli._setCwd(opts.cwd ?? '/');
    shim.cli._setStdin(new FdInputStream(opts.stdin ?? 0));
    shim.cli._setStdout(new FdOutputStream(opts.stdout ?? 1));
    shim.cli._setStderr(new FdOutputStream(opts.stderr ?? 2));
    shim.filesystem._setPreopens(opts.preopens);

    // The generated function returns a promise, or the instance itself when nothing in the
    // instantiation had to wait.
    const instance = await Promise.resolve()
      .then(() => generated.instantiate((name) => modules.get(name), imports))
      .catch((e: unknown) => {
        throw new HakoError(`${file}: cannot instantiate component: ${errorMessage(e)}`);
      });
    const entry = instance[runExport]?.run;
    if (entry === undefined) {
      throw new HakoError(`${file}: component instance has no ${runExport}.run`);
    }
    return callRun(entry, file, opts.stderr ?? 2);
  };
  return { run, transpiled };
}

/** Prepares and runs a component: `prepareComponent` then the runner. */
export async function runComponent(bytes: Uint8Array, opts: ComponentOptions): Promise<number> {
  const run = await prepareComponent(bytes, opts);
  return run();
}

/**
 * `run` returns for `ok`. The generated code throws the (empty) payload of `err`, which is
 * `undefined`; wasmtime reports 1 for it, and the preview1 adapter turns a non-zero
 * proc_exit into that same `err`, so a guest's own code is not visible here.
 */
function callRun(entry: () => void, file: string, stderrFd: number): number {
  try {
    entry();
    return 0;
  } catch (e) {
    if (e instanceof GuestExit) {
      return e.status;
    }
    if (isTrap(e)) {
      return reportTrap(e, stderrFd);
    }
    if (e === undefined || (e instanceof Error && e.name === 'ComponentError')) {
      return 1;
    }
    throw new HakoError(`${file}: ${errorMessage(e)}`);
  }
}

async function compileCoreModules(
  transpiled: TranspiledComponent,
  file: string,
): Promise<Map<string, WebAssembly.Module>> {
  const modules = new Map<string, WebAssembly.Module>();
  for (const name of transpiled.coreModules) {
    const bytes = await readFile(`${transpiled.dir}/${name}`);
    const module = await WebAssembly.compile(bytes).catch((e: unknown) => {
      throw new HakoError(`${file}: transpiled core module ${name}: ${errorMessage(e)}`);
    });
    modules.set(name, module);
  }
  return modules;
}
