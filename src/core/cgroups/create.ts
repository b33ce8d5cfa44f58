import { existsSync } from 'node:fs';
import { dirname } from 'node:path';

import { HakoError } from '../errors.js';
import type { LinuxResources } from '../spec/types.js';
import { neededControllers, requireControllers } from './controllers.js';
import { CgroupFileError, makeDir, readCgroupFile, removeDir, writeCgroupFile } from './files.js';
import { detectLayout } from './layout.js';
import { parseCgroupsPath, resolveCgroupDirs } from './paths.js';
import type { CgroupHandle, CgroupKind, CgroupLog, CgroupOptions } from './types.js';
import { applyV1Resources } from './v1-resources.js';
import { applyV2Resources, checkV2Resources } from './v2-resources.js';

/**
 * Creates the container's cgroup in every mounted hierarchy and applies its resources.
 * Nothing is left behind on failure: the directories this call made are removed again.
 */
export function createCgroup(
  id: string,
  cgroupsPath: string | undefined,
  resources: LinuxResources | undefined,
  opts: CgroupOptions = {},
): CgroupHandle {
  const layout = opts.layout ?? detectLayout();
  const r = resources ?? {};
  const dirs = resolveCgroupDirs(layout, parseCgroupsPath(id, cgroupsPath), opts.selfCgroup);
  const handle: CgroupHandle = { kind: layout.kind, v1: dirs.v1, created: [], unenforced: [] };
  if (dirs.v2 !== undefined) handle.v2 = dirs.v2;

  try {
    if (layout.kind === 'v2') {
      createV2(handle, handle.v2 as string, r, opts.log);
    } else {
      createV1(handle, r, opts.log);
    }
  } catch (err) {
    for (const dir of [...handle.created].reverse()) removeDir(dir);
    throw err;
  }
  opts.log?.debug(`cgroups: created ${handle.created.join(', ') || 'nothing (all existed)'}`);
  return handle;
}

/**
 * Applies new resources to an existing cgroup (`hako update`). Returns the resource kinds
 * that this hierarchy cannot enforce.
 */
export function updateResources(
  handle: CgroupHandle,
  resources: LinuxResources,
  opts: { log?: CgroupLog } = {},
): string[] {
  if (handle.kind === 'v2') {
    const dir = handle.v2 as string;
    checkV2Resources(resources);
    const enabled = readCgroupFile(dir, 'cgroup.controllers');
    if (enabled !== undefined) {
      const available = enabled.split(/\s+/);
      requireControllers(neededControllers(resources, 2), (c) => available.includes(c),
        (c, what) => missingV2(c, what, dir));
    }
    return applyV2Resources(dir, resources, opts.log);
  }

  requireControllers(neededControllers(resources, 1), (c) => handle.v1[c] !== undefined,
    (c, what) => missingV1(c, what, handle.kind));
  applyV1Resources(handle.v1, resources, opts.log);
  return [];
}

function createV1(handle: CgroupHandle, r: LinuxResources, log?: CgroupLog): void {
  requireControllers(neededControllers(r, 1), (c) => handle.v1[c] !== undefined,
    (c, what) => missingV1(c, what, handle.kind));

  for (const dir of new Set(Object.values(handle.v1))) makeDirs(dir, handle.created);
  // On hybrid the cgroup2 directory only records membership; it has no controllers to use.
  if (handle.v2 !== undefined) makeDirs(handle.v2, handle.created);

  const cpuset = handle.v1.cpuset;
  if (cpuset !== undefined) initCpuset(cpuset, handle.created);
  applyV1Resources(handle.v1, r, log);
}

