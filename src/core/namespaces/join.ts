/**
 * Joining a running container's namespaces (`exec`): for every namespace type its config has,
 * new or joined, the agent enters the one its init is in, through /proc/<init>/ns/<name>.
 *
 * The user namespace comes first: the others are owned by it, and setns(2) into them needs
 * CAP_SYS_ADMIN there. The mount namespace comes last: the agent opens each path before its
 * setns, and once it is in the container's mounts the host's /proc/<init> is out of reach.
 * The pid and time namespaces apply to children only, which is why `exec` forks afterwards.
 */
import { statSync } from 'node:fs';

import { HakoError } from '../errors.js';
import {
  CLONE_NEWNS, CLONE_NEWUSER, NAMESPACES, type NamespaceInfo, isNamespaceType,
} from '../spec/linux.js';
import type { Spec } from '../spec/types.js';
import type { Sys } from '../sys/sys.js';

export interface NamespaceJoin {
  type: string;
  path: string;
  flag: number;
}

export interface JoinOptions {
  /** Where /proc is; tests pass a fake tree. */
  procRoot?: string;
  /** Whether two ns files name the same namespace; compared by device and inode when absent. */
  same?: (a: string, b: string) => boolean;
}

/**
 * The namespaces to enter, in order. One that this process is already in is left out:
 * setns(2) into one's own user namespace fails with EINVAL, and the others would be no-ops.
 */
export function planJoins(spec: Spec, initPid: number, opts: JoinOptions = {}): NamespaceJoin[] {
  const proc = opts.procRoot ?? '/proc';
  const same = opts.same ?? sameNamespace;
  const joins: NamespaceJoin[] = [];
  const seen = new Set<string>();
  for (const ns of spec.linux?.namespaces ?? []) {
    if (!isNamespaceType(ns.type)) {
      throw new HakoError(`config.json: unknown namespace type "${ns.type}"`);
    }
    if (seen.has(ns.type)) continue;
    seen.add(ns.type);
    const info: NamespaceInfo = NAMESPACES[ns.type];
    const path = `${proc}/${initPid}/ns/${info.procName}`;
    if (same(path, `${proc}/self/ns/${info.procName}`)) continue;
    joins.push({ type: ns.type, path, flag: info.flag });
  }
  const rank = (j: NamespaceJoin) =>
    j.flag === CLONE_NEWUSER ? 0 : j.flag === CLONE_NEWNS ? 2 : 1;
  return joins.sort((a, b) => rank(a) - rank(b));
}

/** setns into each, in the planned order. */
export async function joinNamespaces(sys: Sys, joins: readonly NamespaceJoin[]): Promise<void> {
  for (const join of joins) await sys.setns(join.path, join.flag);
}

/**
 * Device and inode of the two ns files. The container's file must exist: when it does not,
 * its init has just exited, and nothing could be joined.
 */
function sameNamespace(containerPath: string, ownPath: string): boolean {
  let theirs;
  try {
    theirs = statSync(containerPath);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new HakoError(`stat ${containerPath}: ${code}: the container's init has exited`);
  }
  try {
    const ours = statSync(ownPath);
    return ours.dev === theirs.dev && ours.ino === theirs.ino;
  } catch {
    // A kernel without this namespace type for us has none to compare with.
    return false;
  }
}
