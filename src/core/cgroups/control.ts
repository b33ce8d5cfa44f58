import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { HakoError } from '../errors.js';
import {
  CgroupFileError, cgroupFileExists, childDirs, readCgroupFile, sleep, writeCgroupFile,
} from './files.js';
import type { CgroupHandle } from './types.js';

/** How long a freeze may take before it is undone and reported. */
const FREEZE_TIMEOUT_MS = 5000;

/** Moves a process (all its threads) into the container's cgroup in every hierarchy. */
export function joinCgroup(handle: CgroupHandle, pid: number): void {
  for (const dir of containerDirs(handle)) writeCgroupFile(dir, 'cgroup.procs', String(pid));
}

/**
 * joinCgroup with its wait off the main thread: `create` lets the moves run while the agent
 * mounts the rootfs, and waits for them before the workload can start.
 */
export async function joinCgroupInBackground(handle: CgroupHandle, pid: number): Promise<void> {
  const [first, ...rest] = containerDirs(handle);
  if (first === undefined) return;
  // The first move may wait for an RCU grace period (prime.ts), so it goes to a libuv thread.
  // The moves right after it do not wait, and an async write costs three trips through the
  // thread pool (open, write, close): about 2 ms a hierarchy, against 0.1 ms written here.
  try {
    await writeFile(join(first, 'cgroup.procs'), String(pid));
  } catch {
    // The synchronous path words the error (a missing file, the errno).
    writeCgroupFile(first, 'cgroup.procs', String(pid));
  }
  for (const dir of rest) writeCgroupFile(dir, 'cgroup.procs', String(pid));
}

/** The processes in the container's cgroup and any cgroups the container made below it. */
export function listPids(handle: CgroupHandle): number[] {
  const pids = new Set<number>();
  const walk = (dir: string): void => {
    for (const line of (readCgroupFile(dir, 'cgroup.procs') ?? '').split('\n')) {
      const pid = Number(line);
      if (line !== '' && Number.isInteger(pid)) pids.add(pid);
    }
    for (const child of childDirs(dir)) walk(join(dir, child));
  };
  walk(primaryDir(handle));
  return [...pids].sort((a, b) => a - b);
}

/**
 * Signals every process in the cgroup. SIGKILL goes through cgroup.kill where the kernel
 * has it (5.14+), which cannot miss a process forked meanwhile. Otherwise the cgroup is
 * frozen first, so that no process forks between the listing and the signal.
 */
export async function killAll(
  handle: CgroupHandle,
  signal: NodeJS.Signals | number,
): Promise<void> {
  const isKill = signal === 'SIGKILL' || signal === 9;
  if (isKill && handle.v2 !== undefined && cgroupFileExists(handle.v2, 'cgroup.kill')) {
    writeCgroupFile(handle.v2, 'cgroup.kill', '1');
    return;
  }

  const canFreeze = freezeTarget(handle) !== undefined;
  const wasFrozen = canFreeze && isFrozen(handle);
  let frozeHere = false;
  if (canFreeze && !wasFrozen) {
    try {
      await freeze(handle);
      frozeHere = true;
    } catch (err) {
      // Freezing only closes the fork race; failing to freeze must not stop the signal.
      if (!(err instanceof HakoError)) throw err;
    }
  }
  try {
    for (const pid of listPids(handle)) {
      try {
        process.kill(pid, signal);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ESRCH') {
          throw new HakoError(`kill ${pid}: ${(err as Error).message}`);
        }
      }
    }
  } finally {
    // A frozen task only acts on SIGKILL once thawed; other signals to a paused container
    // wait, as they would had the container not been touched.
    if (frozeHere || (wasFrozen && isKill)) await thaw(handle);
  }
}

/** Freezes every process in the cgroup and waits until the kernel reports it frozen. */
export async function freeze(handle: CgroupHandle): Promise<void> {
  const target = requireFreezer(handle, 'freeze');
  if (target.v1) {
    // A task in an uninterruptible sleep delays the freeze; writing FROZEN again retries it.
    await waitFor(target.dir, 'freeze', () => {
      writeCgroupFile(target.dir, 'freezer.state', 'FROZEN');
      return readCgroupFile(target.dir, 'freezer.state') === 'FROZEN';
    }, () => writeCgroupFile(target.dir, 'freezer.state', 'THAWED'));
    return;
  }
  writeCgroupFile(target.dir, 'cgroup.freeze', '1');
  if (v2Frozen(target.dir) === undefined) {
    writeCgroupFile(target.dir, 'cgroup.freeze', '0');
    throw new HakoError(`freeze ${target.dir}: this kernel reports no "frozen" in cgroup.events`);
  }
  await waitFor(target.dir, 'freeze', () => v2Frozen(target.dir) === true,
    () => writeCgroupFile(target.dir, 'cgroup.freeze', '0'));
}

