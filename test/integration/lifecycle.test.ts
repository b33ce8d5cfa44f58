import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { afterAll, describe, expect, it } from 'vitest';

import { HAKO, Scratch, processesMentioning } from './helpers.js';
import {
  cgroupDirs, cmdline, hakoAsync, hakoDetached, isLive, leftovers, lines, stateOf, statusOf,
  waitFor,
} from './lifecycle-helpers.js';

/*
 * The container lifecycle through the real CLI, as root: create, start, state, list, kill,
 * delete and run, with what a caller can observe after each step.
 */

const scratch = new Scratch();
afterAll(() => scratch.cleanup());

/** A bundle whose rootfs is writable, so the workload can leave marks in /tmp. */
function bundleRunning(args: string[], annotations?: Record<string, string>): string {
  return scratch.bundle((spec) => {
    spec.root!.readonly = false;
    spec.process!.args = args;
    if (annotations) spec.annotations = annotations;
  });
}

/** create, expecting success; returns the init pid from `state`. */
function create(id: string, bundle: string, extra: string[] = []): number {
  const result = hakoDetached(scratch, ['create', '--bundle', bundle, ...extra, id]);
  expect(result).toEqual({ status: 0, stdout: '', stderr: '' });
  return Number(stateOf(scratch, id).pid);
}

const SLEEPER = ['sleep', '1000'];

