import {
  type Dirent, existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

import { HakoError } from '../errors.js';

/**
 * File access for the cgroup code: plain synchronous fs calls (cgroup files are tiny and the
 * kernel answers at once), with errors that name the operation, the path and the errno the
 * way the kernel's refusal should be reported.
 */

/** A failed cgroup file operation; `code` is the errno name (EINVAL, EBUSY, ...). */
export class CgroupFileError extends HakoError {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'CgroupFileError';
  }
}

/** The lower-case errno text Node put in its message ("invalid argument"), else the code. */
export function errnoText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const match = /^[A-Z0-9]+: ([^,]+)/.exec(e.message ?? '');
  if (match !== null) return match[1];
  return e.code ?? String(err);
}

export function errnoCode(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? 'EIO';
}

function fail(op: string, path: string, err: unknown): CgroupFileError {
  return new CgroupFileError(`${op} ${path}: ${errnoText(err)}`, errnoCode(err));
}

/**
 * Writes one value to a cgroup file. cgroupfs cannot create files, so opening a name the
 * kernel does not provide fails with EACCES; that case is reported as a missing file, which
 * is what it is (a controller feature this kernel lacks), rather than as a permission problem.
 */
export function writeCgroupFile(dir: string, file: string, value: string): void {
  const path = join(dir, file);
  try {
    writeFileSync(path, value);
  } catch (err) {
    const code = errnoCode(err);
    if ((code === 'EACCES' || code === 'ENOENT') && existsSync(dir) && !existsSync(path)) {
      throw new CgroupFileError(
        `write ${path}: no such file (this kernel does not provide it)`,
        'ENOENT',
      );
    }
    throw fail('write', path, err);
  }
}

/** Reads a cgroup file, trimmed; undefined when it does not exist. */
export function readCgroupFile(dir: string, file: string): string | undefined {
  const path = join(dir, file);
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw fail('read', path, err);
  }
}

export function cgroupFileExists(dir: string, file: string): boolean {
  return existsSync(join(dir, file));
}

/** Creates one directory; false when it already existed. */
export function makeDir(path: string): boolean {
  try {
    mkdirSync(path, 0o755);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'EEXIST') return false;
    throw fail('mkdir', path, err);
  }
}

/** rmdir; the failure is returned, not thrown, so callers can decide to retry or ignore it. */
export function removeDir(path: string): CgroupFileError | undefined {
  try {
    rmdirSync(path);
    return undefined;
  } catch (err) {
    return fail('rmdir', path, err);
  }
}

/** Names of the subdirectories (child cgroups) of a cgroup directory. */
export function childDirs(dir: string): string[] {
  return entries(dir).filter((e) => e.isDirectory()).map((e) => e.name);
}

/** Names of the files (not directories) in a cgroup directory. */
export function fileNames(dir: string): string[] {
  return entries(dir).filter((e) => !e.isDirectory()).map((e) => e.name);
}

function entries(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw fail('readdir', dir, err);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
