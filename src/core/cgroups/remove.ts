import { join } from 'node:path';

import { HakoError } from '../errors.js';
import { containerDirs } from './control.js';
import { childDirs, removeDir, sleep } from './files.js';
import type { CgroupHandle, CgroupLog } from './types.js';

/** Waits between rmdir attempts while the last processes of the cgroup finish exiting. */
const BUSY_RETRY_MS = [10, 20, 40, 80, 160, 320, 640];

/**
 * Removes the directories the handle's creation made, deepest first. Cgroups the container
 * made inside its own are removed with it. A parent shared with other containers (it still
 * has other children) is left in place. Missing directories are not an error.
 */
export async function removeCgroup(
  handle: CgroupHandle,
  opts: { log?: CgroupLog } = {},
): Promise<void> {
  let firstError: HakoError | undefined;
  for (const { dir, leaf } of removalOrder(handle)) {
    try {
      if (leaf) {
        await removeTree(dir);
      } else if (childDirs(dir).length > 0) {
        opts.log?.debug(`cgroups: keeping ${dir}: other cgroups live in it`);
      } else {
        const err = removeDir(dir);
        if (err !== undefined && err.code !== 'ENOENT') {
          opts.log?.debug(`cgroups: keeping ${dir}: ${err.message}`);
        }
      }
    } catch (err) {
      if (!(err instanceof HakoError)) throw err;
      firstError ??= err;
    }
  }
  if (firstError !== undefined) throw firstError;
}

/**
 * The directories removeCgroup takes away, in its order: those the handle's creation made,
 * deepest first; `leaf` marks the container's own (removed with what is inside), the others
 * are parents, removed only when nothing else lives in them.
 */
export function removalOrder(handle: CgroupHandle): { dir: string; leaf: boolean }[] {
  const leaves = new Set(containerDirs(handle));
  const depth = (dir: string): number => dir.split('/').length;
  const dirs = [...new Set(handle.created)].sort((a, b) => depth(b) - depth(a));
  return dirs.map((dir) => ({ dir, leaf: leaves.has(dir) }));
}

async function removeTree(dir: string): Promise<void> {
  for (const child of childDirs(dir)) await removeTree(join(dir, child));

  for (let attempt = 0; ; attempt++) {
    const err = removeDir(dir);
    if (err === undefined || err.code === 'ENOENT') return;
    // EBUSY: processes that were killed are still exiting (the cgroup empties once they
    // are reaped).
    if (err.code !== 'EBUSY' || attempt >= BUSY_RETRY_MS.length) throw err;
    await sleep(BUSY_RETRY_MS[attempt]);
  }
}
