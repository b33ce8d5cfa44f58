import {
  chmodSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';

import { HakoError } from '../errors.js';
import { mkdirAll } from '../mkdir-all.js';
import { nodeErrorDescription } from '../sys/failure.js';
import type { Spec } from '../spec/types.js';
import { validateId } from './id.js';
import type { ContainerStatus } from './status.js';

/** Any value JSON can hold: what other modules keep in the state without this one reading it. */
export type JsonValue =
  | string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** What `create` records in `<root>/<id>/state.json` for the commands that follow. */
export interface ContainerState {
  ociVersion: string;
  id: string;
  /** Host pid of the container's init; 0 until it exists. */
  pid: number;
  /** Field 22 of /proc/<pid>/stat when the init started: tells it apart from a reused pid. */
  pidStartTime: string;
  /** Absolute path of the bundle. */
  bundle: string;
  /** Absolute path of the root filesystem. */
  rootfs: string;
  /** RFC 3339 in UTC with nanoseconds, as runc writes it. */
  created: string;
  annotations: Record<string, string>;
  /** User name of the creating euid, as `list` shows it. */
  owner: string;
  config: Spec;
  /** Whatever the cgroup manager needs to find the container's cgroup again. */
  cgroup: JsonValue;
  /** Whatever the selected handler recorded. */
  handler?: JsonValue;
}

/** The object runc 1.1's `state` prints, keys in its order. */
export interface RuncState {
  ociVersion: string;
  id: string;
  pid: number;
  status: ContainerStatus;
  bundle: string;
  rootfs: string;
  created: string;
  annotations?: Record<string, string>;
  owner: string;
  /** hako's own: why a handler's workload failed after start, when one did. */
  error?: string;
}

const STATE_FILE = 'state.json';
const CREATING_FILE = 'creating.json';
const START_SOCKET = 'start.sock';
const HANDLER_ERROR = 'handler-error';

export interface RootEnvironment {
  env?: NodeJS.ProcessEnv;
  euid?: number;
  /** Whether this process runs in a user namespace other than the initial one. */
  inUserNamespace?: boolean;
}

/**
 * The state root when `--root` is absent, by runc's rule: /run/hako for root, and
 * $XDG_RUNTIME_DIR/hako for other users and for root in a user namespace whose USER is not
 * "root" (rootless podman). An empty XDG_RUNTIME_DIR counts as unset: rootful podman sends it
 * empty.
 */
export function defaultRoot(opts: RootEnvironment = {}): string {
  const env = opts.env ?? process.env;
  const xdg = env.XDG_RUNTIME_DIR ?? '';
  if (xdg === '') return '/run/hako';

  const euid = opts.euid ?? process.geteuid?.() ?? 0;
  if (euid !== 0) return join(xdg, 'hako');

  const inUserNs = opts.inUserNamespace ?? runsInUserNamespace();
  if (inUserNs && env.USER !== 'root') return join(xdg, 'hako');
  return '/run/hako';
}

/** The initial user namespace maps every uid to itself: "0 0 4294967295". */
export function runsInUserNamespace(uidMapPath = '/proc/self/uid_map'): boolean {
  try {
    const fields = readFileSync(uidMapPath, 'utf8').trim().split(/\s+/);
    return fields.join(' ') !== '0 0 4294967295';
  } catch {
    return false;
  }
}

/** The user name of `uid` from a passwd file, or "#<uid>" as runc's `list` shows an unknown one. */
export function ownerName(uid: number, passwdPath = '/etc/passwd'): string {
  let text = '';
  try {
    text = readFileSync(passwdPath, 'utf8');
  } catch {
    return `#${uid}`;
  }
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields.length >= 3 && fields[2] === String(uid) && fields[0] !== '') return fields[0];
  }
  return `#${uid}`;
}

/**
 * Now as RFC 3339 in UTC with nine fraction digits, the shape of runc's `created`. The wall
 * clock is read with microsecond resolution (performance.timeOrigin + performance.now()), so
 * the last three digits are zero.
 */
export function createdTimestamp(now: number = performance.timeOrigin + performance.now()): string {
  const ms = Math.floor(now);
  const micros = Math.floor((now - ms) * 1000);
  const iso = new Date(ms).toISOString(); // 2026-12-03T13:05:00.123Z
  return `${iso.slice(0, 23)}${String(micros).padStart(3, '0')}000Z`;
}

/**
 * The `state` output. runc prints `owner` empty in `state` and filled in `list`, so the caller
 * passes it; `pid` is 0 once the container has stopped; annotations appear only when present.
 */
export function toRuncState(state: ContainerState, status: ContainerStatus, owner = ''): RuncState {
  // Go writes map keys sorted, and runc omits an empty annotations map.
  const keys = Object.keys(state.annotations ?? {}).sort();
  const annotations = Object.fromEntries(keys.map((k) => [k, state.annotations[k] as string]));
  return {
    ociVersion: state.ociVersion,
    id: state.id,
    pid: status === 'stopped' ? 0 : state.pid,
    status,
    bundle: state.bundle,
    rootfs: state.rootfs,
    created: state.created,
    ...(keys.length > 0 ? { annotations } : {}),
    owner,
  };
}

