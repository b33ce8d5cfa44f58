/**
 * What the lifecycle, errors and hooks tests share beyond helpers.ts: CLI calls whose
 * container inherits their stdio, polling, and the full list of what a container can leave
 * behind (state dir, cgroups, mounts, processes).
 */
import { type ChildProcess, type SpawnSyncOptions, spawn, spawnSync } from 'node:child_process';
import {
  closeSync, existsSync, openSync, readFileSync, readdirSync, readlinkSync,
} from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { HAKO, type Result, type Scratch, hostMountsMentioning } from './helpers.js';

let outputCounter = 0;

/**
 * Two files that stand in for stdout and stderr. `create` and `run --detach` hand their stdio
 * to the container, as runc does: a pipe would stay open as long as the container lives, and
 * spawnSync would wait for it.
 */
class OutputFiles {
  readonly out: string;
  readonly err: string;
  readonly fds: [number, number];

  constructor(dir: string) {
    const n = ++outputCounter;
    this.out = join(dir, `out-${process.pid}-${n}.txt`);
    this.err = join(dir, `err-${process.pid}-${n}.txt`);
    this.fds = [openSync(this.out, 'w'), openSync(this.err, 'w')];
  }

  /** What the CLI wrote. The container may write more later: read these right at exit. */
  read(status: number): Result {
    for (const fd of this.fds) closeSync(fd);
    return {
      status,
      stdout: readFileSync(this.out, 'utf8'),
      stderr: readFileSync(this.err, 'utf8'),
    };
  }
}

/**
 * `hako --root <scratch root> ...args`, stdout and stderr going to files; `launcher` runs
 * another copy of bin/hako than the tree's.
 */
export function hakoDetached(
  scratch: Scratch,
  args: string[],
  { launcher = HAKO, ...opts }: Pick<SpawnSyncOptions, 'env'> & { launcher?: string } = {},
): Result {
  const files = new OutputFiles(scratch.dir);
  const result = spawnSync(launcher, ['--root', scratch.root, ...args], {
    stdio: ['ignore', files.fds[0], files.fds[1]],
    timeout: 30_000,
    ...opts,
  });
  if (result.error) throw result.error;
  return files.read(result.status ?? 128 + 9);
}

export interface Running {
  child: ChildProcess;
  /** Settles when the CLI process exits (not when the container closes its stdio). */
  done: Promise<Result>;
}

/** Starts `hako --root <scratch root> ...args` without waiting; output goes to files. */
export function hakoAsync(scratch: Scratch, args: string[]): Running {
  const files = new OutputFiles(scratch.dir);
  const child = spawn(HAKO, ['--root', scratch.root, ...args], {
    stdio: ['ignore', files.fds[0], files.fds[1]],
  });
  const done = new Promise<Result>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      resolve(files.read(code ?? 128 + (signal === 'SIGKILL' ? 9 : 15)));
    });
  });
  return { child, done };
}

/** Polls `check` every 20 ms until it holds; throws naming `what` after `ms`. */
export async function waitFor(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** The parsed output of `hako state`; throws with hako's stderr when it fails. */
export function stateOf(scratch: Scratch, id: string): Record<string, unknown> {
  const result = scratch.hako(['state', id]);
  if (result.status !== 0) throw new Error(`hako state ${id}: ${result.stderr}`);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

export function statusOf(scratch: Scratch, id: string): string {
  return String(stateOf(scratch, id).status);
}

/** Field 3 of /proc/<pid>/stat, or undefined when there is no such process. */
function procState(pid: number): string | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return text.slice(text.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

/** A process that exists and is not a zombie (the host's init reaps orphans lazily). */
export function isLive(pid: number): boolean {
  const state = procState(pid);
  return state !== undefined && state !== 'Z' && state !== 'X';
}

export function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
  } catch {
    return [];
  }
}

function readOr(path: string, fallback = ''): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

/** Live hako-agent processes (the waiting init and the agents that create spawns). */
export function liveAgents(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => (cmdline(pid)[0] ?? '').endsWith('hako-agent') && isLive(pid));
}

/**
 * Live agents that belong to container `id`: in its cgroup, or with a mount of its bundle,
 * or named in `pids` (the init pid a --debug log reported). Other tests may run containers
 * at the same time, so agents are not simply counted.
 */
export function agentsOf(id: string, bundle: string, pids: number[] = []): number[] {
  return liveAgents().filter(
    (pid) =>
      pids.includes(pid) ||
      readOr(`/proc/${pid}/cgroup`).split('\n').some((line) => line.endsWith(`/hako/${id}`)) ||
      readOr(`/proc/${pid}/mountinfo`).includes(bundle),
  );
}

/** Cgroup directories named after the container, in every hierarchy. */
export function cgroupDirs(id: string): string[] {
  return readdirSync('/sys/fs/cgroup')
    .map((hierarchy) => join('/sys/fs/cgroup', hierarchy, 'hako', id))
    .filter((dir) => existsSync(dir));
}

/**
 * Everything of container `id` that is still there, as readable lines: its state dir, its
 * cgroups, host mounts of its bundle, its live processes. An empty list means none.
 */
export function leftovers(scratch: Scratch, id: string, bundle: string, pids: number[] = []) {
  const found: string[] = [];
  const stateDir = join(scratch.root, id);
  if (existsSync(stateDir)) found.push(`state dir ${stateDir}`);
  for (const dir of cgroupDirs(id)) found.push(`cgroup ${dir}`);
  for (const line of hostMountsMentioning(bundle)) found.push(`mount ${line}`);
  for (const pid of agentsOf(id, bundle, pids)) {
    found.push(`process ${pid} ${cmdline(pid).join(' ')}`);
  }
  return found;
}

/** The init pid a `--debug` log reports ("container init is pid N"), if any. */
export function initPidFromLog(logText: string): number | undefined {
  const match = /container init is pid (\d+)/.exec(logText);
  return match ? Number(match[1]) : undefined;
}

/** The mount namespace of a process, as /proc/<pid>/ns/mnt names it. */
export function mountNamespace(pid: number | 'self'): string {
  return readlinkSync(`/proc/${pid}/ns/mnt`);
}

/** The lines of a CLI's stderr, without the trailing empty one. */
export function lines(text: string): string[] {
  return text.split('\n').filter((line) => line !== '');
}
