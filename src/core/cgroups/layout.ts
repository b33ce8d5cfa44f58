import { readFileSync } from 'node:fs';

import { HakoError } from '../errors.js';
import type { CgroupKind, CgroupLayout } from './types.js';

/** Mount options of a v1 cgroup mount that are not controller names. */
const V1_OPTIONS = new Set([
  'rw', 'ro', 'none', 'all', 'noprefix', 'clone_children', 'xattr', 'cpuset_v2_mode',
  'favordynmods', 'nosuid', 'nodev', 'noexec', 'relatime', 'noatime',
]);

interface MountEntry {
  id: string;
  parent: string;
  root: string;
  mountpoint: string;
  fstype: string;
  superOptions: string[];
}

/**
 * Finds the cgroup hierarchies from mountinfo (the caller's, /proc/self/mountinfo, when no
 * text is given). The first mount of a hierarchy wins, as later ones are usually bind mounts
 * of the same tree. Mounts hidden under a later mount are not reachable and are skipped: a
 * cgroup2 mounted over a v1 /sys/fs/cgroup in a private mount namespace makes a v2 system.
 */
export function detectLayout(mountinfo?: string): CgroupLayout {
  const text = mountinfo ?? readFileSync('/proc/self/mountinfo', 'utf8');
  const v1 = new Map<string, string>();
  const mountRoots = new Map<string, string>();
  let v2: string | undefined;
  let v1Controllers = 0;

  for (const entry of visibleCgroupMounts(text)) {
    if (entry.fstype === 'cgroup2') {
      if (v2 === undefined) {
        v2 = entry.mountpoint;
        mountRoots.set(entry.mountpoint, entry.root);
      }
      continue;
    }
    if (entry.fstype !== 'cgroup') continue;

    const controllers = v1ControllersOf(entry.superOptions);
    if (controllers.length === 0 || controllers.some((c) => v1.has(c))) continue;
    for (const controller of controllers) {
      v1.set(controller, entry.mountpoint);
      if (!controller.startsWith('name=')) v1Controllers++;
    }
    mountRoots.set(entry.mountpoint, entry.root);
  }

  const kind = layoutKind(v1Controllers > 0, v2 !== undefined);
  if (kind === undefined) {
    throw new HakoError('cgroups: no cgroup hierarchy is mounted (checked mountinfo)');
  }
  return { kind, v1, v2, mountRoots };
}

/**
 * The cgroup mounts not covered by a mount listed after them on the same or an enclosing
 * mount point (mountinfo lists mounts in the order they were made). A mount is not covered
 * by its own ancestors, which the list may show later (the root mount often comes after /proc).
 */
function visibleCgroupMounts(text: string): MountEntry[] {
  const entries = text.split('\n').map(parseMountinfoLine)
    .filter((e): e is MountEntry => e !== undefined);
  const parentOf = new Map(entries.map((e) => [e.id, e.parent]));
  const isAncestor = (candidate: string, of: MountEntry): boolean => {
    const seen = new Set<string>();
    for (let id: string | undefined = of.parent; id !== undefined && !seen.has(id);
      id = parentOf.get(id)) {
      if (id === candidate) return true;
      seen.add(id);
    }
    return false;
  };
  const encloses = (outer: string, inner: string): boolean =>
    outer === inner || outer === '/' || inner.startsWith(`${outer}/`);
  return entries.filter((entry, i) => entry.fstype.startsWith('cgroup') &&
    !entries.slice(i + 1).some((later) =>
      encloses(later.mountpoint, entry.mountpoint) && !isAncestor(later.id, entry)));
}

// Named v1 hierarchies alone (name=systemd beside a cgroup2 mount) do not make a system v1:
// they carry no controllers, so resources are all in the unified tree.
function layoutKind(hasV1: boolean, hasV2: boolean): CgroupKind | undefined {
  if (hasV1 && hasV2) return 'hybrid';
  if (hasV1) return 'v1';
  if (hasV2) return 'v2';
  return undefined;
}

/** Controllers (and `name=` hierarchies) named by a v1 mount's super options. */
function v1ControllersOf(options: string[]): string[] {
  return options.filter((opt) => {
    if (opt.startsWith('name=')) return opt.length > 'name='.length;
    return !V1_OPTIONS.has(opt) && !opt.includes('=');
  });
}

/**
 * One mountinfo line: "id parent maj:min root mountpoint options [optional...] - fstype
 * source superoptions". Optional fields vary in number, so the separator is searched for.
 */
export function parseMountinfoLine(line: string): MountEntry | undefined {
  const fields = line.trim().split(' ');
  const sep = fields.indexOf('-', 6);
  if (fields.length < 10 || sep < 0 || fields.length < sep + 4) return undefined;
  return {
    id: fields[0],
    parent: fields[1],
    root: unescapeMountinfo(fields[3]),
    mountpoint: unescapeMountinfo(fields[4]),
    fstype: fields[sep + 1],
    superOptions: fields[sep + 3].split(','),
  };
}

/** The kernel writes space, tab, newline and backslash in paths as octal escapes. */
function unescapeMountinfo(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}
