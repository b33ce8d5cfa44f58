import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { HakoError } from '../errors.js';
import type { CgroupLayout } from './types.js';

/** A validated cgroupsPath: `path` has no `.`/`..` left and no leading or trailing slash. */
export interface CgroupsPath {
  /** Relative paths are placed under the caller's own cgroup, as runc does. */
  relative: boolean;
  path: string;
}

/** The caller's cgroups from /proc/<pid>/cgroup: per v1 controller, and the cgroup2 path. */
export interface ProcCgroup {
  v1: Map<string, string>;
  v2?: string;
}

/** Directories of one container cgroup, per v1 controller and in the cgroup2 tree. */
export interface CgroupDirs {
  v1: Record<string, string>;
  v2?: string;
}

// systemd's form is "slice:prefix:name": three fields, no slash in any of them.
const SYSTEMD_PATH = /^[^/:]*:[^/:]*:[^/:]+$/;

/** Validates linux.cgroupsPath; empty means `/hako/<id>`. */
export function parseCgroupsPath(id: string, cgroupsPath?: string): CgroupsPath {
  if (cgroupsPath === undefined || cgroupsPath === '') {
    if (id === '' || id.includes('/') || id === '.' || id === '..') {
      throw new HakoError(`cgroupsPath: container id "${id}" cannot name a cgroup`);
    }
    return { relative: false, path: `hako/${id}` };
  }
  if (SYSTEMD_PATH.test(cgroupsPath)) {
    throw new HakoError(
      `cgroupsPath "${cgroupsPath}": the systemd cgroup driver (slice:prefix:name) is not ` +
        'supported; use a cgroupfs path such as /hako/<id>',
    );
  }

  const relative = !cgroupsPath.startsWith('/');
  const kept: string[] = [];
  for (const part of cgroupsPath.split('/')) {
    if (part === '' || part === '.') continue;
    if (part !== '..') {
      kept.push(part);
      continue;
    }
    if (kept.length === 0) {
      const from = relative ? "the caller's cgroup" : 'the hierarchy root';
      throw new HakoError(`cgroupsPath "${cgroupsPath}": ".." leaves ${from}`);
    }
    kept.pop();
  }

  if (kept.length === 0) {
    const what = relative ? "the caller's own cgroup" : 'the root cgroup';
    throw new HakoError(`cgroupsPath "${cgroupsPath}": names ${what}, not a new cgroup`);
  }
  return { relative, path: kept.join('/') };
}

/** Parses /proc/<pid>/cgroup lines "id:controllers:path" (the path may contain ':'). */
export function parseProcCgroup(text: string): ProcCgroup {
  const result: ProcCgroup = { v1: new Map() };
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const id = line.slice(0, first);
    const controllers = line.slice(first + 1, second);
    const path = line.slice(second + 1);

    if (id === '0' && controllers === '') {
      result.v2 = path;
      continue;
    }
    for (const controller of controllers.split(',')) {
      if (controller !== '') result.v1.set(controller, path);
    }
  }
  return result;
}

/**
 * The container's directory in every mounted hierarchy. An absolute cgroupsPath is joined to
 * each mountpoint; a relative one to the directory of the caller's own cgroup there.
 */
export function resolveCgroupDirs(
  layout: CgroupLayout,
  cgroupsPath: CgroupsPath,
  selfCgroup?: string,
): CgroupDirs {
  let own: ProcCgroup | undefined;
  const ownCgroup = (): ProcCgroup => {
    own ??= parseProcCgroup(selfCgroup ?? readFileSync('/proc/self/cgroup', 'utf8'));
    return own;
  };

  const base = (key: string, mountpoint: string, ownPath: () => string | undefined): string => {
    if (!cgroupsPath.relative) return mountpoint;
    const path = ownPath();
    if (path === undefined) {
      throw new HakoError(`cgroupsPath "${cgroupsPath.path}": the caller has no ${key} cgroup`);
    }
    return join(mountpoint, insideMount(path, layout.mountRoots?.get(mountpoint) ?? '/', key));
  };

  const dirs: CgroupDirs = { v1: {} };
  for (const [controller, mountpoint] of layout.v1) {
    const from = base(controller, mountpoint, () => ownCgroup().v1.get(controller));
    dirs.v1[controller] = join(from, cgroupsPath.path);
  }
  if (layout.v2 !== undefined) {
    const v2 = layout.v2;
    dirs.v2 = join(base('cgroup2', v2, () => ownCgroup().v2), cgroupsPath.path);
  }
  return dirs;
}

/** The part of a cgroup path below the subtree a mount shows (its mountinfo root). */
function insideMount(path: string, mountRoot: string, key: string): string {
  if (mountRoot === '/') return path;
  if (path === mountRoot) return '/';
  if (path.startsWith(`${mountRoot}/`)) return path.slice(mountRoot.length);
  throw new HakoError(
    `cgroupsPath: the caller's ${key} cgroup ${path} is outside the mounted subtree ${mountRoot}`,
  );
}
