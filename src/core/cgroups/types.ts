/** The shapes shared by the cgroup modules. */

/**
 * v1: only v1 hierarchies; hybrid: v1 controllers plus a cgroup2 mount (usually at
 * /sys/fs/cgroup/unified, with few or no controllers); v2: the unified hierarchy alone.
 */
export type CgroupKind = 'v1' | 'hybrid' | 'v2';

export interface CgroupLayout {
  kind: CgroupKind;
  /**
   * v1 controller → mountpoint. Comounted controllers (cpu,cpuacct) map to the same
   * mountpoint; a named hierarchy is keyed `name=<name>` (e.g. `name=systemd`).
   */
  v1: Map<string, string>;
  /** Mountpoint of the cgroup2 hierarchy, when one is mounted. */
  v2?: string;
  /**
   * Mountpoint → the path inside its hierarchy that is mounted there (mountinfo's root field).
   * `/` for an ordinary mount; a subtree inside a cgroup namespace or for a bind mount.
   * Missing entries mean `/`.
   */
  mountRoots?: Map<string, string>;
}

/**
 * A created cgroup, as plain JSON so it can be kept in the container's state and used by
 * another hako process (kill, pause, delete, events).
 */
export interface CgroupHandle {
  kind: CgroupKind;
  /** v1 controller (or `name=<name>`) → the container's directory in that hierarchy. */
  v1: Record<string, string>;
  /**
   * The container's directory in the cgroup2 hierarchy. On hybrid it only holds membership
   * (no controllers are used there).
   */
  v2?: string;
  /** Directories this creation made, parents before children; removal deletes only these. */
  created: string[];
  /** Resource kinds the spec asked for that this hierarchy cannot enforce ('devices' on v2). */
  unenforced: string[];
}

/** Where debug lines go; `Logger` from core/log.ts fits. */
export interface CgroupLog {
  debug(message: string): void;
}

export interface CgroupOptions {
  /** The hierarchies to use; detected from /proc/self/mountinfo when absent. */
  layout?: CgroupLayout;
  /** The caller's /proc/self/cgroup text, for relative cgroupsPath; read when absent. */
  selfCgroup?: string;
  log?: CgroupLog;
}
