/**
 * Finding the program before `start`, so that a missing command is a `create` error worded as
 * runc words it (Go's exec.LookPath): podman maps "executable file not found" and "no such
 * file or directory" to exit status 127 and "permission denied" to 126.
 */
import { posix } from 'node:path';

import { HakoError } from '../errors.js';
import { errnoMessage } from '../sys/failure.js';
import { Resolve, type StatResult, type Sys, SysError } from '../sys/sys.js';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const X_OK = 1;
const EACCES = 13;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;

/**
 * The path to execve for `file`. A name with a slash is taken as it is (relative to `cwd`);
 * a bare name is searched in the PATH of `env`. Paths are the container's: call after
 * pivot_root, and after the user change so that access(2) judges with the workload's ids.
 */
export async function resolveExecutable(
  sys: Sys,
  file: string,
  env: readonly string[],
  cwd: string,
): Promise<string> {
  if (file.includes('/')) {
    const path = posix.resolve(cwd, file);
    let st: StatResult | null;
    try {
      st = await sys.stat(path, Resolve.Plain);
    } catch (err) {
      if (!(err instanceof SysError)) throw err;
      throw execError(file, `stat ${file}: ${errnoMessage(err.errno)}`);
    }
    if (!st) throw execError(file, `stat ${file}: ${errnoMessage(2)}`);
    const denied = !isRegular(st) ? EACCES : await sys.access(path, X_OK);
    if (denied !== 0) throw execError(file, errnoMessage(denied));
    return path;
  }

  const search = searchPath(env);
  const candidates = (search === '' ? [] : search.split(':'))
    .map((dir) => posix.resolve(cwd, dir || '.', file));
  // Every directory is looked at in one round trip to the agent; the first that holds an
  // executable regular file wins, as in a search one by one.
  const found = await Promise.all(candidates.map((path) => statOrNull(sys, path)));
  for (const [i, path] of candidates.entries()) {
    const st = found[i];
    if (st && isRegular(st) && await sys.access(path, X_OK) === 0) return path;
  }
  throw execError(file, 'executable file not found in $PATH');
}

/** The last PATH in the environment wins, as when runc sets them one by one. */
function searchPath(env: readonly string[]): string {
  for (let i = env.length - 1; i >= 0; i--) {
    if (env[i].startsWith('PATH=')) return env[i].slice('PATH='.length);
  }
  return DEFAULT_PATH;
}

/** A directory of the PATH that cannot be searched (EACCES, ENOTDIR) is passed over. */
async function statOrNull(sys: Sys, path: string): Promise<StatResult | null> {
  try {
    return await sys.stat(path, Resolve.Plain);
  } catch (err) {
    if (err instanceof SysError) return null;
    throw err;
  }
}

function isRegular(st: StatResult): boolean {
  return (st.mode & S_IFMT) === S_IFREG;
}

function execError(file: string, cause: string): HakoError {
  return new HakoError(`exec: ${JSON.stringify(file)}: ${cause}`);
}