describe('create, start, state, delete', () => {
  it('walks a container through created, running and stopped, then removes it', async () => {
    const id = scratch.id('life');
    const waitForGo = 'echo ran >> /tmp/ran; while [ ! -e /tmp/go ]; do sleep 0.05; done';
    const bundle = bundleRunning(['sh', '-c', waitForGo]);
    const ran = join(bundle, 'rootfs/tmp/ran');
    const pidFile = join(scratch.dir, `${id}.pid`);

    const createArgs = ['create', '--bundle', bundle, '--pid-file', pidFile, id];
    const created = hakoDetached(scratch, createArgs);
    expect(created).toEqual({ status: 0, stdout: '', stderr: '' });
    // The pid file exists once create has exited: whole, and without a newline.
    const pidText = readFileSync(pidFile, 'utf8');
    expect(pidText).toMatch(/^[1-9][0-9]*$/);
    const pid = Number(pidText);

    const state = stateOf(scratch, id);
    expect(state).toMatchObject({ id, pid, status: 'created', bundle });
    // The init waits as the agent, in the container's cgroup, and has not run the workload.
    expect(cmdline(pid)[0]).toMatch(/hako-agent$/);
    expect(readFileSync(`/proc/${pid}/cgroup`, 'utf8')).toContain(`/hako/${id}`);
    await sleep(300);
    expect(existsSync(ran)).toBe(false);
    expect(statusOf(scratch, id)).toBe('created');

    expect(scratch.hako(['start', id])).toEqual({ status: 0, stdout: '', stderr: '' });
    await waitFor(() => existsSync(ran), 'the workload to run');
    expect(stateOf(scratch, id)).toMatchObject({ pid, status: 'running' });
    expect(cmdline(pid)).toEqual(['sh', '-c', waitForGo]);

    const again = scratch.hako(['start', id]);
    expect(again.status).toBe(1);
    expect(lines(again.stderr)).toHaveLength(1);
    expect(again.stderr).toContain(`cannot start a container that is running: \\"${id}\\"`);
    await sleep(200);
    expect(readFileSync(ran, 'utf8')).toBe('ran\n');

    // The workload ends by itself: the state says so, with pid 0 as runc reports it.
    writeFileSync(join(bundle, 'rootfs/tmp/go'), '');
    await waitFor(() => statusOf(scratch, id) === 'stopped', 'the workload to exit');
    expect(stateOf(scratch, id)).toMatchObject({ id, pid: 0, status: 'stopped' });
    expect(cgroupDirs(id).length).toBeGreaterThan(0);

    expect(scratch.hako(['delete', id])).toEqual({ status: 0, stdout: '', stderr: '' });
    expect(leftovers(scratch, id, bundle, [pid])).toEqual([]);
    const gone = scratch.hako(['state', id]);
    expect(gone.status).toBe(1);
    expect(gone.stderr).toContain(`container \\"${id}\\" does not exist`);
  });

  it('prints the state with exactly the keys runc prints, annotations only when present', () => {
    const plain = scratch.id('keys');
    const bundle = bundleRunning(SLEEPER);
    const pid = create(plain, bundle);
    const state = stateOf(scratch, plain);
    expect(Object.keys(state)).toEqual(
      ['ociVersion', 'id', 'pid', 'status', 'bundle', 'rootfs', 'created', 'owner'],
    );
    expect(state).toEqual({
      ociVersion: '1.2.0',
      id: plain,
      pid,
      status: 'created',
      bundle,
      rootfs: join(bundle, 'rootfs'),
      created: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/),
      owner: '',
    });
    expect(Math.abs(Date.parse(String(state.created)) - Date.now())).toBeLessThan(60_000);

    const annotated = scratch.id('keys');
    const annotatedBundle = bundleRunning(SLEEPER, { 'org.example.b': '2', 'org.example.a': '1' });
    create(annotated, annotatedBundle);
    const withAnnotations = stateOf(scratch, annotated);
    expect(Object.keys(withAnnotations)).toEqual(
      ['ociVersion', 'id', 'pid', 'status', 'bundle', 'rootfs', 'created', 'annotations', 'owner'],
    );
    expect(withAnnotations.annotations).toEqual({ 'org.example.a': '1', 'org.example.b': '2' });

    for (const id of [plain, annotated]) {
      expect(scratch.hako(['delete', id]).status).toBe(0);
    }
  });

  it('lists containers as a table and as JSON', async () => {
    const created = scratch.id('list');
    const running = scratch.id('list');
    const bundleA = bundleRunning(SLEEPER);
    const bundleB = bundleRunning(SLEEPER);
    const pidA = create(created, bundleA);
    const pidB = create(running, bundleB);
    expect(scratch.hako(['start', running]).status).toBe(0);
    await waitFor(() => statusOf(scratch, running) === 'running', 'the container to run');

    const table = scratch.hako(['list']);
    expect(table.status).toBe(0);
    const [header, ...rows] = lines(table.stdout);
    expect(header).toMatch(/^ID +PID +STATUS +BUNDLE +CREATED +OWNER$/);
    const row = (id: string) => rows.find((r) => r.startsWith(`${id} `))?.split(/ +/);
    const stateA = stateOf(scratch, created);
    expect(row(created)).toEqual(
      [created, String(pidA), 'created', bundleA, stateA.created, 'root'],
    );
    expect(row(running)?.slice(0, 4)).toEqual([running, String(pidB), 'running', bundleB]);
    // Columns line up under the header.
    const rowA = rows.find((r) => r.startsWith(`${created} `)) as string;
    for (const [title, cell] of [['STATUS', 'created'], ['BUNDLE', bundleA]]) {
      expect(rowA.indexOf(` ${cell}`) + 1).toBe(header.indexOf(title));
    }

    const json = scratch.hako(['list', '--format', 'json']);
    expect(json.status).toBe(0);
    const listed = JSON.parse(json.stdout) as Record<string, unknown>[];
    expect(listed.find((s) => s.id === created)).toEqual({ ...stateA, owner: 'root' });
    expect(listed.find((s) => s.id === running)).toMatchObject(
      { id: running, pid: pidB, status: 'running', bundle: bundleB, owner: 'root' },
    );

    const quiet = scratch.hako(['list', '-q']);
    expect(lines(quiet.stdout)).toEqual(expect.arrayContaining([created, running]));

    for (const id of [created, running]) {
      expect(scratch.hako(['delete', '--force', id]).status).toBe(0);
    }
  });
});

