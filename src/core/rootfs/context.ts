/**
 * What the rootfs steps share: the caller's context, facts derived once from the spec, and
 * the flags each mount ended up with (read back when a path inside it is remounted).
 */
import { posix } from 'node:path';

import type { CgroupHandle, CgroupLayout } from '../cgroups/types.js';
import type { LinuxNamespaceType, Spec } from '../spec/types.js';
import type { Sys } from '../sys/sys.js';
import type { HostView } from './host.js';

export interface RootfsContext {
  /** The bundle directory: a relative root.path and relative bind sources start there. */
  bundle: string;
  /** `--no-pivot`: MS_MOVE the rootfs onto / and chroot instead of pivot_root. */
  noPivot?: boolean;
  /**
   * The container's cgroup, for `cgroup` mounts: `kind` picks cgroup2 or the v1 hierarchies,
   * `v1` maps a controller (or `name=systemd`) to the container's directory in it.
   */
  cgroup?: Pick<CgroupHandle, 'kind' | 'v1'>;
  /** Where the host's v1 hierarchies and cgroup2 are mounted; read from mountinfo if absent. */
  cgroupLayout?: CgroupLayout;
  /**
   * Runs the createRuntime, prestart and createContainer hooks: called once every mount and
   * device is in place, before pivot_root, as runc does.
   */
  hooks?: () => Promise<void>;
  logger?: { debug(message: string): void };
  /** The host's files and mount table as seen by hako; node:fs and mountinfo if absent. */
  host?: HostView;
}

/** A mount of the container and the flags it ended with (MS_RDONLY, MS_NOSUID, ...). */
export interface MountedPath {
  destination: string;
  flags: number;
}

export interface RootfsState {
  sys: Sys;
  spec: Spec;
  ctx: RootfsContext;
  host: HostView;
  /** The rootfs as an absolute host path with symlinks resolved. */
  rootfs: string;
  /** The agent is in a user namespace: mknod is refused, host mount flags are locked. */
  userns: boolean;
  /** Mounts made so far, in order; the rootfs itself is the first, at "/". */
  mounted: MountedPath[];
}

export function hasNamespace(spec: Spec, type: LinuxNamespaceType): boolean {
  return (spec.linux?.namespaces ?? []).some((ns) => ns.type === type);
}

/** A container path made absolute and lexically clean ("/dev/../proc/" is "/proc"). */
export function cleanPath(path: string): string {
  return posix.resolve('/', path);
}

/** Whether `path` is `dir` or beneath it, lexically. */
export function isWithin(path: string, dir: string): boolean {
  return path === dir || dir === '/' || path.startsWith(`${dir}/`);
}

/**
 * The flags of the mount that holds `path` in the container, by the longest destination that
 * contains it: what a bind of that path onto itself must keep when remounted read-only.
 */
export function flagsAt(state: RootfsState, path: string): number {
  let best: MountedPath | undefined;
  for (const m of state.mounted) {
    if (!isWithin(path, m.destination)) continue;
    if (!best || m.destination.length >= best.destination.length) best = m;
  }
  return best?.flags ?? 0;
}

export function octal(mode: number): string {
  return `0${(mode & 0o7777).toString(8).padStart(3, '0')}`;
}
