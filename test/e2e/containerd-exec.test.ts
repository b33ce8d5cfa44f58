/**
 * `ctr task exec` through the runc v2 shim and `hako exec --process <file> --detach`: output,
 * status, namespaces, user, stdin and terminal of the new process, and hako's error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Containerd, NAMESPACE } from './containerd-env.js';
import { PRINT_TTY_SIZE, inPty, waitFor } from './tools.js';

const containerd = new Containerd();

beforeAll(() => containerd.start(), 120_000);
afterAll(() => containerd.stop(), 120_000);

const taskStatus = (id: string): string => containerd.taskStatus(id);

describe('ctr task exec', () => {
  let execs = 0;
  /** `ctr task exec --exec-id <new id> <options> target <command>` */
  const exec = (args: string[], input?: string) => containerd.ctr([
    'tasks', 'exec', '--fifo-dir', containerd.fifoDir(), '--exec-id', `exec-${++execs}`, ...args,
  ], { input });

  beforeAll(() => {
    containerd.detached('target', 'while true; do sleep 0.1; done');
  });
  afterAll(async () => {
    containerd.ctr(['tasks', 'kill', '--signal', 'SIGKILL', 'target']);
    await waitFor('the task to stop', () => taskStatus('target') === 'STOPPED');
    containerd.removeTask('target');
  });

  it('runs a process in the task and exits with its status', () => {
    const out = exec(['target', 'sh', '-c', 'echo to-stdout; echo to-stderr >&2; exit 4']);
    expect(out.stdout).toBe('to-stdout\n');
    expect(out.stderr).toBe('to-stderr\n');
    expect(out.status).toBe(4);
  });

  it('joins the namespaces and cgroup of the task', () => {
    const out = exec(['target', 'sh', '-c', [
      'for ns in pid mnt uts ipc net; do',
      '  [ "$(readlink /proc/1/ns/$ns)" = "$(readlink /proc/self/ns/$ns)" ] || echo "$ns differs"',
      'done',
      '[ "$(cat /proc/1/cgroup)" = "$(cat /proc/self/cgroup)" ] || echo "cgroup differs"',
      'echo checked',
    ].join('\n')]);
    expect(out.stderr).toBe('');
    expect(out.stdout).toBe('checked\n');
    expect(out.status).toBe(0);
  });

  it('honours --user and --cwd and forwards stdin', () => {
    const out = exec(['--user', '1000', '--cwd', '/tmp', 'target', 'sh', '-c',
      'echo "$(id -u) $(pwd)"; cat'], 'from-stdin\n');
    expect(out.stderr).toBe('');
    expect(out.stdout).toBe('1000 /tmp\nfrom-stdin\n');
    expect(out.status).toBe(0);
  });

  it('gives the process a terminal with --tty', () => {
    const out = inPty(['ctr', '--address', containerd.socket, '--namespace', NAMESPACE,
      'tasks', 'exec', '--fifo-dir', containerd.fifoDir(), '--tty', '--exec-id', 'exec-tty',
      'target', 'sh', '-c', `tty; ${PRINT_TTY_SIZE}; exit 6`], { rows: 22, cols: 75 });
    expect(out.stdout).toMatch(/\/dev\/pts\/\d+\n/);
    expect(out.stdout).toContain('size 22 75\n');
    expect(out.status).toBe(6);
  });

  it('shows hako\'s message for a missing command', () => {
    const out = exec(['target', '/no/such/program']);
    expect(out.status).not.toBe(0);
    expect(out.stderr).toMatch(
      /OCI runtime exec failed: .*\/no\/such\/program.*no such file or directory/);
    expect(taskStatus('target')).toBe('RUNNING');
  });
});