/** One directory per container under the root: `<root>/<id>/{state.json,start.sock}`. */
export class StateStore {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  dir(id: string): string {
    validateId(id);
    return join(this.root, id);
  }

  startSocketPath(id: string): string {
    return join(this.dir(id), START_SOCKET);
  }

  /** Where a handler run by the Node engine writes why its workload failed after start. */
  handlerErrorPath(id: string): string {
    return join(this.dir(id), HANDLER_ERROR);
  }

  /** That reason, or undefined when there is none. */
  handlerError(id: string): string | undefined {
    try {
      const text = readFileSync(this.handlerErrorPath(id), 'utf8').trim();
      return text === '' ? undefined : text;
    } catch {
      return undefined;
    }
  }

  /**
   * Creates the container's directory and returns its path. mkdir is atomic: of two creates
   * racing for one id, exactly one succeeds and the other gets "already exists".
   */
  reserve(id: string): string {
    const dir = this.dir(id);
    try {
      mkdirAll(this.root, 0o700);
    } catch (err) {
      throw new HakoError(`create state root ${this.root}: ${reason(err)}`);
    }
    try {
      mkdirSync(dir, { mode: 0o711 });
    } catch (err) {
      if (errCode(err) === 'EEXIST') throw new HakoError(`container with id ${id} already exists`);
      throw new HakoError(`create state directory ${dir}: ${reason(err)}`);
    }
    // 0711 whatever the umask: a process that is root only in the container's user
    // namespace must still reach the start socket inside.
    chmodSync(dir, 0o711);
    return dir;
  }

  /** Replaces state.json atomically: readers see the old file or the new one, never a part. */
  write(id: string, state: ContainerState): void {
    const dir = this.dir(id);
    const tmp = join(dir, `.${STATE_FILE}.${process.pid}.tmp`);
    try {
      writeFileSync(tmp, JSON.stringify(state), { mode: 0o600 });
      renameSync(tmp, join(dir, STATE_FILE));
    } catch (err) {
      try {
        unlinkSync(tmp);
      } catch {
        // Nothing was written, or it is already gone.
      }
      if (errCode(err) === 'ENOENT') throw notExist(id);
      throw new HakoError(`write state of container "${id}": ${reason(err)}`);
    }
  }

  /**
   * What a create has made so far that outlives it (its cgroup), written before the agent
   * starts: `delete --force` of a create that was killed (SIGKILL, a caller's timeout) finds
   * it there, as state.json does not exist yet.
   */
  writeCreating(id: string, made: { cgroup: JsonValue }): void {
    try {
      writeFileSync(join(this.dir(id), CREATING_FILE), JSON.stringify(made), { mode: 0o600 });
    } catch (err) {
      throw new HakoError(`write state of container "${id}": ${reason(err)}`);
    }
  }

  /** What writeCreating left, or null (none, or unreadable: nothing is then known of it). */
  readCreating(id: string): { cgroup: JsonValue } | null {
    try {
      return JSON.parse(readFileSync(join(this.dir(id), CREATING_FILE), 'utf8')) as
        { cgroup: JsonValue };
    } catch {
      return null;
    }
  }

  read(id: string): ContainerState {
    const state = this.tryRead(id);
    if (state === null) throw notExist(id);
    return state;
  }

  /** Like read, but null when the container (or its state.json, mid-create) does not exist. */
  tryRead(id: string): ContainerState | null {
    const file = join(this.dir(id), STATE_FILE);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if (errCode(err) === 'ENOENT' || errCode(err) === 'ENOTDIR') return null;
      throw new HakoError(`read state of container "${id}": ${reason(err)}`);
    }
    return parseState(id, text);
  }

  /** Names of the container directories, sorted; one mid-create may not have a state yet. */
  list(): string[] {
    let entries;
    try {
      entries = readdirSync(this.root, { withFileTypes: true });
    } catch (err) {
      if (errCode(err) === 'ENOENT') return [];
      throw new HakoError(`list containers in ${this.root}: ${reason(err)}`);
    }
    return entries
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  }

  /** Removes the container's directory and all in it; nothing to remove is not an error. */
  remove(id: string): void {
    const dir = this.dir(id);
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch (err) {
      throw new HakoError(`remove state directory ${dir}: ${reason(err)}`);
    }
  }
}

function parseState(id: string, text: string): ContainerState {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new HakoError(`read state of container "${id}": state.json: ${reason(err)}`);
  }
  const v = value as Partial<ContainerState> | null;
  if (
    v === null || typeof v !== 'object' || v.id !== id || typeof v.pid !== 'number' ||
    typeof v.pidStartTime !== 'string' || typeof v.bundle !== 'string'
  ) {
    throw new HakoError(`read state of container "${id}": state.json: not a hako state`);
  }
  return v as ContainerState;
}

function notExist(id: string): HakoError {
  return new HakoError(`container "${id}" does not exist`);
}

function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

function reason(err: unknown): string {
  return nodeErrorDescription(err);
}
