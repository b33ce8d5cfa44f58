/**
 * podman (through conmon) running containers with `--runtime <repo>/bin/hako`: the calls of
 * the runtime-cli contract as podman makes them, checked by what a podman user sees.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { IMAGE, PODMAN_CGROUP_PARENT, PodmanEnv } from './podman-env.js';
import {
  HAKO_DEFAULT_ROOT, PRINT_TTY_SIZE, cgroupDirs, processesMentioning, waitFor,
} from './tools.js';

const env = new PodmanEnv();

/** podman's line for a runtime error: `Error: <runtime name or path>: <hako's message>`. */
const HAKO_ERROR = /^Error: (\S*\/)?hako: \S/m;

beforeAll(() => env.setup(), 120_000);
afterAll(() => env.cleanup(), 120_000);

const detached = (name: string, script: string, extra: string[] = []): string =>
  env.detached(name, script, extra);
const logs = (name: string): string => env.ok(['logs', name]);

/** The container is gone from podman and from hako's state root; its conmon has exited. */
function expectGone(name: string, id: string): void {
  expect(env.podman(['container', 'exists', name]).status).toBe(1);
  expect(existsSync(join(HAKO_DEFAULT_ROOT, id))).toBe(false);
  expect(processesMentioning(id)).toEqual([]);
}

describe('podman run --rm', () => {
  it('prints the output of the container and exits with its status', () => {
    const out = env.run(['--rm', '--name', 'removed', IMAGE, 'sh', '-c',
      'echo to-stdout; echo to-stderr >&2; exit 7']);
    expect(out.stdout).toBe('to-stdout\n');
    expect(out.stderr).toBe('to-stderr\n');
    expect(out.status).toBe(7);
    expect(env.podman(['container', 'exists', 'removed']).status).toBe(1);
  });

  it('passes the environment, working directory and user of the image config', () => {
    const out = env.run([
      '--rm', '--env', 'GREETING=hi', '--workdir', '/tmp', '--user', '1000:1000', IMAGE,
      'sh', '-c', 'echo "$GREETING $(pwd) $(id -u):$(id -g) $$"',
    ]);
    expect(out.stderr).toBe('');
    expect(out.stdout).toBe('hi /tmp 1000:1000 1\n');
    expect(out.status).toBe(0);
  });
});

describe('podman run -d, logs, stop, rm', () => {
  it('runs hako for the container, stops it with SIGTERM and removes every trace', async () => {
    const id = detached('detached', [
      'trap "echo got-term; exit 0" TERM',
      'echo started',
      'while true; do sleep 0.1; done',
    ].join('; '));
    await waitFor('the container to print "started"', () => logs('detached').includes('started'));

    // The state podman's calls find is hako's (not runc's or crun's).
    const state = JSON.parse(readFileSync(join(HAKO_DEFAULT_ROOT, id, 'state.json'), 'utf8'));
    expect(state.id).toBe(id);
    expect(env.inspect('detached', '{{.OCIRuntime}}')).toMatch(/(^|\/)hako$/);
    expect(env.inspect('detached', '{{.State.Status}}')).toBe('running');
    expect(cgroupDirs(join(PODMAN_CGROUP_PARENT, `libpod-${id}`)).length).toBeGreaterThan(0);

    const stop = env.podman(['stop', '--time', '5', 'detached']);
    expect(stop.stderr).toBe('');
    expect(stop.status).toBe(0);
    expect(logs('detached')).toBe('started\ngot-term');
    expect(env.inspect('detached', '{{.State.Status}} {{.State.ExitCode}}')).toBe('exited 0');

    expect(env.ok(['rm', 'detached'])).toBe('detached');
    expectGone('detached', id);
  });

  it('stop falls back to SIGKILL after the timeout', () => {
    detached('stubborn', 'trap "" TERM; while true; do sleep 0.1; done');
    const stop = env.podman(['stop', '--time', '1', 'stubborn']);
    expect(stop.status).toBe(0);
    expect(stop.stderr).toMatch(/resorting to SIGKILL/);
    expect(env.inspect('stubborn', '{{.State.ExitCode}}')).toBe('137');
    env.ok(['rm', 'stubborn']);
  });

  it('create, then start --attach twice, and wait', () => {
    env.ok(['create', '--cgroup-parent', PODMAN_CGROUP_PARENT, '--name', 'twice', IMAGE,
      'sh', '-c', 'echo started; exit 9']);
    for (let round = 0; round < 2; round++) {
      const out = env.podman(['start', '--attach', 'twice']);
      expect(out.stdout).toBe('started\n');
      expect(out.status).toBe(9);
    }
    detached('waited', 'sleep 0.3; exit 12');
    expect(env.ok(['wait', 'waited'])).toBe('12');
    env.ok(['rm', 'twice', 'waited']);
  });

  it('rm --force kills a running container', () => {
    const id = detached('forced', 'while true; do sleep 0.1; done');
    const rm = env.podman(['rm', '--force', '--time', '0', 'forced']);
    expect(rm.status).toBe(0);
    expectGone('forced', id);
  });
});

