/**
 * Core WebAssembly modules (WASI preview1 commands) run in-process by V8 with node:wasi.
 *
 * The work is split in two so that the container's engine can do everything that reads host
 * files before `pivot_root` (`prepareCoreModule`: load node:wasi, compile the module, check its
 * exports) and only then run the guest (`await runner()`). Node's docs state plainly that
 * node:wasi is not a sandbox: the container around the engine is what confines the guest.
 */

import { statSync, writeSync } from 'node:fs';

import { HakoError } from '../../core/errors.js';

/** The process the guest sees: the container's `process` section, mapped onto WASI. */
export interface WasiOptions {
  /** argv, args[0] included (as crun and wasmtime pass it). */
  args: string[];
  /** "KEY=VALUE" strings, as in config.json; entries without '=' are ignored. */
  env: string[];
  /** Guest directory name → host directory, e.g. `{ '/': '/' }` for the container's root. */
  preopens: Record<string, string>;
  /** Descriptors for the guest's stdio; 0, 1 and 2 unless given. */
  stdin?: number;
  stdout?: number;
  stderr?: number;
  /** Names the workload in errors; args[0] unless given. */
  file?: string;
}

/** Runs the prepared guest once and resolves to its exit status. */
export type WasmRunner = () => Promise<number>;

/** wasmtime's status for a trap (abort()'s SIGABRT, as a shell reports it). */
export const TRAP_STATUS = 134;

type NodeWasi = typeof import('node:wasi');
type WasiVersion = 'preview1' | 'unstable';

let wasiModule: Promise<NodeWasi> | undefined;

/**
 * Compiles a core module and checks that it is a WASI command. What is returned runs it; it
 * reads no file, so it may be called after `pivot_root`.
 */
export async function prepareCoreModule(bytes: Uint8Array, opts: WasiOptions): Promise<WasmRunner> {
  const file = workloadName(opts);
  const { WASI } = await loadNodeWasi();

  const module = await WebAssembly.compile(arrayBacked(bytes)).catch((e: unknown) => {
    throw new HakoError(`${file}: invalid WebAssembly module: ${errorMessage(e)}`);
  });
  const version = checkCommand(module, file);

  return async () => {
    checkPreopens(opts.preopens, file);
    // Built here rather than above: uvwasi opens every preopened directory when the WASI
    // object is made, and a descriptor opened before pivot_root would be the host's root.
    const wasi = new WASI({
      version,
      args: opts.args,
      env: envObject(opts.env),
      preopens: opts.preopens,
      returnOnExit: true,
      stdin: opts.stdin ?? 0,
      stdout: opts.stdout ?? 1,
      stderr: opts.stderr ?? 2,
    });

    const imports = stdioWritesWait(wasi.getImportObject() as WebAssembly.Imports);
    const instance = await WebAssembly.instantiate(module, imports).catch((e: unknown) => {
      throw new HakoError(`${file}: cannot instantiate: ${errorMessage(e)}`);
    });
    try {
      return exitStatus(wasi.start(instance));
    } catch (e) {
      if (isTrap(e)) {
        return reportTrap(e, opts.stderr ?? 2);
      }
      throw new HakoError(`${file}: ${errorMessage(e)}`);
    }
  };
}

/** WASI's errno for EAGAIN. */
const WASI_EAGAIN = 6;

let pause: Int32Array | undefined;

/**
 * node:wasi hands EAGAIN to the guest when its stdout or stderr is a full non-blocking pipe,
 * and wasi-libc then drops what it meant to write. hako leaves those descriptors blocking
 * (core/stdio.ts), but any other process holding the same pipe may make it non-blocking: so
 * a write to descriptor 1 or 2 waits there, as it would on a blocking pipe. Writes the guest
 * makes to its own files and sockets are left as they are.
 */
function stdioWritesWait(imports: WebAssembly.Imports): WebAssembly.Imports {
  const out: WebAssembly.Imports = {};
  for (const [name, functions] of Object.entries(imports)) {
    const fdWrite = functions.fd_write;
    if (typeof fdWrite !== 'function') {
      out[name] = functions;
      continue;
    }
    const waiting = (fd: number, ...rest: unknown[]): unknown => {
      for (;;) {
        const errno: unknown = fdWrite(fd, ...rest);
        if (errno !== WASI_EAGAIN || (fd !== 1 && fd !== 2)) return errno;
        pause ??= new Int32Array(new SharedArrayBuffer(4));
        Atomics.wait(pause, 0, 0, 1);
      }
    };
    out[name] = { ...functions, fd_write: waiting };
  }
  return out;
}

/** Prepares and runs a core module: `prepareCoreModule` then the runner. */
export async function runCoreModule(bytes: Uint8Array, opts: WasiOptions): Promise<number> {
  const run = await prepareCoreModule(bytes, opts);
  return run();
}

/**
 * proc_exit takes a u32, a process exit status is 8 bits: 256 would read as success. Statuses
 * that do not fit become 1. (wasmtime is stricter: it turns anything from 126 up into 1.)
 */
