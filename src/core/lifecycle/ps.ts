/**
 * `ps`: the container's processes. The JSON form is the host pids of the container's cgroup
 * (containerd reads it); the table form is the host's ps(1) output cut down to the rows of
 * those pids, as runc prints it.
 */
import { spawnSync } from 'node:child_process';

import { listPids } from '../cgroups/index.js';
import { HakoError } from '../errors.js';
import { StateStore } from '../state/store.js';
import { cgroupOf } from './common.js';

/** Host pids of every process in the container's cgroup (and its sub-cgroups), ascending. */
export function containerPids(root: string, id: string): number[] {
  const state = new StateStore(root).read(id);
  return listPids(cgroupOf(state));
}

/** runc's table form runs `ps -ef` when no ps options follow the container id. */
export const DEFAULT_PS_ARGS: readonly string[] = ['-ef'];

/**
 * The header of ps(1) output and the rows whose PID column is one of `pids`. Options that
 * drop the PID column (`-o comm`) cannot be filtered and are refused, as runc refuses them.
 */
export function filterPsTable(output: string, pids: readonly number[]): string[] {
  const lines = output.split('\n');
  const header = lines[0] ?? '';
  const column = header.trim().split(/\s+/).indexOf('PID');
  if (column < 0) throw new HakoError('ps: no PID column in the ps output');

  const wanted = new Set(pids);
  const rows = [header];
  for (const line of lines.slice(1)) {
    if (line.trim() === '') continue;
    const field = line.trim().split(/\s+/)[column] ?? '';
    if (!/^\d+$/.test(field)) throw new HakoError(`ps: cannot read a pid in "${line.trim()}"`);
    if (wanted.has(Number(field))) rows.push(line);
  }
  return rows;
}

/** Runs the host's ps(1) with `args` and returns its standard output. */
export function runPs(args: readonly string[]): string {
  const result = spawnSync('ps', [...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const command = ['ps', ...args].join(' ');
  if (result.error !== undefined) {
    const code = (result.error as NodeJS.ErrnoException).code ?? result.error.message;
    throw new HakoError(`${command}: ${code}`);
  }
  if (result.status !== 0) {
    const why = result.signal !== null ? `killed by ${result.signal}` : `exit ${result.status}`;
    const detail = `${result.stderr}${result.stdout}`.trim().split('\n')[0] ?? '';
    throw new HakoError(`${command}: ${why}${detail === '' ? '' : `: ${detail}`}`);
  }
  return result.stdout;
}