export async function thaw(handle: CgroupHandle): Promise<void> {
  const target = requireFreezer(handle, 'thaw');
  if (target.v1) {
    writeCgroupFile(target.dir, 'freezer.state', 'THAWED');
    await waitFor(target.dir, 'thaw',
      () => readCgroupFile(target.dir, 'freezer.state') === 'THAWED');
    return;
  }
  writeCgroupFile(target.dir, 'cgroup.freeze', '0');
  await waitFor(target.dir, 'thaw', () => v2Frozen(target.dir) !== true);
}

/** True when the kernel reports the cgroup fully frozen (not while still freezing). */
export function isFrozen(handle: CgroupHandle): boolean {
  const target = freezeTarget(handle);
  if (target === undefined) return false;
  if (target.v1) return readCgroupFile(target.dir, 'freezer.state') === 'FROZEN';
  return v2Frozen(target.dir) === true;
}

/**
 * isFrozen as a line to look for in a file, for a reader that is not hako's Node code (the
 * launcher's `state`): the file holds exactly this line when the cgroup is frozen.
 */
export function frozenLine(handle: CgroupHandle): { file: string; line: string } | undefined {
  const target = freezeTarget(handle);
  if (target === undefined) return undefined;
  return target.v1
    ? { file: join(target.dir, 'freezer.state'), line: 'FROZEN' }
    : { file: join(target.dir, 'cgroup.events'), line: 'frozen 1' };
}

/** The directory whose cgroup.procs stands for the container. */
export function primaryDir(handle: CgroupHandle): string {
  if (handle.kind === 'v2' && handle.v2 !== undefined) return handle.v2;
  for (const controller of ['pids', 'freezer', 'memory', 'cpu', 'devices']) {
    const dir = handle.v1[controller];
    if (dir !== undefined) return dir;
  }
  const any = Object.values(handle.v1)[0] ?? handle.v2;
  if (any === undefined) throw new HakoError('cgroups: the handle names no cgroup directory');
  return any;
}

/** The container's own directory in each hierarchy, each once (comounted v1 ones share one). */
export function containerDirs(handle: CgroupHandle): string[] {
  const dirs = new Set(Object.values(handle.v1));
  if (handle.v2 !== undefined) dirs.add(handle.v2);
  return [...dirs];
}

interface FreezeTarget {
  dir: string;
  v1: boolean;
}

// The v1 freezer when it is mounted; otherwise the cgroup2 directory, whose freezer is part
// of the core (no controller to enable), also on hybrid.
function freezeTarget(handle: CgroupHandle): FreezeTarget | undefined {
  const freezer = handle.v1.freezer;
  if (freezer !== undefined) return { dir: freezer, v1: true };
  if (handle.v2 !== undefined) return { dir: handle.v2, v1: false };
  return undefined;
}

function requireFreezer(handle: CgroupHandle, op: string): FreezeTarget {
  const target = freezeTarget(handle);
  if (target === undefined) {
    throw new HakoError(`${op}: no freezer (neither the v1 freezer nor cgroup v2 is mounted)`);
  }
  return target;
}

/** cgroup.events' "frozen" field; undefined when the kernel has no v2 freezer. */
function v2Frozen(dir: string): boolean | undefined {
  const events = readCgroupFile(dir, 'cgroup.events') ?? '';
  const match = /^frozen (\d)$/m.exec(events);
  return match === null ? undefined : match[1] === '1';
}

async function waitFor(
  dir: string,
  op: string,
  done: () => boolean,
  undo?: () => void,
): Promise<void> {
  const deadline = Date.now() + FREEZE_TIMEOUT_MS;
  for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
    if (done()) return;
    if (Date.now() > deadline) break;
    await sleep(delay);
  }
  try {
    undo?.();
  } catch (err) {
    if (!(err instanceof CgroupFileError)) throw err;
  }
  throw new HakoError(`${op} ${dir}: not done after ${FREEZE_TIMEOUT_MS / 1000} s`);
}
