/**
 * Moving a process into a cgroup takes the kernel's cgroup_threadgroup_rwsem for writing,
 * and after a quiet spell that first waits for an RCU grace period: 8 to 15 ms on the
 * project's machines, longer than the rest of an `exec`. Moves that follow within about one
 * more grace period do not wait. runc and hako pay it once per container start or exec.
 *
 * `primeCgroupMoves` starts that wait at once, on a libuv thread, by moving hako into the
 * cgroup it is already in (which changes nothing), so that the grace period runs while hako
 * reads the config and starts the agent. The real move comes a few milliseconds later and
 * usually finds the way clear. Any failure is ignored: the real move words its own errors.
 */
import { closeSync, existsSync, openSync, readFileSync, write } from 'node:fs';
import { join } from 'node:path';

import { parseProcCgroup } from './paths.js';

/** Where each hierarchy is on a standard host: the v1 controllers, then cgroup2. */
const CANDIDATES: readonly [kind: 'v1' | 'v2', controller: string, mount: string][] = [
  ['v1', 'pids', '/sys/fs/cgroup/pids'],
  ['v1', 'memory', '/sys/fs/cgroup/memory'],
  ['v2', '', '/sys/fs/cgroup/unified'],
  ['v2', '', '/sys/fs/cgroup'],
];

export function primeCgroupMoves(procSelfCgroup?: string): void {
  const file = ownCgroupProcs(procSelfCgroup);
  if (file === undefined) return;
  // Opened here, so that only the write goes to the thread pool and starts at once: an async
  // open would queue the write behind whatever the main thread does next (spawning the agent,
  // planning), which is most of the grace period.
  let fd: number;
  try {
    fd = openSync(file, 'w');
  } catch {
    return;
  }
  write(fd, String(process.pid), () => closeSync(fd));
}

/** The cgroup.procs file of hako's own cgroup, when one of the usual mounts shows it. */
export function ownCgroupProcs(procSelfCgroup?: string): string | undefined {
  let text = procSelfCgroup;
  try {
    text ??= readFileSync('/proc/self/cgroup', 'utf8');
  } catch {
    return undefined;
  }
  const own = parseProcCgroup(text);
  for (const [kind, controller, mount] of CANDIDATES) {
    const path = kind === 'v1' ? own.v1.get(controller) : own.v2;
    if (path === undefined) continue;
    const file = join(mount, path, 'cgroup.procs');
    if (existsSync(file)) return file;
  }
  return undefined;
}
