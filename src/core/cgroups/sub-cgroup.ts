/**
 * `exec --cgroup`: run the process in an existing cgroup below the container's, as runc does.
 * Each argument is `path` (every hierarchy) or `controller[,controller...]:path` (those v1
 * hierarchies only); a plain path must then be the only argument.
 */
import { posix } from 'node:path';

import { HakoError } from '../errors.js';
import type { CgroupHandle } from './types.js';

/** Controller → path below the container's cgroup; the key '' stands for every hierarchy. */
export type SubCgroupPaths = ReadonlyMap<string, string>;

export function parseSubCgroupPaths(args: readonly string[]): SubCgroupPaths {
  const paths = new Map<string, string>();
  for (const arg of args) {
    const colon = arg.indexOf(':');
    if (colon < 0) {
      if (args.length !== 1) {
        throw new HakoError(`invalid --cgroup argument: ${arg} (missing <controller>: prefix)`);
      }
      paths.set('', arg);
      continue;
    }
    const path = arg.slice(colon + 1);
    for (const controller of arg.slice(0, colon).split(',')) {
      if (controller === '') {
        throw new HakoError(`invalid --cgroup argument: ${arg} (empty <controller> prefix)`);
      }
      if (paths.has(controller)) {
        throw new HakoError(
          `invalid --cgroup argument(s): controller ${controller} specified multiple times`,
        );
      }
      paths.set(controller, path);
    }
  }
  return paths;
}

/**
 * The handle of the sub-cgroups to join. Controllers mounted together (cpu,cpuacct) share a
 * directory, so moving one moves them all: a process is in one cgroup per hierarchy.
 */
export function subCgroupHandle(handle: CgroupHandle, paths: SubCgroupPaths): CgroupHandle {
  const all = paths.get('');
  const moved = new Map<string, string>(); // the container's directory → the one to join
  const move = (dir: string, sub: string, what: string) => {
    const target = below(dir, sub);
    const earlier = moved.get(dir);
    if (earlier !== undefined && earlier !== target) {
      throw new HakoError(`invalid --cgroup argument(s): ${what} shares ${dir} with another ` +
        'controller given a different path');
    }
    moved.set(dir, target);
  };

  if (all !== undefined) {
    for (const dir of Object.values(handle.v1)) move(dir, all, 'controller');
    if (handle.v2 !== undefined) move(handle.v2, all, 'cgroup2');
  } else {
    for (const [controller, sub] of paths) {
      const dir = handle.v1[controller];
      if (dir === undefined) {
        throw new HakoError(`invalid --cgroup argument: unknown controller ${controller}`);
      }
      move(dir, sub, `controller ${controller}`);
    }
  }

  const v1 = Object.fromEntries(
    Object.entries(handle.v1).map(([controller, dir]) => [controller, moved.get(dir) ?? dir]),
  );
  const v2 = handle.v2 === undefined ? undefined : moved.get(handle.v2) ?? handle.v2;
  return { kind: handle.kind, v1, ...(v2 !== undefined && { v2 }), created: [], unenforced: [] };
}

function below(dir: string, sub: string): string {
  const target = posix.join(dir, sub);
  if (target !== dir && !target.startsWith(`${dir}/`)) {
    throw new HakoError(`invalid --cgroup argument: ${sub} is not a sub cgroup path`);
  }
  return target;
}
