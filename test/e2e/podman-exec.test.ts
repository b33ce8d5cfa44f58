/**
 * `podman exec` through conmon and `hako exec --process <file> --detach`: output, status,
 * namespaces, user and terminal of the new process, and hako's error for a missing command.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { PodmanEnv } from './podman-env.js';
import { HAKO, PRINT_TTY_SIZE, inPty, waitFor } from './tools.js';

const env = new PodmanEnv();

beforeAll(() => env.setup(), 120_000);
afterAll(() => env.cleanup(), 120_000);

/** podman's line for a runtime error: `Error: <runtime name or path>: <hako's message>`. */
const HAKO_ERROR = /^Error: (\S*\/)?hako: \S/m;

describe('podman exec', () => {
  beforeAll(() => {
    env.detached('target', 'while true; do sleep 0.1; done');
  });
  afterAll(() => {
    env.podman(['rm', '--force', '--time', '0', 'target']);
  });

  it('runs a process in the container and exits with its status', () => {
    const out = env.podman(['exec', 'target', 'sh', '-c',
      'echo to-stdout; echo to-stderr >&2; exit 4']);
    expect(out.stdout).toBe('to-stdout\n');
    expect(out.stderr).toBe('to-stderr\n');
    expect(out.status).toBe(4);
  });

  it('joins the namespaces and cgroup of the container\'s init', () => {
    const out = env.podman(['exec', 'target', 'sh', '-c', [
      'for ns in pid mnt uts ipc net cgroup; do',
      '  [ "$(readlink /proc/1/ns/$ns)" = "$(readlink /proc/self/ns/$ns)" ] || echo "$ns differs"',
      'done',
      '[ "$(cat /proc/1/cgroup)" = "$(cat /proc/self/cgroup)" ] || echo "cgroup differs"',
      'echo checked',
    ].join('\n')]);
    expect(out.stderr).toBe('');
    expect(out.stdout).toBe('checked\n');
  });

  it('honours --user, --workdir, --env and --interactive', () => {
    const out = env.podman(['exec', '-i', '--user', '1000:1000', '--workdir', '/tmp', '--env',
      'FOO=bar', 'target', 'sh', '-c', 'echo "$(id -u):$(id -g) $(pwd) $FOO"; cat'],
    { input: 'from-stdin\n' });
    expect(out.stderr).toBe('');
    expect(out.stdout).toBe('1000:1000 /tmp bar\nfrom-stdin\n');
  });

  it('gives the process a terminal with -t', () => {
    const out = inPty(['podman', '--runtime', HAKO, 'exec', '-t', 'target', 'sh', '-c',
      `tty; [ -t 0 ] && [ -t 1 ] && echo both-ttys; ${PRINT_TTY_SIZE}; exit 6`],
    { env: env.env, rows: 21, cols: 73 });
    expect(out.stdout).toMatch(/^\/dev\/pts\/\d+\n/m);
    expect(out.stdout).toContain('both-ttys');
    expect(out.stdout).toContain('size 21 73\n');
    expect(out.status).toBe(6);
  });

  it('runs a detached process with -d', async () => {
    env.ok(['exec', '-d', 'target', 'sleep', '1001']);
    await waitFor('the detached process in top',
      () => env.podman(['top', 'target', 'args']).stdout.includes('sleep 1001'));
  });

  it('shows hako\'s message and exit code 127 for a missing command', () => {
    const out = env.podman(['exec', 'target', '/no/such/program']);
    expect(out.status).toBe(127);
    expect(out.stderr).toMatch(HAKO_ERROR);
    expect(out.stderr).toMatch(/\/no\/such\/program.*no such file or directory/);
    expect(env.inspect('target', '{{.State.Status}}')).toBe('running');
  });
});
