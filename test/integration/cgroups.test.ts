import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  existsSync, mkdtempSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import {
  type CgroupHandle, createCgroup, detectLayout, freeze, isFrozen, joinCgroup, killAll,
  listPids, removeCgroup, stats, thaw, updateResources,
} from '../../src/core/cgroups/index.js';

/*
 * Real cgroups, as root. Everything is created under a parent of our own, /hako-test-<pid>,
 * and removed again; the machine's own cgroups are only read.
 */

const PARENT = `/hako-test-${process.pid}`;
const MiB = 1024 * 1024;

const children: ChildProcess[] = [];
let handles: CgroupHandle[] = [];

/** A process that appends a line every 20 ms: its file stops growing while it is frozen. */
function ticker(file: string): ChildProcess {
  const child = spawn('sh', ['-c', `while :; do echo tick >> ${file}; sleep 0.02; done`], {
    stdio: 'ignore',
  });
  children.push(child);
  return child;
}

function sleeper(): ChildProcess {
  const child = spawn('sleep', ['1000'], { stdio: 'ignore' });
  children.push(child);
  return child;
}

function exitSignal(child: ChildProcess): Promise<NodeJS.Signals | null> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve(child.signalCode);
  }
  return new Promise((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const size = (file: string): number => (existsSync(file) ? statSync(file).size : 0);
const read = (path: string): string => readFileSync(path, 'utf8').trim();

async function waitUntil(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (check()) return;
    await pause(20);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Proves a freeze by behaviour: the ticker writes nothing while frozen, again once thawed. */
async function expectFreezeWorks(handle: CgroupHandle, tickFile: string): Promise<void> {
  await waitUntil(() => size(tickFile) > 0, 'the ticker to start');
  await freeze(handle);
  expect(isFrozen(handle)).toBe(true);
  const frozenAt = size(tickFile);
  await pause(300);
  expect(size(tickFile)).toBe(frozenAt);

  await thaw(handle);
  expect(isFrozen(handle)).toBe(false);
  await waitUntil(() => size(tickFile) > frozenAt, 'the ticker to resume');
}

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'hako-cg-it-'));
});

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  // A failed test may leave its cgroup behind; processes were killed just above.
  for (const handle of handles.splice(0)) {
    await removeCgroup(handle).catch(() => undefined);
  }
  handles = [];
});

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

const layout = detectLayout();

// This test needs v1 controllers; on a pure v2 host the v2 test below covers the same steps
// (there, on the host's own hierarchy, with every controller).
describe.runIf(layout.kind !== 'v2')('cgroups on the machine v1/hybrid hierarchy', () => {
  it('creates, limits, joins, freezes, kills and removes', async () => {
    const handle = createCgroup('it-v1', `${PARENT}/c1`, {
      memory: { limit: 64 * MiB, swap: 128 * MiB },
      pids: { limit: 20 },
    }, { layout });
    handles.push(handle);

    const memory = handle.v1.memory;
    expect(memory).toBe(`${layout.v1.get('memory')}${PARENT}/c1`);
    expect(read(join(memory, 'memory.limit_in_bytes'))).toBe(String(64 * MiB));
    expect(read(join(memory, 'memory.memsw.limit_in_bytes'))).toBe(String(128 * MiB));
    expect(read(join(handle.v1.pids, 'pids.max'))).toBe('20');
    // cpuset was filled from the parent, or no task could join.
    expect(read(join(handle.v1.cpuset, 'cpuset.cpus'))).not.toBe('');

    // Growing then shrinking both limits needs opposite write orders on v1.
    updateResources(handle, { memory: { limit: 256 * MiB, swap: 512 * MiB } });
    expect(read(join(memory, 'memory.memsw.limit_in_bytes'))).toBe(String(512 * MiB));
    updateResources(handle, { memory: { limit: 64 * MiB, swap: 128 * MiB } });
    expect(read(join(memory, 'memory.limit_in_bytes'))).toBe(String(64 * MiB));

    // The kernel refuses memory+swap below memory; the error names the file and the errno.
    expect(() => updateResources(handle, { memory: { limit: 128 * MiB, swap: 100 * MiB } }))
      .toThrow(`write ${memory}/memory.limit_in_bytes: invalid argument`);

    const sleep = sleeper();
    const tickFile = join(scratch, 'v1-ticks');
    const tick = ticker(tickFile);
    joinCgroup(handle, sleep.pid as number);
    joinCgroup(handle, tick.pid as number);
    const own = read(`/proc/${sleep.pid}/cgroup`);
    expect(own).toContain(`:memory:${PARENT}/c1`);
    expect(own).toContain(`:pids:${PARENT}/c1`);
    expect(listPids(handle)).toEqual(expect.arrayContaining([sleep.pid, tick.pid]));

    await expectFreezeWorks(handle, tickFile);
    await freeze(handle);
    expect(read(join(handle.v1.freezer, 'freezer.state'))).toBe('FROZEN');
    await thaw(handle);

    const s = stats(handle);
    expect(s.memory.usage.usage).toBeGreaterThan(0);
    expect(s.memory.usage.limit).toBe(64 * MiB);
    expect(s.pids.current).toBeGreaterThanOrEqual(2);
    expect(s.pids.limit).toBe(20);
    expect(s.cpu.usage.total).toBeGreaterThan(0);

    // Not SIGKILL: this takes the freeze, list, signal, thaw path instead of cgroup.kill.
    await killAll(handle, 'SIGTERM');
    expect(await exitSignal(sleep)).toBe('SIGTERM');
    expect(await exitSignal(tick)).toBe('SIGTERM');
    expect(isFrozen(handle)).toBe(false);
    await waitUntil(() => listPids(handle).length === 0, 'the cgroup to empty');

    await removeCgroup(handle);
    expect(handle.created).toContain(`${layout.v1.get('memory')}${PARENT}`);
    for (const dir of handle.created) expect([dir, existsSync(dir)]).toEqual([dir, false]);
  }, 30_000);
});

