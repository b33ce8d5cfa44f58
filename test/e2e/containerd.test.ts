/**
 * containerd running tasks through containerd-shim-runc-v2 with hako as the shim's runtime
 * binary (`ctr run --runc-binary <repo>/bin/hako`), checked by what a ctr user sees.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Containerd, IMAGE, NAMESPACE } from './containerd-env.js';
import { PRINT_TTY_SIZE, cgroupDirs, waitFor } from './tools.js';

const containerd = new Containerd();

beforeAll(() => containerd.start(), 120_000);
afterAll(() => containerd.stop(), 120_000);

const hakoState = (id: string): string => containerd.hakoState(id);
const taskStatus = (id: string): string => containerd.taskStatus(id);
const detached = (id: string, script: string): { log: () => string } =>
  containerd.detached(id, script);

/** Deletes a stopped task and its container, checks hako's state is gone, returns ctr's words. */
function remove(id: string): string {
  const said = containerd.removeTask(id);
  expect(existsSync(hakoState(id))).toBe(false);
  return said;
}

describe('ctr run --rm', () => {
  it('prints the output of the task and exits with its status', () => {
    const out = containerd.run(['--rm', IMAGE, 'once', 'sh', '-c',
      'echo to-stdout; echo to-stderr >&2; echo "$$ $(id -u)"; exit 5']);
    expect(out.stdout).toBe('to-stdout\n1 0\n');
    expect(out.stderr).toBe('to-stderr\n');
    expect(out.status).toBe(5);
    expect(containerd.ok(['containers', 'list', '--quiet'])).toBe('');
    expect(existsSync(hakoState('once'))).toBe(false);
  });
});

describe('ctr run --detach and tasks', () => {
  it('lists, pauses, resumes, signals and deletes a task', async () => {
    const task = detached('daemon', [
      'trap "echo got-usr1" USR1',
      'trap "echo got-term; exit 3" TERM',
      'echo ready',
      'while true; do echo tick; sleep 0.1; done',
    ].join('; '));
    await waitFor('the task to print "ready"', () => task.log().includes('ready'));

    // The shim drives hako, whose state holds the task's pid.
    const state = JSON.parse(readFileSync(join(hakoState('daemon'), 'state.json'), 'utf8'));
    expect(taskStatus('daemon')).toBe('RUNNING');
    const pid = Number(containerd.ok(['tasks', 'list']).split('\n')
      .find((l) => l.startsWith('daemon '))?.trim().split(/\s+/)[1]);
    expect(state.pid).toBe(pid);
    expect(cgroupDirs(join(NAMESPACE, 'daemon')).length).toBeGreaterThan(0);

    // `ctr task ps` asks the runtime for `ps --format json`.
    const pids = containerd.ok(['tasks', 'ps', 'daemon']).split('\n').slice(1)
      .map((l) => Number(l.trim().split(/\s+/)[0])).filter((n) => n > 0);
    expect(pids).toContain(pid);

    containerd.ok(['tasks', 'pause', 'daemon']);
    expect(taskStatus('daemon')).toBe('PAUSED');
    const ticks = task.log().split('\n').length;
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(task.log().split('\n').length).toBe(ticks);
    containerd.ok(['tasks', 'resume', 'daemon']);
    expect(taskStatus('daemon')).toBe('RUNNING');
    await waitFor('ticks after resume', () => task.log().split('\n').length > ticks + 2);

    containerd.ok(['tasks', 'kill', '--signal', 'SIGUSR1', 'daemon']);
    await waitFor('SIGUSR1 to arrive', () => task.log().includes('got-usr1'));
    containerd.ok(['tasks', 'kill', 'daemon']);
    await waitFor('the task to stop', () => taskStatus('daemon') === 'STOPPED');
    expect(task.log()).toContain('got-term');
    expect(remove('daemon')).toMatch(/exit code 3"/);
  });

  it('kill --signal SIGKILL stops a task that ignores SIGTERM', async () => {
    detached('stubborn', 'trap "" TERM; while true; do sleep 0.1; done');
    await waitFor('the task to run', () => taskStatus('stubborn') === 'RUNNING');
    containerd.ok(['tasks', 'kill', '--signal', 'SIGKILL', 'stubborn']);
    await waitFor('the task to stop', () => taskStatus('stubborn') === 'STOPPED');
    expect(remove('stubborn')).toMatch(/exit code 137"/);
  });
});

describe('ctr run --tty', () => {
  it('gives the task a terminal of the caller\'s size and exits with its status', () => {
    const out = containerd.runInPty(['--rm', '--tty', IMAGE, 'tty1', 'sh', '-c',
      `tty; [ -t 0 ] && [ -t 1 ] && echo both-ttys; ${PRINT_TTY_SIZE}; exit 2`],
    { rows: 33, cols: 91 });
    expect(out.stdout).toMatch(/\/dev\/pts\/\d+\n/);
    expect(out.stdout).toContain('both-ttys');
    expect(out.stdout).toContain('size 33 91\n');
    expect(out.status).toBe(2);
  });
});

describe('a failing create', () => {
  it('shows hako\'s message as the OCI runtime error', () => {
    const out = containerd.run(['--rm', IMAGE, 'broken', '/no/such/program']);
    expect(out.status).not.toBe(0);
    expect(out.stderr).toMatch(
      /OCI runtime create failed: .*\/no\/such\/program.*no such file or directory/);
    expect(out.stderr).not.toContain('unable to retrieve OCI runtime error');
    expect(taskStatus('broken')).toBe('none');
    expect(existsSync(hakoState('broken'))).toBe(false);
    containerd.ctr(['containers', 'delete', 'broken']);
  });
});
