/**
 * Puts the agent into the container's namespaces: the user namespace first (every other
 * namespace is owned by it), then the joined ones, then the new ones. The pid and time
 * namespaces only apply to children, so they are entered before the init is forked; the cgroup
 * namespace is entered by the init after it joined its cgroup, so that cgroup is its root.
 */
import { writeFileSync } from 'node:fs';

import { HakoError } from '../errors.js';
import {
  CLONE_NEWCGROUP, CLONE_NEWNS, CLONE_NEWUSER, NAMESPACES, isNamespaceType,
} from '../spec/linux.js';
import type { LinuxIDMapping, Spec } from '../spec/types.js';
import { ForkMode, type Sys } from '../sys/sys.js';

export interface NamespacePlan {
  /** A new user namespace with these mappings, or a path to join, or neither. */
  user?: { path?: string; uidMappings: LinuxIDMapping[]; gidMappings: LinuxIDMapping[] };
  /** Namespaces joined by path, the mount namespace last (paths resolve in the current one). */
  joins: { type: string; path: string; flag: number }[];
  /** New namespaces made before the fork (everything but user and cgroup). */
  unshareFlags: number;
  /** The cgroup namespace: new, joined, or the host's. */
  cgroup?: { path?: string };
  /** linux.timeOffsets as /proc/<pid>/timens_offsets takes them, for a new time namespace. */
  timeOffsets?: string;
  /** Types that are new or joined, for the checks of the rootfs and hostname steps. */
  types: Set<string>;
  newTypes: Set<string>;
}

export function planNamespaces(spec: Spec): NamespacePlan {
  const plan: NamespacePlan = { joins: [], unshareFlags: 0, types: new Set(), newTypes: new Set() };
  for (const ns of spec.linux?.namespaces ?? []) {
    if (!isNamespaceType(ns.type)) {
      throw new HakoError(`config.json: unknown namespace type "${ns.type}"`);
    }
    const info = NAMESPACES[ns.type];
    plan.types.add(ns.type);
    if (!ns.path) plan.newTypes.add(ns.type);
    if (ns.type === 'user') {
      plan.user = {
        path: ns.path || undefined,
        uidMappings: spec.linux?.uidMappings ?? [],
        gidMappings: spec.linux?.gidMappings ?? [],
      };
    } else if (ns.type === 'cgroup') {
      plan.cgroup = { path: ns.path || undefined };
    } else if (ns.path) {
      plan.joins.push({ type: ns.type, path: ns.path, flag: info.flag });
    } else {
      plan.unshareFlags |= info.flag;
    }
  }
  plan.joins.sort((a, b) => Number(a.flag === CLONE_NEWNS) - Number(b.flag === CLONE_NEWNS));

  if (plan.user && !plan.user.path && plan.user.uidMappings.length === 0) {
    throw new HakoError('config.json: linux.uidMappings: a new user namespace needs mappings');
  }
  if (!plan.user && (spec.linux?.uidMappings?.length || spec.linux?.gidMappings?.length)) {
    throw new HakoError('config.json: linux.uidMappings: mappings given without a user namespace');
  }
  plan.timeOffsets = timeOffsetsText(spec, plan);
  return plan;
}

/**
 * Runs in the agent's first process. `agentPid` is that process, whose maps this process
 * writes. Returns the host pid of the forked init.
 */
export async function enterNamespaces(
  sys: Sys,
  agentPid: number,
  plan: NamespacePlan,
  mode: ForkMode,
): Promise<number> {
  if (plan.user?.path) {
    await sys.setns(plan.user.path, CLONE_NEWUSER);
    await becomeRoot(sys);
  } else if (plan.user) {
    await sys.unshare(CLONE_NEWUSER);
    // The maps can only be written once the agent is in its new user namespace.
    await sys.flush();
    writeIdMap(agentPid, 'uid_map', plan.user.uidMappings);
    writeIdMap(agentPid, 'gid_map', plan.user.gidMappings);
    await becomeRoot(sys);
  }

  for (const join of plan.joins) await sys.setns(join.path, join.flag);
  if (plan.unshareFlags) await sys.unshare(plan.unshareFlags);
  // The offsets can only be set before a process enters the new time namespace: the init
  // forked next is its first member. The agent must have unshared it already.
  if (plan.timeOffsets) {
    await sys.flush();
    writeProcFile(agentPid, 'timens_offsets', plan.timeOffsets, 'timeOffsets');
  }
  return sys.forkInit(mode);
}

/** In the init, after it joined its cgroup. */
export async function enterCgroupNamespace(sys: Sys, plan: NamespacePlan): Promise<void> {
  if (!plan.cgroup) return;
  if (plan.cgroup.path) await sys.setns(plan.cgroup.path, CLONE_NEWCGROUP);
  else await sys.unshare(CLONE_NEWCGROUP);
}

/** Root of the new user namespace, so that what the setup creates belongs to its root. */
async function becomeRoot(sys: Sys): Promise<void> {
  await sys.setresgid(0);
  await sys.setresuid(0);
}

/** The kernel takes a map in one write; as root in the parent namespace no setgroups deny is needed. */
function writeIdMap(pid: number, file: 'uid_map' | 'gid_map', mappings: LinuxIDMapping[]): void {
  if (mappings.length === 0) return;
  const text = mappings.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');
  writeProcFile(pid, file, text, file === 'uid_map' ? 'uidMappings' : 'gidMappings');
}

function writeProcFile(pid: number, file: string, text: string, field: string): void {
  try {
    writeFileSync(`/proc/${pid}/${file}`, text);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    const value = text.trim().replaceAll('\n', '; ');
    throw new HakoError(`write /proc/${pid}/${file} (linux.${field} "${value}"): ${code}`);
  }
}

/** runc refuses offsets that no new time namespace would receive; so does hako. */
function timeOffsetsText(spec: Spec, plan: NamespacePlan): string | undefined {
  const offsets = Object.entries(spec.linux?.timeOffsets ?? {});
  if (offsets.length === 0) return undefined;
  if (!plan.newTypes.has('time')) {
    throw new HakoError('config.json: linux.timeOffsets: needs a new time namespace');
  }
  return offsets.map(([clock, o]) => `${clock} ${o.secs ?? 0} ${o.nanosecs ?? 0}\n`).join('');
}

export { ForkMode };