describe('cgroups on a cgroup2 mount', () => {
  let mountpoint = '';
  let enabledBefore = '';

  beforeAll(() => {
    mountpoint = mkdtempSync(join(tmpdir(), 'hako-cg2-'));
    execFileSync('mount', ['-t', 'cgroup2', 'none', mountpoint]);
    enabledBefore = read(join(mountpoint, 'cgroup.subtree_control'));
  });

  afterAll(() => {
    // createCgroup enables every available controller in the root, as runc does; this is
    // the host's hierarchy, so whatever was not enabled before is switched off again.
    const root = join(mountpoint, 'cgroup.subtree_control');
    for (const controller of read(root).split(' ').filter((c) => c !== '')) {
      if (!enabledBefore.split(' ').includes(controller)) writeFileSync(root, `-${controller}`);
    }
    execFileSync('umount', [mountpoint]);
    rmdirSync(mountpoint);
  });

  it('creates, joins, freezes, kills and removes', async () => {
    const line = read('/proc/self/mountinfo').split('\n').find((l) => l.includes(mountpoint));
    const v2 = detectLayout(line);
    expect(v2).toMatchObject({ kind: 'v2', v2: mountpoint });

    // On a hybrid machine the cgroup2 tree has none of the controllers that the v1
    // hierarchies hold (memory, cpu, pids, io), so those limits cannot be exercised here.
    // hugetlb is not mounted on v1 on this machine and so belongs to cgroup2: its limit is
    // the one real v2 write this machine allows.
    expect(read(join(mountpoint, 'cgroup.controllers')).split(' ')).toContain('hugetlb');
    const handle = createCgroup('it-v2', `${PARENT}/c1`, {
      hugepageLimits: [{ pageSize: '2MB', limit: 4 * MiB }],
    }, { layout: v2 });
    handles.push(handle);
    const dir = handle.v2 as string;
    expect(dir).toBe(`${mountpoint}${PARENT}/c1`);
    expect(handle.created).toEqual([`${mountpoint}${PARENT}`, dir]);
    expect(read(join(dir, 'hugetlb.2MB.max'))).toBe(String(4 * MiB));
    expect(read(join(dir, 'cgroup.controllers')).split(' ')).toContain('hugetlb');

    const sleep = sleeper();
    const tickFile = join(scratch, 'v2-ticks');
    const tick = ticker(tickFile);
    joinCgroup(handle, sleep.pid as number);
    joinCgroup(handle, tick.pid as number);
    expect(read(`/proc/${sleep.pid}/cgroup`)).toContain(`0::${PARENT}/c1`);
    expect(listPids(handle)).toEqual(expect.arrayContaining([sleep.pid, tick.pid]));

    await expectFreezeWorks(handle, tickFile);
    await freeze(handle);
    expect(read(join(dir, 'cgroup.events'))).toContain('frozen 1');
    await thaw(handle);
    expect(stats(handle).hugetlb['2MB']).toEqual({ usage: undefined, failcnt: 0 });

    // Removal right after the kill: rmdir says EBUSY until the killed processes are gone,
    // and removeCgroup waits that out.
    await killAll(handle, 'SIGKILL');
    await removeCgroup(handle);
    expect(await exitSignal(sleep)).toBe('SIGKILL');
    expect(await exitSignal(tick)).toBe('SIGKILL');
    for (const path of handle.created) expect([path, existsSync(path)]).toEqual([path, false]);
  }, 30_000);
});
