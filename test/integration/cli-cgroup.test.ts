/**
 * ps, pause, resume, update, events and features through the real CLI, against real
 * containers whose cgroups live under a parent of this test's own (/hako-test-cli-<pid>).
 */
import { spawn } from 'node:child_process';
import {
  closeSync, existsSync, openSync, readdirSync, readFileSync, rmdirSync, writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { CgroupHandle } from '../../src/core/cgroups/index.js';
import type { ContainerState } from '../../src/core/state/store.js';
import { HAKO, Scratch } from './helpers.js';

const scratch = new Scratch();
const PARENT = `/hako-test-cli-${process.pid}`;
const MiB = 1024 * 1024;

let id = '';

/** A started container whose cgroup is under PARENT; `args` is its process. */
function startContainer(args: string[], memoryLimit?: number): string {
  const name = scratch.id('cg');
  const bundle = scratch.bundle((spec) => {
    spec.process!.args = args;
    spec.linux!.cgroupsPath = `${PARENT}/${name}`;
    if (memoryLimit !== undefined) {
      spec.linux!.resources = { ...spec.linux!.resources, memory: { limit: memoryLimit } };
    }
  });
  // The container inherits create's stdio, so pipes would stay open until it exits: its
  // output goes to a file instead.
  const log = join(scratch.dir, `${name}.stderr`);
  const fd = openSync(log, 'w');
  try {
    const created = scratch.hako(['create', '--bundle', bundle, name], {
      stdio: ['ignore', fd, fd],
    });
    expect(created.status, `hako create: ${readFileSync(log, 'utf8')}`).toBe(0);
  } finally {
    closeSync(fd);
  }
  ok(['start', name]);
  return name;
}

function ok(args: string[], input?: string): string {
  const result = scratch.hako(args, input === undefined ? {} : { input });
  expect(result.stderr, `hako ${args.join(' ')}`).toBe('');
  expect(result.status, `hako ${args.join(' ')}`).toBe(0);
  return result.stdout;
}

function recorded(name: string): ContainerState {
  return JSON.parse(readFileSync(join(scratch.root, name, 'state.json'), 'utf8'));
}

function cgroupOf(name: string): CgroupHandle {
  return recorded(name).cgroup as unknown as CgroupHandle;
}

function status(name: string): string {
  return JSON.parse(ok(['state', name])).status;
}

/** The third field of /proc/<pid>/stat: R, S, D, T ... */
function procState(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
}

beforeAll(() => {
  id = startContainer(['sleep', '100']);
});

afterAll(() => {
  scratch.cleanup();
  // delete removes the container cgroups and the parents it made; this catches leftovers.
  for (const hierarchy of existsSync('/sys/fs/cgroup') ? readdirSync('/sys/fs/cgroup') : []) {
    const dir = join('/sys/fs/cgroup', hierarchy, PARENT);
    if (existsSync(dir)) rmdirSync(dir);
  }
});

describe('ps', () => {
  it('--format json prints the host pids of the container, the init among them', () => {
    const pids = JSON.parse(ok(['ps', '--format', 'json', id]));
    expect(pids).toEqual([recorded(id).pid]);
    expect(JSON.parse(ok(['ps', '--format=json', id]))).toEqual(pids);
  });

  it('table form prints ps -ef rows of the container only, or the given ps options', () => {
    const lines = ok(['ps', id]).trimEnd().split('\n');
    expect(lines[0]).toMatch(/^UID\s+PID\s+PPID/);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain('sleep 100');

    const custom = ok(['ps', id, '-o', 'pid,comm']).trimEnd().split('\n');
    expect(custom[0].trim().split(/\s+/)).toEqual(['PID', 'COMMAND']);
    expect(custom[1].trim().split(/\s+/)).toEqual([String(recorded(id).pid), 'sleep']);
  });
});

describe('pause and resume', () => {
  it('freezes the container, reports it paused, then thaws it', () => {
    const pid = recorded(id).pid;
    const cgroup = cgroupOf(id);
    ok(['pause', id]);
    expect(status(id)).toBe('paused');
    if (cgroup.v1.freezer !== undefined) {
      expect(readFileSync(join(cgroup.v1.freezer, 'freezer.state'), 'utf8').trim())
        .toBe('FROZEN');
    }
    // A frozen task shows as D on the v1 freezer of recent kernels, T on older ones.
    expect(['D', 'T']).toContain(procState(pid));

    const again = scratch.hako(['pause', id]);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain('container not running');

    ok(['resume', id]);
    expect(status(id)).toBe('running');
    expect(procState(pid)).toBe('S');
    const twice = scratch.hako(['resume', id]);
    expect(twice.status).toBe(1);
    expect(twice.stderr).toContain('container not paused');
  });
});

describe('update', () => {
  it('--memory 64m sets the memory limit and records it in state.json', () => {
    ok(['update', '--memory', '64m', id]);
    const cgroup = cgroupOf(id);
    const limit = cgroup.kind === 'v2'
      ? readFileSync(join(cgroup.v2 as string, 'memory.max'), 'utf8')
      : readFileSync(join(cgroup.v1.memory, 'memory.limit_in_bytes'), 'utf8');
    expect(limit.trim()).toBe(String(64 * MiB));
    expect(recorded(id).config.linux?.resources?.memory?.limit).toBe(64 * MiB);
  });

  it('reads --resources - and --resources=- from stdin, and -r from a file', () => {
    const pidsMax = (): string => {
      const cgroup = cgroupOf(id);
      const dir = cgroup.kind === 'v2' ? cgroup.v2 as string : cgroup.v1.pids;
      return readFileSync(join(dir, 'pids.max'), 'utf8').trim();
    };
    ok(['update', '--resources', '-', id], '{"pids":{"limit":40}}');
    expect(pidsMax()).toBe('40');
    ok(['update', '--resources=-', id], '{"pids":{"limit":41}}');
    expect(pidsMax()).toBe('41');
    const file = join(scratch.dir, 'resources.json');
    writeFileSync(file, '{"pids":{"limit":42}}');
    ok(['update', '-r', file, id]);
    expect(pidsMax()).toBe('42');
    // Earlier updates stay recorded next to the new one.
    expect(recorded(id).config.linux?.resources?.memory?.limit).toBe(64 * MiB);
    expect(recorded(id).config.linux?.resources?.pids?.limit).toBe(42);
  });

  it('names a bad size and changes nothing', () => {
    const result = scratch.hako(['update', '--memory', '12q', id]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("invalid value for memory: invalid size: '12q'");
    expect(recorded(id).config.linux?.resources?.memory?.limit).toBe(64 * MiB);
  });
});

describe('events', () => {
  it('--stats prints one stats event with the memory in use', () => {
    const lines = ok(['events', '--stats', id]).trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    const event = JSON.parse(lines[0]);
    expect(event).toMatchObject({ type: 'stats', id });
    expect(event.data.memory.usage.usage).toBeGreaterThan(0);
    expect(event.data.pids.current).toBe(1);
  });

  it('streams stats, reports an OOM kill, and ends when the container stops', async () => {
    // tail of /dev/zero buffers one endless line until the OOM killer ends it.
    const oom = startContainer(['sh', '-c', 'sleep 1; tail /dev/zero; sleep 0.5'], 16 * MiB);
    const child = spawn(HAKO, ['--root', scratch.root, 'events', '--interval', '200ms', oom], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      child.on('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    expect(code).toBe(0);
    const types = out.trimEnd().split('\n').map((line) => JSON.parse(line).type);
    expect(types).toContain('oom');
    expect(types.filter((t) => t === 'stats').length).toBeGreaterThanOrEqual(2);
    expect(status(oom)).toBe('stopped');
  });

  it('ends quietly when its reader goes away (events | head -1)', async () => {
    const child = spawn(HAKO, ['--root', scratch.root, 'events', '--interval', '10ms', id], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (chunk) => (err += chunk));
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      child.on('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    expect(err).toBe('');
    expect(code).toBe(0);
  });
});

describe('features', () => {
  it('prints the features document as JSON', () => {
    const features = JSON.parse(ok(['features']));
    expect(features.ociVersionMin).toBe('1.0.0');
    expect(features.ociVersionMax).toBe('1.2.0');
    expect(features.hooks).toHaveLength(6);
    expect(features.mountOptions).toContain('rbind');
    expect(features.linux.namespaces).toHaveLength(8);
    expect(features.linux.capabilities).toContain('CAP_SYS_ADMIN');
    expect(features.linux.cgroup).toMatchObject({ v1: true, v2: true, systemd: false });
    expect(features.linux.seccomp.enabled).toBe(true);
    expect(features.linux.seccomp.actions).toContain('SCMP_ACT_ERRNO');
    expect(features.linux.apparmor).toEqual({ enabled: false });
    expect(features.linux.mountExtensions).toEqual({ idmap: { enabled: false } });
    expect(features.annotations['io.github.seccomp.libseccomp.version']).toMatch(/^\d+\.\d+/);
    expect(features.annotations['io.hako.handlers']).toMatch(/^linux,wasm/);
  });
});
