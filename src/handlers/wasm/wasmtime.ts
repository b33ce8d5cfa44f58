/**
 * The `wasmtime` handler: the container's process becomes the wasmtime CLI, for users who
 * want wasmtime's engine (or its `-W`/`-S` knobs) rather than V8's. hako only builds the
 * command line; the binary must be on the runtime's PATH (no package ships one for Debian or
 * npm, so this path is not exercised by hako's own tests beyond the argument list).
 *
 * The command is `wasmtime run [options] -- MODULE ARGS...` (wasmtime: src/commands/run.rs,
 * src/common.rs): options must come before the module, `--dir HOST::GUEST` grants a
 * directory, `--env K=V` sets a variable (nothing is inherited by default), and argv[0],
 * which wasmtime would otherwise set to the module's base name, comes from `--argv0`.
 */

import { accessSync, constants, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';

import { HakoError } from '../../core/errors.js';

export interface WasmtimeOptions {
  /** Path of the .wasm (or .wat) file as the wasmtime process will see it. */
  module: string;
  /** The container's process.args; args[0] becomes argv[0], the rest follow the module. */
  args: string[];
  /** "KEY=VALUE" strings; entries without '=' are dropped (wasmtime would copy its own). */
  env: string[];
  /** Guest directory name → host directory. */
  preopens: Record<string, string>;
  /**
   * The guest's initial working directory. Passed as `-S cwd=` only when it is not `/`:
   * that option exists from wasmtime 46 on, and older versions reject it.
   */
  cwd?: string;
}

/** Arguments for `wasmtime` (without the program name itself). */
export function wasmtimeArgs(opts: WasmtimeOptions): string[] {
  const out = ['run'];

  for (const [guest, host] of Object.entries(opts.preopens)) {
    // wasmtime splits the value at every "::", so a path containing it would be misread.
    if (host.includes('::') || guest.includes('::')) {
      throw new HakoError(`wasmtime: preopen ${guest} -> ${host}: a path may not contain "::"`);
    }
    out.push('--dir', `${host}::${guest}`);
  }

  for (const entry of opts.env) {
    if (entry.indexOf('=') > 0) {
      out.push('--env', entry);
    }
  }

  if (opts.cwd !== undefined && opts.cwd !== '/') {
    out.push('-S', `cwd=${opts.cwd}`);
  }

  const argv0 = opts.args[0];
  if (argv0 !== undefined) {
    out.push('--argv0', argv0);
  }

  // "--" ends wasmtime's options: a module or argument starting with "-" stays the guest's.
  out.push('--', opts.module, ...opts.args.slice(1));
  return out;
}

/**
 * The first executable regular file named `wasmtime` in a PATH string, or null. Empty and
 * relative entries are skipped: they would be resolved against the runtime's cwd.
 */
export function findWasmtime(path: string | undefined): string | null {
  for (const dir of (path ?? '').split(':')) {
    if (dir === '' || !isAbsolute(dir)) {
      continue;
    }
    const candidate = join(dir, 'wasmtime');
    try {
      if (statSync(candidate).isFile()) {
        accessSync(candidate, constants.X_OK);
        return candidate;
      }
    } catch {
      // Missing or not executable: try the next entry.
    }
  }
  return null;
}
