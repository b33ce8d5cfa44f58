import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import {
  createCgroup, freeze, isFrozen, joinCgroup, killAll, listPids, removeCgroup, thaw,
} from '../../src/core/cgroups/index.js';
import { dropFiles, type Fake, fakeV1, fakeV2 } from './cgroups-fake.js';

let fake: Fake | undefined;
afterEach(() => {
  fake?.cleanup();
  fake = undefined;
});

describe('joinCgroup and listPids', () => {
  it('writes the pid into every hierarchy, comounted ones once', () => {
    fake = fakeV1({ unified: true });
    const handle = createCgroup('c1', '/c1', {}, { layout: fake.layout });
    joinCgroup(handle, 4242);
    for (const dir of ['memory', 'cpu,cpuacct', 'systemd', 'unified', 'freezer']) {
      expect(fake.read(`${dir}/c1/cgroup.procs`)).toBe('4242');
    }
  });

  it('lists the processes of the cgroup and of the cgroups below it', () => {
    fake = fakeV2();
    const handle = createCgroup('c1', '/c1', {}, { layout: fake.layout });
    fake.write('c1/cgroup.procs', '12\n7\n');
    mkdirSync(join(fake.root, 'c1/inner'));
    fake.write('c1/inner/cgroup.procs', '30\n');
    expect(listPids(handle)).toEqual([7, 12, 30]);
  });
});

describe('freeze and thaw', () => {
  it('uses freezer.state on v1', async () => {
    fake = fakeV1();
    const handle = createCgroup('c1', '/c1', {}, { layout: fake.layout });
    expect(isFrozen(handle)).toBe(false);
    await freeze(handle);
    expect(fake.read('freezer/c1/freezer.state')).toBe('FROZEN');
    expect(isFrozen(handle)).toBe(true);
    await thaw(handle);
    expect(fake.read('freezer/c1/freezer.state')).toBe('THAWED');
    expect(isFrozen(handle)).toBe(false);
  });

  it('waits on v2 until cgroup.events reports frozen', async () => {
    fake = fakeV2();
    const f = fake;
    const handle = createCgroup('c1', '/c1', {}, { layout: f.layout });
    f.write('c1/cgroup.events', 'populated 1\nfrozen 0\n');

    let settled = false;
    const pending = freeze(handle).then(() => {
      settled = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(f.read('c1/cgroup.freeze')).toBe('1');
    expect(settled).toBe(false);
    expect(isFrozen(handle)).toBe(false);

    f.write('c1/cgroup.events', 'populated 1\nfrozen 1\n');
    await pending;
    expect(isFrozen(handle)).toBe(true);

    const thawing = thaw(handle);
    f.write('c1/cgroup.events', 'populated 1\nfrozen 0\n');
    await thawing;
    expect(f.read('c1/cgroup.freeze')).toBe('0');
  });

  it('fails at once on a kernel without the v2 freezer', async () => {
    fake = fakeV2();
    const handle = createCgroup('c1', '/c1', {}, { layout: fake.layout });
    fake.write('c1/cgroup.events', 'populated 1\n');
    await expect(freeze(handle)).rejects.toThrow('reports no "frozen" in cgroup.events');
    expect(fake.read('c1/cgroup.freeze')).toBe('0');
  });
});

describe('killAll', () => {
  it('signals every listed process, freezing around it on v1', async () => {
    fake = fakeV1();
    const handle = createCgroup('c1', '/c1', {}, { layout: fake.layout });
    const child = spawn('sleep', ['30']);
    const exited = new Promise<NodeJS.Signals | null>((resolve) => {
      child.on('exit', (_code, signal) => resolve(signal));
    });
    // A pid that no longer exists is skipped (ESRCH), as a process exiting meanwhile.
    fake.write('pids/c1/cgroup.procs', `${child.pid}\n999999\n`);

    await killAll(handle, 'SIGTERM');
    expect(await exited).toBe('SIGTERM');
    expect(fake.read('freezer/c1/freezer.state')).toBe('THAWED');
  });

  it('leaves a paused container paused for signals other than SIGKILL', async () => {
    fake = fakeV1();
    const handle = createCgroup('c1', '/c1', {}, { layout: fake.layout });
    await freeze(handle);
    await killAll(handle, 'SIGUSR1');
    expect(isFrozen(handle)).toBe(true);
    await killAll(handle, 'SIGKILL');
    expect(isFrozen(handle)).toBe(false);
  });

  it('uses cgroup.kill for SIGKILL where the kernel has it', async () => {
    fake = fakeV2();
    const handle = createCgroup('c1', '/c1', {}, { layout: fake.layout });
    fake.write('c1/cgroup.kill', '');
    await killAll(handle, 9);
    expect(fake.read('c1/cgroup.kill')).toBe('1');
  });
});

describe('removeCgroup', () => {
  it('removes what it created, deepest first, with cgroups made inside', async () => {
    fake = fakeV1({ unified: true });
    const handle = createCgroup('c1', '/hako/c1', {}, { layout: fake.layout });
    mkdirSync(join(handle.v1.memory, 'nested/deeper'), { recursive: true });
    dropFiles(handle);

    await removeCgroup(handle);
    for (const dir of handle.created) expect([dir, existsSync(dir)]).toEqual([dir, false]);
    expect(existsSync(join(fake.root, 'memory'))).toBe(true);
    // Missing directories are fine: a second removal does nothing.
    await removeCgroup(handle);
  });

  it('keeps a created parent that another cgroup now lives in', async () => {
    fake = fakeV2();
    const first = createCgroup('c1', undefined, {}, { layout: fake.layout });
    const second = createCgroup('c2', undefined, {}, { layout: fake.layout });
    expect(first.created).toContain(`${fake.root}/hako`);
    expect(second.created).toEqual([`${fake.root}/hako/c2`]);
    dropFiles(first);
    dropFiles(second);

    await removeCgroup(first);
    expect(existsSync(`${fake.root}/hako/c1`)).toBe(false);
    expect(existsSync(`${fake.root}/hako/c2`)).toBe(true);
    await removeCgroup(second);
    expect(existsSync(`${fake.root}/hako`)).toBe(true);
  });

  it('reports a directory that cannot be removed, naming it', async () => {
    fake = fakeV2();
    const handle = createCgroup('c1', '/c1', {}, { layout: fake.layout });
    writeFileSync(join(handle.v2 as string, 'stuck'), '');
    await expect(removeCgroup(handle)).rejects.toThrow(
      `rmdir ${fake.root}/c1: directory not empty`,
    );
  });
});
