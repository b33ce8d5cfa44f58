/**
 * What hako reads on the host while planning the container's mounts. Bind sources are host
 * paths, so their type is learned here with node:fs rather than through the agent; the mount
 * table tells which flags a user namespace locks and which mount holds the rootfs.
 */
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';

import {
  MS_NOATIME, MS_NODEV, MS_NODIRATIME, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_RELATIME,
  MS_STRICTATIME,
} from '../spec/linux.js';

export interface HostMount {
  mountPoint: string;
  fstype: string;
  /** Per-mount flags: MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC and the access-time flags. */
  flags: number;
}

export interface HostView {
  /** Following symlinks; throws the node:fs error (with `errno`) when it cannot be stat-ed. */
  fileType(path: string): 'directory' | 'other';
  /** The path with symlinks resolved; throws the node:fs error. */
  realpath(path: string): string;
  exists(path: string): boolean;
  /** The mount holding `path` (its real path): the top one at the longest mount point. */
  mountOf(path: string): HostMount;
  /** hako itself runs in a user namespace other than the initial one. */
  inUserNamespace(): boolean;
}

/** Flags a user namespace locks on mounts it inherits (the kernel's MNT_LOCK_*). */
export const LOCKABLE_FLAGS = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME
  | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME;

/** The access-time choice: one of these (MS_NODIRATIME is separate). */
export const ATIME_FLAGS = MS_NOATIME | MS_RELATIME | MS_STRICTATIME;

const OPTION_FLAGS: ReadonlyMap<string, number> = new Map([
  ['ro', MS_RDONLY],
  ['nosuid', MS_NOSUID],
  ['nodev', MS_NODEV],
  ['noexec', MS_NOEXEC],
  ['noatime', MS_NOATIME],
  ['nodiratime', MS_NODIRATIME],
  ['relatime', MS_RELATIME],
]);

let hostMountinfo: string | undefined;

/** The host as node:fs and /proc/self/mountinfo show it. */
export const nodeHost: HostView = {
  fileType(path) {
    return statSync(path).isDirectory() ? 'directory' : 'other';
  },
  realpath(path) {
    return realpathSync(path);
  },
  exists(path) {
    return existsSync(path);
  },
  mountOf(path) {
    let real = path;
    try {
      real = realpathSync(path);
    } catch {
      // A path that does not resolve is looked up as written.
    }
    // Read once: hako's own mount table does not change while it sets a container up
    // (the container's mounts are made in the container's mount namespace).
    hostMountinfo ??= readFileSync('/proc/self/mountinfo', 'utf8');
    return findMount(hostMountinfo, real);
  },
  inUserNamespace() {
    try {
      const map = readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/);
      return map.join(' ') !== '0 0 4294967295';
    } catch {
      return false;
    }
  },
};

/** The mount holding `path` in a mountinfo text. */
export function findMount(mountinfo: string, path: string): HostMount {
  let best: HostMount = { mountPoint: '/', fstype: '', flags: 0 };
  let bestLength = -1;
  for (const line of mountinfo.split('\n')) {
    const fields = line.trim().split(' ');
    const sep = fields.indexOf('-', 6);
    if (fields.length < 10 || sep < 0) continue;
    const mountPoint = unescape(fields[4]);
    const within = path === mountPoint || mountPoint === '/'
      || path.startsWith(`${mountPoint}/`);
    // Later lines are mounted on top of earlier ones at the same point, so `>=`.
    if (!within || mountPoint.length < bestLength) continue;
    bestLength = mountPoint.length;
    best = { mountPoint, fstype: fields[sep + 1], flags: mountFlags(fields[5].split(',')) };
  }
  return best;
}

function mountFlags(options: string[]): number {
  let flags = 0;
  for (const option of options) flags |= OPTION_FLAGS.get(option) ?? 0;
  // mountinfo prints no word for strict atime: it is what a mount without the others has.
  if ((flags & (MS_NOATIME | MS_RELATIME)) === 0) flags |= MS_STRICTATIME;
  return flags;
}

function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}