describe('delete and kill', () => {
  it('refuses to delete a running container without --force, deletes it with it', async () => {
    const id = scratch.id('del');
    const bundle = bundleRunning(SLEEPER);
    const pid = create(id, bundle);
    expect(scratch.hako(['start', id]).status).toBe(0);
    await waitFor(() => statusOf(scratch, id) === 'running', 'the container to run');

    const refused = scratch.hako(['delete', id]);
    expect(refused.status).toBe(1);
    expect(lines(refused.stderr)).toHaveLength(1);
    expect(refused.stderr).toContain(
      `cannot delete container \\"${id}\\" that is not stopped: running`,
    );
    expect(isLive(pid)).toBe(true);
    expect(statusOf(scratch, id)).toBe('running');

    expect(scratch.hako(['delete', '--force', id])).toEqual({ status: 0, stdout: '', stderr: '' });
    expect(isLive(pid)).toBe(false);
    expect(leftovers(scratch, id, bundle, [pid])).toEqual([]);
  });

  it('deletes a created container without --force, and its waiting init with it', () => {
    const id = scratch.id('del');
    const bundle = bundleRunning(SLEEPER);
    const pid = create(id, bundle);
    expect(isLive(pid)).toBe(true);
    // The leak check sees a container that is there (so its empty answers below mean it).
    const present = leftovers(scratch, id, bundle).map((line) => line.split(' ')[0]);
    expect(new Set(present)).toEqual(new Set(['state', 'cgroup', 'process']));

    expect(scratch.hako(['delete', id])).toEqual({ status: 0, stdout: '', stderr: '' });
    expect(isLive(pid)).toBe(false);
    expect(leftovers(scratch, id, bundle, [pid])).toEqual([]);
  });

  it('delete --force of an unknown id succeeds; without --force it fails', () => {
    const id = scratch.id('unknown');
    expect(scratch.hako(['delete', '--force', id])).toEqual({ status: 0, stdout: '', stderr: '' });
    const plain = scratch.hako(['delete', id]);
    expect(plain.status).toBe(1);
    expect(plain.stderr).toContain(`container \\"${id}\\" does not exist`);
  });

  it('kill of a stopped container says "container not running"; kill --all succeeds', async () => {
    const id = scratch.id('kill');
    const bundle = bundleRunning(['true']);
    create(id, bundle);
    expect(scratch.hako(['start', id]).status).toBe(0);
    await waitFor(() => statusOf(scratch, id) === 'stopped', 'the workload to exit');

    const killed = scratch.hako(['kill', id, 'KILL']);
    expect(killed.status).toBe(1);
    expect(lines(killed.stderr)).toHaveLength(1);
    expect(killed.stderr).toContain('container not running');
    const killedAll = scratch.hako(['kill', '--all', id, 'KILL']);
    expect(killedAll).toEqual({ status: 0, stdout: '', stderr: '' });
    expect(scratch.hako(['delete', id]).status).toBe(0);
    expect(leftovers(scratch, id, bundle)).toEqual([]);
  });

  // SIGTERM reaches pid 1 of a pid namespace only if it handles it: the workload traps it.
  const cases: [string, number][] = [['KILL', 137], ['SIGKILL', 137], ['9', 137], ['TERM', 43]];
  for (const [signal, expected] of cases) {
    it(`kill ${signal} ends the workload: run exits ${expected}`, async () => {
      const id = scratch.id('sig');
      const script = 'trap "exit 43" TERM; touch /tmp/ready; while :; do sleep 0.05; done';
      const bundle = bundleRunning(['sh', '-c', script]);
      const run = hakoAsync(scratch, ['run', '--bundle', bundle, id]);
      await waitFor(() => existsSync(join(bundle, 'rootfs/tmp/ready')), 'the trap to be set');

      expect(scratch.hako(['kill', id, signal])).toEqual({ status: 0, stdout: '', stderr: '' });
      expect(await run.done).toEqual({ status: expected, stdout: '', stderr: '' });
      expect(leftovers(scratch, id, bundle)).toEqual([]);
    });
  }

  it('rejects an unknown signal', () => {
    const id = scratch.id('sig');
    create(id, bundleRunning(SLEEPER));
    const result = scratch.hako(['kill', id, 'NOSUCHSIGNAL']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('invalid signal \\"NOSUCHSIGNAL\\"');
    expect(statusOf(scratch, id)).toBe('created');
    expect(scratch.hako(['delete', id]).status).toBe(0);
  });
});

describe('an interrupted create', () => {
  for (const [signal, status] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
    it(`undoes what it made when it gets ${signal}, and exits ${status}`, async () => {
      const id = scratch.id('intr');
      const mark = join(scratch.dir, `${id}.hook`);
      // A createRuntime hook holds create while its cgroup, agent and init exist.
      // The hook's `sleep` is a process of its own (`:` keeps sh from exec'ing it).
      const nap = `sleep 7.${process.pid}`;
      const bundle = scratch.bundle((spec) => {
        spec.hooks = {
          createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', `touch ${mark}; ${nap}; :`] }],
        };
      });
      const running = hakoAsync(scratch, ['create', '--bundle', bundle, id]);
      await waitFor(() => existsSync(mark), 'the createRuntime hook');
      expect(cgroupDirs(id).length).toBeGreaterThan(0);
      running.child.kill(signal);
      expect((await running.done).status).toBe(status);
      expect(leftovers(scratch, id, bundle)).toEqual([]);
      // The hook and what it started are gone too.
      await waitFor(() => processesMentioning(nap).length === 0, 'the hook to end', 2000);
      // The id is free again.
      expect(scratch.hako(['state', id]).status).toBe(1);
    });
  }
});

describe('a killed create', () => {
  it('leaves what delete --force removes: the state dir, the cgroup and its processes', async () => {
    const id = scratch.id('killed');
    const mark = join(scratch.dir, `${id}.hook`);
    const bundle = scratch.bundle((spec) => {
      spec.hooks = { createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', `touch ${mark}; sleep 5`] }] };
    });
    const running = hakoAsync(scratch, ['create', '--bundle', bundle, id]);
    await waitFor(() => existsSync(mark), 'the createRuntime hook');
    running.child.kill('SIGKILL');
    await running.done;
    expect(cgroupDirs(id).length).toBeGreaterThan(0);
    expect(scratch.hako(['delete', id]).stderr).toContain('is being created');
    expect(scratch.hako(['delete', '--force', id])).toEqual({ status: 0, stdout: '', stderr: '' });
    expect(leftovers(scratch, id, bundle)).toEqual([]);
  });
});

describe('container ids', () => {
  const bad: [string, string][] = [
    ['a/b', 'a/b'],
    ['..', '..'],
    ['empty', ''],
    ['300 characters', 'x'.repeat(300)],
  ];
  // A state root of their own, which must not even come into existence.
  const fresh = new Scratch();
  afterAll(() => fresh.cleanup());
  for (const [name, id] of bad) {
    it(`refuses the id ${name} and creates nothing`, () => {
      const bundle = fresh.bundle((spec) => {
        spec.process!.args = SLEEPER;
      });
      const result = hakoDetached(fresh, ['create', '--bundle', bundle, id]);
      expect(result.status).toBe(1);
      expect(result.stdout).toBe('');
      expect(lines(result.stderr)).toHaveLength(1);
      expect(result.stderr).toContain('invalid container id');
      expect(existsSync(fresh.root)).toBe(false);
      if (id === 'a/b') expect(cgroupDirs('a/b')).toEqual([]);
    });
  }

  it('lets exactly one of two concurrent creates of one id win', async () => {
    const id = scratch.id('race');
    const bundle = bundleRunning(['sh', '-c', 'touch /tmp/ran; sleep 1000']);
    const first = hakoAsync(scratch, ['create', '--bundle', bundle, id]);
    const second = hakoAsync(scratch, ['create', '--bundle', bundle, id]);
    const results = await Promise.all([first.done, second.done]);

    const won = results.filter((r) => r.status === 0);
    const lost = results.filter((r) => r.status !== 0);
    expect(won).toEqual([{ status: 0, stdout: '', stderr: '' }]);
    expect(lost).toHaveLength(1);
    expect(lost[0].status).toBe(1);
    expect(lines(lost[0].stderr)).toHaveLength(1);
    expect(lost[0].stderr).toContain(`container with id ${id} already exists`);

    // The loser took nothing of the winner's away.
    expect(statusOf(scratch, id)).toBe('created');
    expect(scratch.hako(['start', id]).status).toBe(0);
    await waitFor(() => existsSync(join(bundle, 'rootfs/tmp/ran')), 'the workload to run');
    expect(statusOf(scratch, id)).toBe('running');
    expect(scratch.hako(['delete', '--force', id]).status).toBe(0);
    expect(leftovers(scratch, id, bundle)).toEqual([]);
  });
});

describe('run', () => {
  it('prints the workload output, returns its exit status, and removes the container', () => {
    const id = scratch.id('run');
    const script = 'echo out from the container; echo err >&2; exit 42';
    const bundle = bundleRunning(['sh', '-c', script]);
    const result = scratch.hako(['run', '--bundle', bundle, id]);
    expect(result).toEqual({ status: 42, stdout: 'out from the container\n', stderr: 'err\n' });
    expect(leftovers(scratch, id, bundle)).toEqual([]);
  });

  it('forwards SIGTERM to the workload and exits with its status', async () => {
    const id = scratch.id('run');
    const script = 'trap "exit 7" TERM; touch /tmp/ready; while :; do sleep 0.1; done';
    const bundle = bundleRunning(['sh', '-c', script]);
    const run = hakoAsync(scratch, ['run', '--bundle', bundle, id]);
    await waitFor(() => existsSync(join(bundle, 'rootfs/tmp/ready')), 'the trap to be set');

    run.child.kill('SIGTERM');
    expect(await run.done).toEqual({ status: 7, stdout: '', stderr: '' });
    expect(leftovers(scratch, id, bundle)).toEqual([]);
  });

  it('run --detach returns 0 and leaves the container running', async () => {
    const id = scratch.id('run');
    const bundle = bundleRunning(['sh', '-c', 'touch /tmp/ran; sleep 1000']);
    const result = hakoDetached(scratch, ['run', '--detach', '--bundle', bundle, id]);
    expect(result).toEqual({ status: 0, stdout: '', stderr: '' });

    const state = stateOf(scratch, id);
    expect(state.status).toBe('running');
    expect(isLive(Number(state.pid))).toBe(true);
    await waitFor(() => existsSync(join(bundle, 'rootfs/tmp/ran')), 'the workload to run');
    expect(scratch.hako(['delete', '--force', id]).status).toBe(0);
    expect(leftovers(scratch, id, bundle, [Number(state.pid)])).toEqual([]);
  });
});

describe('an empty environment', () => {
  it('state, kill and delete work without PATH or any other variable', () => {
    const id = scratch.id('env');
    const bundle = bundleRunning(SLEEPER);
    const pid = create(id, bundle);
    const bare = (args: string[]) =>
      spawnSync(HAKO, ['--root', scratch.root, ...args], { env: {}, encoding: 'utf8' });

    const state = bare(['state', id]);
    expect(state.stderr).toBe('');
    expect(state.status).toBe(0);
    expect(JSON.parse(state.stdout)).toMatchObject({ id, pid, status: 'created' });

    expect(bare(['kill', id, 'KILL'])).toMatchObject({ status: 0, stderr: '' });
    expect(bare(['delete', '--force', id])).toMatchObject({ status: 0, stderr: '' });
    expect(leftovers(scratch, id, bundle, [pid])).toEqual([]);
  });
});
