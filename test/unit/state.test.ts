import { spawn, type ChildProcess } from 'node:child_process';
import {
  copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { buildSync } from 'esbuild';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';

import { HakoError } from '../../src/core/errors.js';
import { formatGoJson } from '../../src/core/log.js';
import type { Spec } from '../../src/core/spec/types.js';
import { validateId } from '../../src/core/state/id.js';
import { containerStatus, isAlive, readProcStat } from '../../src/core/state/status.js';
import {
  createdTimestamp, defaultRoot, ownerName, runsInUserNamespace, StateStore, toRuncState,
  type ContainerState,
} from '../../src/core/state/store.js';

const work = mkdtempSync(join(tmpdir(), 'hako-state-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

function sleeper(path = 'sleep', args = ['30']): ChildProcess {
  const child = spawn(path, args, { stdio: 'ignore' });
  children.push(child);
  return child;
}

function sampleState(id: string, over: Partial<ContainerState> = {}): ContainerState {
  return {
    ociVersion: '1.0.2-dev',
    id,
    pid: 4242,
    pidStartTime: '44860',
    bundle: '/b',
    rootfs: '/b/rootfs',
    created: '2026-12-03T13:09:56.259478795Z',
    annotations: {},
    owner: 'root',
    config: { ociVersion: '1.0.2-dev' } as Spec,
    cgroup: { path: '/hako/x', v1: true },
    ...over,
  };
}

describe('validateId', () => {
  it('accepts what runc accepts, comma included', () => {
    for (const id of ['a', 'abc-DEF_1.2+3', 'a,b', '...', '.a', 'x'.repeat(255)]) {
      expect(() => validateId(id)).not.toThrow();
    }
  });

  it('rejects empty, dot ids, separators, non-ASCII and overlong ids', () => {
    expect(() => validateId('')).toThrow('invalid container id "": must not be empty');
    expect(() => validateId('.')).toThrow('invalid container id ".": ');
    expect(() => validateId('..')).toThrow('invalid container id "..": ');
    expect(() => validateId('a/b')).toThrow(/^invalid container id "a\/b": only letters/);
    for (const id of ['a b', 'ä', 'a\nb', 'a:b', '../x']) {
      expect(() => validateId(id)).toThrow(HakoError);
    }
    expect(() => validateId('x'.repeat(256))).toThrow('longer than 255 characters');
  });
});

describe('readProcStat', () => {
  it('reads state and start time of a live process', () => {
    const stat = readProcStat(process.pid);
    expect(stat?.state).toMatch(/^[RS]$/);
    expect(stat?.startTime).toMatch(/^\d+$/);
    expect(readProcStat(process.pid)?.startTime).toBe(stat?.startTime);
  });

  it('returns null for a missing or invalid pid', () => {
    expect(readProcStat(0)).toBeNull();
    expect(readProcStat(-1)).toBeNull();
    expect(readProcStat(2 ** 22 + 1)).toBeNull();
  });

  it('splits after the last ")" when comm holds spaces and parentheses', () => {
    const proc = join(work, 'proc');
    mkdirSync(join(proc, '77'), { recursive: true });
    const tail = Array.from({ length: 50 }, (_, i) => String(i + 4)).join(' ');
    // Fields 4.. hold their own number, so field 22 reads "22".
    writeFileSync(join(proc, '77', 'stat'), `77 (a) b (c) d) Z ${tail}\n`);
    expect(readProcStat(77, proc)).toEqual({ state: 'Z', startTime: '22' });
  });

  it('parses a real process whose name holds ") ("', async () => {
    const dir = join(work, 'comm');
    mkdirSync(dir, { recursive: true });
    const exe = join(dir, 'x) 9 (y');
    copyFileSync('/bin/sleep', exe);
    const child = sleeper(exe);
    await new Promise((r) => child.once('spawn', r));
    const own = readProcStat(child.pid as number);
    const plain = readProcStat(process.pid);
    expect(own?.state).toMatch(/^[RS]$/);
    // Started after this process, so its start time is at least ours.
    expect(BigInt(own?.startTime ?? '0')).toBeGreaterThanOrEqual(BigInt(plain?.startTime ?? '0'));
  });
});

describe('isAlive', () => {
  it('is true for a live process and false for another start time', async () => {
    const child = sleeper();
    await new Promise((r) => child.once('spawn', r));
    const pid = child.pid as number;
    const start = readProcStat(pid)?.startTime;
    expect(isAlive(pid, start)).toBe(true);
    expect(isAlive(pid, '1')).toBe(false);
  });

  it('is false for a zombie', async () => {
    // sh forks a short sleep, then becomes a long sleep, which never reaps the short one
    // once it exits: a zombie. (The short one must outlive the exec, or sh may reap it.)
    const child = spawn('/bin/sh', ['-c', 'sleep 0.2 & echo $!; exec sleep 30'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    children.push(child);
    const zombie = Number(await new Promise<string>((r) => child.stdout?.once('data', r)));
    for (let i = 0; i < 250 && readProcStat(zombie)?.state !== 'Z'; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(readProcStat(zombie)?.state).toBe('Z');
    expect(isAlive(zombie)).toBe(false);
  });

  it('is false once the process is gone', async () => {
    const child = sleeper();
    await new Promise((r) => child.once('spawn', r));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(isAlive(child.pid as number)).toBe(false);
  });
});

describe('containerStatus', () => {
  it('tells created, running, paused and stopped apart', async () => {
    const child = sleeper();
    await new Promise((r) => child.once('spawn', r));
    const pid = child.pid as number;
    const state = { pid, pidStartTime: readProcStat(pid)?.startTime ?? '' };
    const startSocket = join(work, 'status.sock');
    writeFileSync(startSocket, '');

    expect(containerStatus(state, { startSocket })).toBe('created');
    expect(containerStatus(state, { startSocket, isFrozen: () => true })).toBe('paused');
    rmSync(startSocket);
    expect(containerStatus(state, { startSocket, isFrozen: () => false })).toBe('running');
    expect(containerStatus({ ...state, pidStartTime: '1' }, { startSocket })).toBe('stopped');
    expect(containerStatus({ pid: 0, pidStartTime: '' }, { startSocket })).toBe('stopped');

    let asked = false;
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const frozen = (): boolean => (asked = true);
    expect(containerStatus(state, { startSocket, isFrozen: frozen })).toBe('stopped');
    expect(asked).toBe(false);
  });
});

describe('StateStore', () => {
  let root: string;
  let store: StateStore;
  beforeEach(() => {
    root = join(mkdtempSync(join(work, 'root-')), 'nested', 'hako');
    store = new StateStore(root);
  });

  it('reserves a directory once, with runc modes', () => {
    const dir = store.reserve('c1');
    expect(dir).toBe(join(root, 'c1'));
    expect(statSync(root).mode & 0o777).toBe(0o700);
    expect(statSync(dir).mode & 0o777).toBe(0o711);
    expect(() => store.reserve('c1')).toThrow('container with id c1 already exists');
    expect(() => store.reserve('../c2')).toThrow('invalid container id "../c2"');
  });

  it('lets exactly one of several concurrent creates win', async () => {
    const src = fileURLToPath(new URL('../../src/core/state/store.ts', import.meta.url));
    const bundled = join(work, 'store.mjs');
    buildSync({
      entryPoints: [src], bundle: true, platform: 'node', format: 'esm', outfile: bundled,
    });
    const script =
      `import { StateStore } from ${JSON.stringify(bundled)};` +
      `try { new StateStore(process.argv[1]).reserve('race'); console.log('won'); }` +
      `catch (e) { console.log(e.message); }`;
    const runs = Array.from({ length: 4 }, () => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script, root], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
      return new Promise<string>((r) => child.on('close', () => r(out.trim())));
    });
    const results = await Promise.all(runs);
    expect(results.filter((r) => r === 'won')).toHaveLength(1);
    expect(results.filter((r) => r === 'container with id race already exists')).toHaveLength(3);
  }, 30_000);

  it('writes atomically and reads back', () => {
    store.reserve('c1');
    const state = sampleState('c1');
    store.write('c1', state);
    store.write('c1', { ...state, pid: 7 });
    expect(store.read('c1')).toEqual({ ...state, pid: 7 });
    expect(readdirSync(join(root, 'c1'))).toEqual(['state.json']);
    expect(statSync(join(root, 'c1', 'state.json')).mode & 0o777).toBe(0o600);
  });

  it('says "does not exist" for a missing container', () => {
    expect(() => store.read('nope')).toThrow('container "nope" does not exist');
    expect(store.tryRead('nope')).toBeNull();
    expect(() => store.write('nope', sampleState('nope'))).toThrow(
      'container "nope" does not exist',
    );
    store.reserve('mid-create');
    expect(store.tryRead('mid-create')).toBeNull();
  });

  it('rejects a corrupt or foreign state.json', () => {
    store.reserve('c1');
    writeFileSync(join(root, 'c1', 'state.json'), '{"id":');
    expect(() => store.read('c1')).toThrow(/^read state of container "c1": state.json: /);
    writeFileSync(join(root, 'c1', 'state.json'), JSON.stringify(sampleState('other')));
    expect(() => store.read('c1')).toThrow('state.json: not a hako state');
  });

  it('lists container directories and removes them idempotently', () => {
    expect(store.list()).toEqual([]);
    store.reserve('b');
    store.reserve('a');
    writeFileSync(join(root, 'stray-file'), '');
    expect(store.list()).toEqual(['a', 'b']);
    writeFileSync(join(root, 'a', 'start.sock'), '');
    store.remove('a');
    store.remove('a');
    store.remove('never-existed');
    expect(existsSync(join(root, 'a'))).toBe(false);
    expect(store.list()).toEqual(['b']);
  });

  it('places the start socket in the container directory', () => {
    expect(store.startSocketPath('c1')).toBe(join(root, 'c1', 'start.sock'));
    expect(() => store.startSocketPath('a/b')).toThrow('invalid container id');
    expect(new StateStore('rel').root).toBe(join(process.cwd(), 'rel'));
  });
});

describe('defaultRoot', () => {
  it('follows runc: /run for root, XDG_RUNTIME_DIR otherwise', () => {
    const xdg = { XDG_RUNTIME_DIR: '/run/user/1000' };
    expect(defaultRoot({ env: {}, euid: 1000 })).toBe('/run/hako');
    expect(defaultRoot({ env: { XDG_RUNTIME_DIR: '' }, euid: 1000 })).toBe('/run/hako');
    expect(defaultRoot({ env: xdg, euid: 1000 })).toBe('/run/user/1000/hako');
    expect(defaultRoot({ env: xdg, euid: 0, inUserNamespace: false })).toBe('/run/hako');
    expect(defaultRoot({ env: xdg, euid: 0, inUserNamespace: true })).toBe('/run/user/1000/hako');
    expect(defaultRoot({ env: { ...xdg, USER: 'root' }, euid: 0, inUserNamespace: true })).toBe(
      '/run/hako',
    );
  });

  it('detects a user namespace from uid_map', () => {
    const initial = join(work, 'uid_map_initial');
    const nested = join(work, 'uid_map_nested');
    writeFileSync(initial, '         0          0 4294967295\n');
    writeFileSync(nested, '         0       1000          1\n');
    expect(runsInUserNamespace(initial)).toBe(false);
    expect(runsInUserNamespace(nested)).toBe(true);
  });
});

describe('ownerName and createdTimestamp', () => {
  it('names the owner from passwd, "#uid" when unknown', () => {
    const passwd = join(work, 'passwd');
    writeFileSync(passwd, 'root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/a:/bin/sh\n');
    expect(ownerName(0, passwd)).toBe('root');
    expect(ownerName(1000, passwd)).toBe('alice');
    expect(ownerName(5, passwd)).toBe('#5');
    expect(ownerName(0, join(work, 'missing'))).toBe('#0');
  });

  it('formats created like runc, with nine fraction digits in UTC', () => {
    const ms = Date.UTC(2026, 11, 3, 13, 5, 0, 123);
    expect(createdTimestamp(ms + 0.456)).toBe('2026-12-03T13:05:00.123456000Z');
    expect(createdTimestamp(ms)).toBe('2026-12-03T13:05:00.123000000Z');
    expect(createdTimestamp()).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
  });
});

describe('toRuncState', () => {
  it('prints what runc 1.1 state prints, byte for byte', () => {
    const state = sampleState('hkst2', {
      pid: 6512,
      bundle: '/srv/bundles/hkst2',
      rootfs: '/srv/bundles/hkst2/rootfs',
      annotations: { 'b.x': '1', 'a.y': '2' },
    });
    // The output of `runc state hkst2` (runc 1.1.5) for the same container, bundle moved.
    const runc = [
      '{', '  "ociVersion": "1.0.2-dev",', '  "id": "hkst2",', '  "pid": 6512,',
      '  "status": "created",', '  "bundle": "/srv/bundles/hkst2",',
      '  "rootfs": "/srv/bundles/hkst2/rootfs",', '  "created": "2026-12-03T13:09:56.259478795Z",',
      '  "annotations": {', '    "a.y": "2",', '    "b.x": "1"', '  },', '  "owner": ""', '}',
    ].join('\n');
    expect(formatGoJson(toRuncState(state, 'created'), 2)).toBe(runc);
  });

  it('omits empty annotations, zeroes the pid when stopped, passes the owner', () => {
    const out = toRuncState(sampleState('c'), 'stopped', 'root');
    expect(Object.keys(out)).toEqual([
      'ociVersion', 'id', 'pid', 'status', 'bundle', 'rootfs', 'created', 'owner',
    ]);
    expect(out.pid).toBe(0);
    expect(out.owner).toBe('root');
    expect(toRuncState(sampleState('c'), 'paused').pid).toBe(4242);
  });
});