describe('podman kill', () => {
  it('delivers the signal given with -s, and SIGKILL by default', async () => {
    const id = detached('killed', [
      'trap "echo got-usr1" USR1',
      'trap "echo got-hup" HUP',
      'echo ready',
      'while true; do sleep 0.1; done',
    ].join('; '));
    await waitFor('the traps to be set', () => logs('killed').includes('ready'));

    expect(env.podman(['kill', '-s', 'USR1', 'killed']).status).toBe(0);
    await waitFor('SIGUSR1 to arrive', () => logs('killed').includes('got-usr1'));
    expect(env.podman(['kill', '--signal', 'SIGHUP', 'killed']).status).toBe(0);
    await waitFor('SIGHUP to arrive', () => logs('killed').includes('got-hup'));
    expect(env.inspect('killed', '{{.State.Status}}')).toBe('running');

    expect(env.podman(['kill', 'killed']).status).toBe(0);
    await waitFor('the container to exit',
      () => env.inspect('killed', '{{.State.Status}}') === 'exited');
    expect(env.inspect('killed', '{{.State.ExitCode}}')).toBe('137');
    env.ok(['rm', 'killed']);
    expectGone('killed', id);
  });

  it('fails for a container that is not running', () => {
    env.ok(['create', '--cgroup-parent', PODMAN_CGROUP_PARENT, '--name', 'idle', IMAGE, 'true']);
    const out = env.podman(['kill', 'idle']);
    expect(out.status).not.toBe(0);
    expect(out.stderr).toMatch(/not running|state created|can only kill running/i);
    env.ok(['rm', 'idle']);
  });
});

describe('podman update, restart, pods', () => {
  it('update changes the memory limit of a running container', () => {
    const id = detached('updated', 'while true; do sleep 0.1; done', ['--memory', '64m']);
    expect(env.podman(['update', '--memory', '128m', 'updated']).status).toBe(0);
    const limits = cgroupDirs(join(PODMAN_CGROUP_PARENT, `libpod-${id}`))
      .flatMap((dir) => ['memory.limit_in_bytes', 'memory.max'].map((f) => join(dir, f)))
      .filter((file) => existsSync(file));
    expect(limits.length).toBe(1);
    expect(readFileSync(limits[0]!, 'utf8').trim()).toBe(String(128 * 1024 * 1024));
    env.ok(['rm', '--force', '--time', '0', 'updated']);
  });

  it('restart runs the container again', async () => {
    detached('restarted', 'echo run; while true; do sleep 0.1; done');
    await waitFor('the first run', () => logs('restarted') === 'run');
    expect(env.podman(['restart', '--time', '0', 'restarted']).status).toBe(0);
    await waitFor('the second run', () => logs('restarted') === 'run\nrun');
    expect(env.inspect('restarted', '{{.State.Status}}')).toBe('running');
    env.ok(['rm', '--force', '--time', '0', 'restarted']);
  });

  it('containers of a pod join the namespaces of its infra container', () => {
    env.ok(['pod', 'create', '--name', 'pod1', '--cgroup-parent', PODMAN_CGROUP_PARENT]);
    detached('member', 'echo shared > /dev/shm/mark; while true; do sleep 0.1; done',
      ['--pod', 'pod1']);
    const out = env.run(['--rm', '--pod', 'pod1', IMAGE,
      'sh', '-c', 'hostname; cat /dev/shm/mark']);
    expect(out.stderr).toBe('');
    expect(out.stdout).toBe('pod1\nshared\n');
    env.ok(['pod', 'rm', '--force', '--time', '0', 'pod1']);
    expect(env.podman(['container', 'exists', 'member']).status).toBe(1);
  });
});