function exitStatus(code: number): number {
  return code >= 0 && code <= 255 ? code : 1;
}

/** Converts config.json's "K=V" list; a later duplicate wins, as it does for execve. */
export function envObject(env: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of env) {
    const eq = entry.indexOf('=');
    if (eq > 0) {
      out[entry.slice(0, eq)] = entry.slice(eq + 1);
    }
  }
  return out;
}

/** A WebAssembly trap, or V8's stack overflow, which wasmtime also reports as a trap. */
export function isTrap(e: unknown): e is Error {
  if (e instanceof WebAssembly.RuntimeError) {
    return true;
  }
  return e instanceof RangeError && /call stack size exceeded/i.test(e.message);
}

/**
 * V8's trap messages, reworded as wasmtime words them (jco's generated code does the same for
 * components), so a trap reads alike whichever engine ran the guest.
 */
const TRAP_WORDING: ReadonlyArray<readonly [RegExp, string]> = [
  [/^unreachable$/, 'wasm `unreachable` instruction executed'],
  [/memory access out of bounds/, 'out of bounds memory access'],
  [/(divide|remainder) by zero/, 'integer divide by zero'],
  [/divide result unrepresentable/, 'integer overflow'],
  [/float unrepresentable in integer range/, 'invalid conversion to integer'],
  [/table index is out of bounds/, 'undefined element: out of bounds table access'],
  [/signature mismatch/, 'indirect call type mismatch'],
  [/call stack size exceeded/i, 'call stack exhausted'],
];

/** Writes the one-line trap message to the guest's stderr and returns wasmtime's status. */
export function reportTrap(e: Error, stderrFd: number): number {
  const message = e.message.replace(/^wasm trap:\s*/, '');
  const worded = TRAP_WORDING.find(([v8]) => v8.test(message))?.[1] ?? message;
  try {
    writeSync(stderrFd, `wasm trap: ${worded}\n`);
  } catch {
    // A closed stderr must not turn the guest's trap into a runtime failure.
  }
  return TRAP_STATUS;
}

/** WebAssembly.compile takes no view of a SharedArrayBuffer; copy one if given. */
export function arrayBacked(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer
    ? (bytes as Uint8Array<ArrayBuffer>)
    : new Uint8Array(bytes);
}

export function workloadName(opts: Pick<WasiOptions, 'file' | 'args'>): string {
  return opts.file ?? opts.args[0] ?? 'wasm';
}

export function errorMessage(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return message.split('\n')[0] ?? message;
}

/**
 * node:wasi prints "ExperimentalWarning: WASI is an experimental feature" when it is first
 * loaded. That line would land in the container's stderr, so it alone is dropped; any other
 * warning raised meanwhile still goes through.
 */
function loadNodeWasi(): Promise<NodeWasi> {
  wasiModule ??= (async () => {
    const emitWarning = process.emitWarning;
    const filter = function (this: NodeJS.Process, ...args: unknown[]): void {
      const [warning] = args;
      const text = warning instanceof Error ? warning.message : String(warning);
      if (text.startsWith('WASI is an experimental feature')) {
        return;
      }
      Reflect.apply(emitWarning, this, args);
    };
    process.emitWarning = filter as typeof process.emitWarning;
    try {
      return await import('node:wasi');
    } finally {
      if (process.emitWarning === filter) {
        process.emitWarning = emitWarning;
      }
    }
  })();
  return wasiModule;
}

function checkCommand(module: WebAssembly.Module, file: string): WasiVersion {
  const exports = WebAssembly.Module.exports(module);
  if (!exports.some((e) => e.name === '_start' && e.kind === 'function')) {
    throw new HakoError(`${file}: module has no _start export (not a WASI command)`);
  }
  if (!exports.some((e) => e.name === 'memory' && e.kind === 'memory')) {
    throw new HakoError(`${file}: module exports no memory named "memory" (WASI needs it)`);
  }

  const imports = WebAssembly.Module.imports(module);
  const foreign = imports.find(
    (i) => i.module !== 'wasi_snapshot_preview1' && i.module !== 'wasi_unstable',
  );
  if (foreign !== undefined) {
    throw new HakoError(
      `${file}: module imports "${foreign.module}" "${foreign.name}", which is not WASI`,
    );
  }
  // Modules from before WASI snapshot 1 import `wasi_unstable`; node:wasi still has it.
  return imports.some((i) => i.module === 'wasi_unstable') ? 'unstable' : 'preview1';
}

/** Each preopen must be an existing host directory; checked when the guest is started. */
export function checkPreopens(preopens: Record<string, string>, file: string): void {
  for (const [guest, host] of Object.entries(preopens)) {
    let isDirectory = false;
    try {
      isDirectory = statSync(host).isDirectory();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? errorMessage(e);
      throw new HakoError(`${file}: preopen ${guest} -> ${host}: ${code}`);
    }
    if (!isDirectory) {
      throw new HakoError(`${file}: preopen ${guest} -> ${host}: not a directory`);
    }
  }
}
