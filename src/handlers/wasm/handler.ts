/**
 * The wasm handler as the engine runs it: find the container's module, tell a core module, a
 * component and WebAssembly text apart, and prepare it (compile, or transpile and load the
 * shim) while the host's files are reachable. What comes back runs the guest after
 * pivot_root and resolves to its exit status.
 *
 * The guest sees what crun and wasmtime give it: argv is process.args with args[0] kept, the
 * environment is process.env (HOME added as runc adds it), the container's root is preopened
 * as `/`, and for a core module whose cwd is not `/` the cwd as `.`, which wasi-libc uses for
 * relative paths (`..` above the cwd is then refused by the WASI layer).
 */
import { posix } from 'node:path';

import { HakoError } from '../../core/errors.js';
import { DEFAULT_PATH } from '../../core/process/executable.js';
import { prepareComponent } from './component.js';
import { prepareCoreModule, type WasiOptions, type WasmRunner } from './core.js';
import { detectWasm, type WasmKind } from './detect.js';
import { compileWat } from './wat.js';

const EACCES = 13;

/**
 * A file of the container: its bytes, or the errno that kept it from being read (EACCES for
 * something that is not a regular file) and its text.
 */
export type ReadResult = { bytes: Uint8Array } | { errno: number; message: string };

export interface WasmWorkload {
  /** process.args: args[0] names the module. */
  args: string[];
  env: string[];
  /** process.cwd, absolute. */
  cwd: string;
  /** Where transpiled components are cached. */
  cacheDir: string;
  /** Reads a container path (absolute) without leaving the container's root. */
  readFile(path: string): ReadResult;
}

export interface PreparedWasm {
  kind: WasmKind;
  /** The module's path in the container. */
  path: string;
  run: WasmRunner;
}

/**
 * What `create` checks on the host before it starts the engine: that the module is there and
 * is WebAssembly, so that a missing or malformed one fails before any engine starts.
 */
export function checkModule(workload: WasmWorkload): { kind: WasmKind; bytes: Uint8Array } {
  const { path, bytes } = locateModule(workload);
  return { kind: detectWasm(bytes, workload.args[0] ?? path), bytes };
}

export async function prepareWasm(workload: WasmWorkload): Promise<PreparedWasm> {
  const { path, bytes } = locateModule(workload);
  const file = workload.args[0] ?? path;
  const kind = detectWasm(bytes, file);
  const opts: WasiOptions & { cwd: string; cacheDir: string } = {
    args: workload.args,
    env: workload.env,
    preopens: kind === 'component' ? { '/': '/' } : preopensFor(workload.cwd),
    file,
    cwd: workload.cwd,
    cacheDir: workload.cacheDir,
  };

  if (kind === 'component') return { kind, path, run: await prepareComponent(bytes, opts) };
  const binary = kind === 'wat' ? await compileWat(bytes, file) : bytes;
  return { kind, path, run: await prepareCoreModule(binary, opts) };
}

/**
 * A core module's preopens: `/` is the container's root (the engine runs after pivot_root),
 * `.` the cwd. In that order: wasi-libc resolves relative paths through `.` and absolute
 * ones through `/`. A component gets `/` alone: through the preview1 adapter a `.` preopen
 * hides absolute paths, and the adapter ignores the initial cwd, so its relative paths start
 * at `/` (a guest built for preview2 reads the cwd from wasi:cli/environment).
 */
export function preopensFor(cwd: string): Record<string, string> {
  const preopens: Record<string, string> = { '/': '/' };
  if (posix.resolve('/', cwd) !== '/') preopens['.'] = posix.resolve('/', cwd);
  return preopens;
}

/**
 * args[0] as execve would find it: a name with a slash relative to the cwd, a bare name in
 * the PATH of the environment. Unlike a program, a module need not be executable. Errors
 * are worded as for a missing program, which podman maps to exit status 127.
 */
export function locateModule(workload: WasmWorkload): { path: string; bytes: Uint8Array } {
  const name = workload.args[0];
  if (!name) throw new HakoError('config.json: process.args: is required');

  if (name.includes('/')) {
    const path = posix.resolve(workload.cwd, name);
    const found = workload.readFile(path);
    if ('bytes' in found) return { path, bytes: found.bytes };
    // As for a program: a directory or other non-file is "permission denied" (EACCES).
    const cause = found.errno === EACCES ? found.message : `stat ${name}: ${found.message}`;
    throw execError(name, cause);
  }

  for (const dir of searchPath(workload.env).split(':')) {
    if (dir === '') continue;
    const path = posix.resolve(workload.cwd, dir, name);
    const found = workload.readFile(path);
    if ('bytes' in found) return { path, bytes: found.bytes };
  }
  throw execError(name, 'executable file not found in $PATH');
}

function searchPath(env: readonly string[]): string {
  for (let i = env.length - 1; i >= 0; i--) {
    if (env[i].startsWith('PATH=')) return env[i].slice('PATH='.length);
  }
  return DEFAULT_PATH;
}

function execError(file: string, cause: string): HakoError {
  return new HakoError(`exec: ${JSON.stringify(file)}: ${cause}`);
}