describe('podman pause, unpause, top', () => {
  it('freezes and thaws every process of the container', async () => {
    const id = detached('frozen', 'while true; do echo tick; sleep 0.1; done');
    await waitFor('a first tick', () => logs('frozen').includes('tick'));

    expect(env.podman(['pause', 'frozen']).status).toBe(0);
    expect(env.inspect('frozen', '{{.State.Status}}')).toBe('paused');
    const frozenAt = logs('frozen').split('\n').length;
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(logs('frozen').split('\n').length).toBe(frozenAt);

    expect(env.podman(['unpause', 'frozen']).status).toBe(0);
    expect(env.inspect('frozen', '{{.State.Status}}')).toBe('running');
    await waitFor('ticks after unpause', () => logs('frozen').split('\n').length > frozenAt + 2);

    env.ok(['rm', '--force', '--time', '0', 'frozen']);
    expectGone('frozen', id);
  });

  it('top lists the processes of the container', async () => {
    detached('listed', 'sleep 1000 & while true; do sleep 0.1; done');
    await waitFor('the background sleep', () => env.podman(['top', 'listed', 'args']).stdout
      .includes('sleep 1000'));
    const out = env.ok(['top', 'listed', 'pid', 'user', 'args']).split('\n');
    expect(out[0]).toMatch(/PID\s+USER\s+COMMAND/);
    expect(out).toContainEqual(expect.stringMatching(/^1\s+root\s+sh -c sleep 1000/));
    env.ok(['rm', '--force', '--time', '0', 'listed']);
  });
});

describe('podman run -t', () => {
  it('gives the container a terminal and exits with its status', () => {
    const out = env.runInPty(['--rm', '-t', IMAGE, 'sh', '-c',
      `tty; [ -t 0 ] && [ -t 1 ] && echo both-ttys; ${PRINT_TTY_SIZE}; exit 3`],
    { rows: 31, cols: 97 });
    expect(out.stdout).toMatch(/^\/dev\/pts\/\d+\n/m);
    expect(out.stdout).toContain('both-ttys');
    expect(out.stdout).toContain('size 31 97\n');
    expect(out.status).toBe(3);
  });

  it('forwards what is typed to an interactive shell', () => {
    const out = env.runInPty(['--rm', '-i', '-t', IMAGE, 'sh'], {
      input: 'echo typed-$((6*7))\nexit 5\n',
    });
    expect(out.stdout).toContain('typed-42');
    expect(out.status).toBe(5);
  });
});

describe('a failing create', () => {
  it('shows hako\'s message and exit code 127 for a missing command', () => {
    const out = env.run(['--rm', '--name', 'missing', IMAGE, '/no/such/program']);
    expect(out.status).toBe(127);
    expect(out.stderr).toMatch(HAKO_ERROR);
    expect(out.stderr).toMatch(/\/no\/such\/program.*no such file or directory/);
    expect(env.podman(['container', 'exists', 'missing']).status).toBe(1);
  });

  it('exits 126 for a file that is not executable', () => {
    const out = env.run(['--rm', IMAGE, '/etc/passwd']);
    expect(out.status).toBe(126);
    expect(out.stderr).toMatch(HAKO_ERROR);
    expect(out.stderr).toMatch(/\/etc\/passwd.*permission denied/);
  });

  it('reports a config hako rejects, and podman cleans up', () => {
    // Hard limits above the host's cannot be raised by root without CAP_SYS_RESOURCE.
    const out = env.run(['--rm', '--name', 'limited', '--ulimit', 'nofile=2000000:2000000',
      IMAGE, 'true']);
    expect(out.status).not.toBe(0);
    expect(out.stderr).toMatch(HAKO_ERROR);
    expect(out.stderr).toMatch(/RLIMIT_NOFILE/);
    expect(env.podman(['container', 'exists', 'limited']).status).toBe(1);
  });
});
