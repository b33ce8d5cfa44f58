import { existsSync, readFileSync } from 'node:fs';

/** The four values podman and containerd accept from `state`. */
export type ContainerStatus = 'created' | 'running' | 'paused' | 'stopped';

export interface ProcStat {
  /** Field 3: R, S, D, Z, T, X ... */
  state: string;
  /** Field 22, clock ticks since boot, kept as text the way runc records it. */
  startTime: string;
}

/**
 * Reads /proc/<pid>/stat; null when the process does not exist (or the file is unreadable
 * or malformed, which for a state query means the same thing).
 */
export function readProcStat(pid: number, procRoot = '/proc'): ProcStat | null {
  if (!Number.isInteger(pid) || pid <= 0) return null;

  let text: string;
  try {
    text = readFileSync(`${procRoot}/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }

  // Field 2 is "(comm)" and comm may hold spaces and parentheses of its own, so the fields
  // that follow start after the last ')' in the line.
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  const fields = text.slice(close + 1).trim().split(/ +/);
  // fields[0] is field 3 (state), so field N is fields[N - 3].
  const state = fields[0];
  const startTime = fields[22 - 3];
  if (state === undefined || startTime === undefined || !/^\d+$/.test(startTime)) return null;
  return { state, startTime };
}

/** True when `pid` runs and is not a zombie; with `startTime`, also when it is the same process. */
export function isAlive(pid: number, startTime?: string, procRoot = '/proc'): boolean {
  const stat = readProcStat(pid, procRoot);
  if (stat === null) return false;
  if (stat.state === 'Z' || stat.state === 'X') return false;
  // A different start time means the pid was reused by another process after ours died.
  if (startTime !== undefined && stat.startTime !== startTime) return false;
  return true;
}

/** What containerStatus needs of a container's recorded state. */
export interface StatusInput {
  pid: number;
  pidStartTime: string;
}

export interface StatusOptions {
  /** The container's start socket: present while the init waits for `start`. */
  startSocket: string;
  /** Reports whether the container's cgroup is frozen; asked only when the init is alive. */
  isFrozen?: () => boolean;
  procRoot?: string;
}

/**
 * The status of a container from its recorded init pid and start time.
 *
 * `start` connects to the start socket and then unlinks it, so the socket's presence is what
 * separates a created container from a running one.
 */
export function containerStatus(state: StatusInput, opts: StatusOptions): ContainerStatus {
  if (!isAlive(state.pid, state.pidStartTime, opts.procRoot)) return 'stopped';
  if (opts.isFrozen?.() === true) return 'paused';
  return existsSync(opts.startSocket) ? 'created' : 'running';
}