function createV2(handle: CgroupHandle, leaf: string, r: LinuxResources, log?: CgroupLog): void {
  checkV2Resources(r);
  const needs = neededControllers(r, 2);
  const ancestor = deepestExisting(leaf);
  const available = (readCgroupFile(ancestor, 'cgroup.controllers') ?? '')
    .split(/\s+/)
    .filter((c) => c !== '');
  const isAvailable = (c: string): boolean => available.includes(c);
  requireControllers(needs, isAvailable, (c, what) => missingV2(c, what, ancestor));

  makeDirs(leaf, handle.created);

  // Like runc, every available controller is enabled down to the new cgroup (so that stats
  // work), but only a controller the resources need may fail.
  const chain = ancestor === leaf ? [] : [ancestor, ...handle.created.filter((d) => d !== leaf)];
  for (const dir of chain) enableControllers(dir, available, needs, log);

  handle.unenforced = applyV2Resources(leaf, r, log);
}

function missingV1(controller: string, what: string, kind: CgroupKind): string {
  return `${what}: the ${controller} cgroup controller is not mounted (cgroup ${kind})`;
}

const V1_ONLY = new Set(['net_cls', 'net_prio', 'devices', 'freezer', 'cpuacct', 'blkio']);

function missingV2(controller: string, what: string, dir: string): string {
  if (V1_ONLY.has(controller)) return `${what}: cgroup v2 has no ${controller} controller`;
  return `${what}: the cgroup v2 controller "${controller}" is not available ` +
    `(not in ${dir}/cgroup.controllers)`;
}

function deepestExisting(dir: string): string {
  let cur = dir;
  while (!existsSync(cur) && dirname(cur) !== cur) cur = dirname(cur);
  return cur;
}

/**
 * mkdir -p that records what it made. Another container's removal may delete a shared
 * parent between our check and our mkdir (ENOENT); the walk is then retried.
 */
function makeDirs(dir: string, created: string[]): void {
  for (let attempt = 0; ; attempt++) {
    try {
      const missing: string[] = [];
      for (let cur = dir; !existsSync(cur) && dirname(cur) !== cur; cur = dirname(cur)) {
        missing.unshift(cur);
      }
      for (const path of missing) if (makeDir(path)) created.push(path);
      return;
    } catch (err) {
      if (attempt >= 2 || !(err instanceof CgroupFileError) || err.code !== 'ENOENT') throw err;
    }
  }
}

/**
 * A new v1 cpuset cgroup starts with empty cpuset.cpus and cpuset.mems, and the kernel
 * refuses to let a task join it (ENOSPC) until both are set: copy the parent's values into
 * each new level, top down.
 */
function initCpuset(leaf: string, created: string[]): void {
  const chain = created.filter((d) => d === leaf || leaf.startsWith(`${d}/`));
  if (!chain.includes(leaf)) chain.push(leaf);
  for (const dir of chain) {
    for (const file of ['cpuset.cpus', 'cpuset.mems']) {
      if ((readCgroupFile(dir, file) ?? '') !== '') continue;
      const inherited = readCgroupFile(dirname(dir), file) ?? '';
      if (inherited !== '') writeCgroupFile(dir, file, inherited);
    }
  }
}

function enableControllers(
  dir: string,
  controllers: string[],
  needs: Map<string, string>,
  log?: CgroupLog,
): void {
  const enabled = (readCgroupFile(dir, 'cgroup.subtree_control') ?? '').split(/\s+/);
  const missing = controllers.filter((c) => !enabled.includes(c));
  if (missing.length === 0) return;
  try {
    writeCgroupFile(dir, 'cgroup.subtree_control', missing.map((c) => `+${c}`).join(' '));
    return;
  } catch {
    // One refused controller fails the whole write: retry one by one to find it.
  }
  for (const controller of missing) {
    try {
      writeCgroupFile(dir, 'cgroup.subtree_control', `+${controller}`);
    } catch (err) {
      const what = needs.get(controller);
      const reason = err instanceof Error ? err.message : String(err);
      if (what !== undefined) throw new HakoError(`${what}: enabling ${controller}: ${reason}`);
      log?.debug(`cgroups: leaving ${controller} disabled: ${reason}`);
    }
  }
}
