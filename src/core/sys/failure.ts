/**
 * Turning a failed call into the one line a user reads: the operation, its object, the errno
 * text and name, e.g. `mount proc on /proc: operation not permitted (EPERM)`.
 */
import { constants as osConstants } from 'node:os';
import { getSystemErrorMap } from 'node:util';

import { HakoError } from '../errors.js';
import { labelStep } from './steps.js';
import { SysError } from './sys.js';

// libuv words a few errnos in ways that mislead in a mount or mknod error (EOPNOTSUPP reads
// "operation not supported on socket"); these take the C library's wording instead.
const PREFERRED_TEXT: ReadonlyMap<string, string> = new Map([
  ['EBUSY', 'device or resource busy'],
  ['EEXIST', 'file exists'],
  ['EISDIR', 'is a directory'],
  ['ELOOP', 'too many levels of symbolic links'],
  ['ENOTSUP', 'operation not supported'],
  ['EOPNOTSUPP', 'operation not supported'],
]);

// Errnos libuv has no entry for, worded as Go's syscall package words them (as runc prints).
const MISSING_FROM_LIBUV: ReadonlyMap<string, string> = new Map([
  ['EBADMSG', 'bad message'],
  ['ECHILD', 'no child processes'],
  ['EDEADLK', 'resource deadlock avoided'],
  ['EDOM', 'numerical argument out of domain'],
  ['EDQUOT', 'disk quota exceeded'],
  ['EIDRM', 'identifier removed'],
  ['EINPROGRESS', 'operation now in progress'],
  ['EMULTIHOP', 'multihop attempted'],
  ['ENETRESET', 'network dropped connection on reset'],
  ['ENOEXEC', 'exec format error'],
  ['ENOLCK', 'no locks available'],
  ['ENOLINK', 'link has been severed'],
  ['ENOMSG', 'no message of desired type'],
  ['ENOSR', 'out of streams resources'],
  ['ENOSTR', 'device not a stream'],
  ['ESTALE', 'stale NFS file handle'],
  ['ETIME', 'timer expired'],
]);

let errorMap: Map<number, [string, string]> | undefined;

/**
 * libuv's name and text of an errno. Node builds the whole table anew at every
 * getSystemErrorMap() call (some 0.3 ms): it is taken once. It is the same for every run of
 * one node binary, so the start-up snapshot may hold it.
 */
export function systemError(errno: number): [code: string, text: string] | undefined {
  if (errorMap === undefined) {
    errorMap = getSystemErrorMap();
    for (const [code, value] of Object.entries(osConstants.errno)) {
      const text = MISSING_FROM_LIBUV.get(code);
      if (text !== undefined && !errorMap.has(-value)) errorMap.set(-value, [code, text]);
    }
  }
  return errorMap.get(-errno);
}

/** The errno's name, `ENOENT`; `E<n>` for one Node does not know. */
export function errnoCode(errno: number): string {
  return systemError(errno)?.[0] ?? `E${errno}`;
}

/** The errno's text alone, as Go and runc print it: `no such file or directory`. */
export function errnoMessage(errno: number): string {
  const entry = systemError(errno);
  if (!entry) return `errno ${errno}`;
  return PREFERRED_TEXT.get(entry[0]) ?? entry[1];
}

/** Text and name: `no such file or directory (ENOENT)`. */
export function errnoDescription(errno: number): string {
  return `${errnoMessage(errno)} (${errnoCode(errno)})`;
}

/** The errno of a failed node:fs call (its `errno` is negative), or undefined. */
export function nodeErrno(err: unknown): number | undefined {
  const errno = (err as { errno?: unknown } | null)?.errno;
  return typeof errno === 'number' ? Math.abs(errno) : undefined;
}

/** `no such file or directory (ENOENT)` for a node:fs error, its message for anything else. */
export function nodeErrorDescription(err: unknown): string {
  const errno = nodeErrno(err);
  if (errno !== undefined) return errnoDescription(errno);
  return err instanceof Error ? err.message : String(err);
}

/**
 * Awaits one Sys call and names the operation if it fails: a SysError becomes a HakoError
 * reading `<operation>: <errno text> (<ERRNO>)`. Other errors (the agent died) pass unchanged,
 * since they already say what happened.
 */
export async function sysStep<T>(operation: string, call: Promise<T>): Promise<T> {
  // A pipelined agent request has already resolved; its failure, if any, is reported later
  // under this name.
  labelStep(call, operation);
  try {
    return await call;
  } catch (err) {
    if (err instanceof SysError) {
      throw new HakoError(`${operation}: ${errnoDescription(err.errno)}`);
    }
    throw err;
  }
}
