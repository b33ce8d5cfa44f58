/**
 * The record `create` leaves for the launcher (native/launcher): with it, `start`, `state`,
 * `kill` and `delete` of a container run as a few system calls in C instead of a Node start.
 * Everything in it is decided here: which commands may go the fast way (none with hooks to
 * run), the EXEC frame `start` sends, the JSON `state` prints, what `delete` removes and in
 * which order. The launcher only carries it out, and hands anything else to Node.
 * native/launcher/record.c describes the format.
 */
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { containerDirs, frozenLine, removalOrder } from '../cgroups/index.js';
import { formatGoJson } from '../log.js';
import { type ContainerState, toRuncState } from '../state/store.js';
import { execFrame } from '../sys/agent.js';
import { cgroupOf, execPlanOf, execRequestOf } from './common.js';

/** How the launcher hands a failed exec's errno to Node's `start` (lifecycle/start.ts). */
export const LAUNCHER_START_ERRNO = 'HAKO_FAST_START_ERRNO';

export const RECORD_FILE = 'fast';
const EXEC_FILE = 'fast-exec';
const STATE_FILE = 'fast-state';

export interface FastRecord {
  /** The lines of `fast`, each ending in a newline. */
  record: string;
  /** `fast-exec`: the EXEC frame, when `start` may go the fast way. */
  exec?: Buffer;
  /** `fast-state`: the state JSON cut at the pid and the status, NUL between the parts. */
  state: string;
}

/**
 * The record of a created container, or null when the launcher cannot be given one (a value
 * with a newline in it, no start time of the init): then every command goes to Node.
 */
export function fastRecord(state: ContainerState): FastRecord | null {
  const template = stateTemplate(state);
  if (template === null || state.pidStartTime === '') return null;

  const hooks = state.config.hooks;
  const canStart = !hooks?.startContainer?.length && !hooks?.poststart?.length;
  const lines = ['version 1', `pid ${state.pid}`, `start-time ${state.pidStartTime}`];
  if (canStart) lines.push('start');
  if (!hooks?.poststop?.length) lines.push('delete');

  const cgroup = cgroupOf(state);
  for (const dir of containerDirs(cgroup)) lines.push(`cgroup-check ${dir}`);
  for (const { dir, leaf } of removalOrder(cgroup)) {
    lines.push(`cgroup-${leaf ? 'remove' : 'prune'} ${dir}`);
  }
  const frozen = frozenLine(cgroup);
  if (frozen) lines.push(`paused-file ${frozen.file}`, `paused-line ${frozen.line}`);

  if (lines.some((line) => line.includes('\n'))) return null;
  return {
    record: lines.map((line) => `${line}\n`).join(''),
    exec: canStart ? execFrame(execRequestOf(execPlanOf(state))) : undefined,
    state: template,
  };
}

/**
 * Writes the record into the container's directory, before state.json: the launcher takes a
 * record only once state.json exists. Not being able to write it costs speed, not function.
 */
export function writeFastRecord(dir: string, state: ContainerState): void {
  const made = fastRecord(state);
  if (made === null) return;
  try {
    if (made.exec) writeFileSync(join(dir, EXEC_FILE), made.exec, { mode: 0o600 });
    writeFileSync(join(dir, STATE_FILE), made.state, { mode: 0o600 });
    // The record last, by rename: a launcher never reads half of it.
    const tmp = join(dir, `.${RECORD_FILE}.tmp`);
    writeFileSync(tmp, made.record, { mode: 0o600 });
    renameSync(tmp, join(dir, RECORD_FILE));
  } catch {
    rmSync(join(dir, RECORD_FILE), { force: true });
  }
}

/**
 * `state`'s JSON for this container (as lifecycle/describe.ts prints it) cut around the values
 * that change: prefix NUL middle NUL suffix, the pid going between prefix and middle and the
 * status between middle and suffix. Keys are written in a fixed order and strings escaped,
 * so the first `"pid": ` and `"status": "` after a line break are those keys.
 */
export function stateTemplate(state: ContainerState): string | null {
  const text = formatGoJson(toRuncState(state, 'running', ''), 2);
  const pidKey = '\n  "pid": ';
  const statusKey = '\n  "status": "';
  const pidAt = text.indexOf(pidKey) + pidKey.length;
  const pidEnd = pidAt + String(state.pid).length;
  const statusAt = text.indexOf(statusKey) + statusKey.length;
  const statusEnd = statusAt + 'running'.length;
  if (text.slice(pidAt, pidEnd) !== String(state.pid) || pidAt < pidKey.length ||
    text.slice(statusAt, statusEnd) !== 'running' || statusAt < pidEnd) {
    return null;
  }
  return `${text.slice(0, pidAt)}\0${text.slice(pidEnd, statusAt)}\0${text.slice(statusEnd)}`;
}
