/**
 * The pid file of `create`, `run` and `exec`. Callers (conmon, the containerd shim) read it
 * as soon as hako exits and parse it as a bare integer: it is written whole, under a
 * temporary name renamed into place, with no newline.
 */
import { renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

import { HakoError } from '../errors.js';
import { nodeErrorDescription } from '../sys/failure.js';

export function writePidFile(path: string, pid: number): void {
  const target = resolve(path);
  const tmp = join(dirname(target), `.${basename(target)}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, String(pid));
    renameSync(tmp, target);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // Nothing to remove.
    }
    throw new HakoError(`write pid file ${path}: ${nodeErrorDescription(err)}`);
  }
}
