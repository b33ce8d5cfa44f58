/**
 * root and mounts of config.json, seen from inside real containers through
 * /proc/self/mountinfo and by using the mounts (writing, executing, reading); pivot_root and
 * --no-pivot. Propagation is in config-propagation.test.ts.
 */
import {
  closeSync, copyFileSync, cpSync, mkdirSync, openSync, readFileSync, writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Mount } from '../../src/core/spec/types.js';
import {
  fields, HostMounts, mountAt, parseMountinfo, runBundle, runOk, runScript,
} from './config-helpers.js';
import { Scratch } from './helpers.js';

const scratch = new Scratch();
const hostMounts = new HostMounts();

afterAll(() => {
  hostMounts.unmountAll();
  scratch.cleanup();
});

/** A host directory holding one file, to bind into containers. */
function hostDir(name: string, content = 'from the host\n'): string {
  const dir = join(scratch.dir, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'file'), content);
  return dir;
}

describe('root', () => {
  it('root.path relative to the bundle is the container\'s /', () => {
    const bundle = scratch.bundle((spec) => {
      spec.process!.args = ['cat', '/marker'];
    });
    writeFileSync(join(bundle, 'rootfs', 'marker'), 'bundle rootfs\n');
    const r = runBundle(scratch, bundle);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('bundle rootfs\n');
  });

  it('root.path may be absolute, outside the bundle', () => {
    const elsewhere = join(scratch.dir, 'rootfs-elsewhere');
    const bundle = scratch.bundle((spec) => {
      spec.process!.args = ['sh', '-c', 'cat /marker; [ -e /bundle-only ] || echo none'];
      spec.root!.path = elsewhere;
    });
    cpSync(join(bundle, 'rootfs'), elsewhere, { recursive: true, verbatimSymlinks: true });
    writeFileSync(join(elsewhere, 'marker'), 'absolute rootfs\n');
    writeFileSync(join(bundle, 'rootfs', 'bundle-only'), '');
    const r = runBundle(scratch, bundle);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('absolute rootfs\nnone\n');
  });

  it('root.readonly: true makes / read-only', () => {
    const r = runScript(scratch, 'cat /proc/self/mountinfo; touch /new-file', (spec) => {
      spec.root!.readonly = true;
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('Read-only file system');
    expect(mountAt(parseMountinfo(r.stdout), '/').options).toContain('ro');
  });

  it('root.readonly: false leaves / writable', () => {
    const out = runOk(scratch, 'cat /proc/self/mountinfo; touch /new-file && echo ok',
      (spec) => {
        spec.root!.readonly = false;
      });
    expect(out).toMatch(/ok\n$/);
    expect(mountAt(parseMountinfo(out), '/').options).toContain('rw');
  });
});

describe('bind mounts', () => {
  let src = '';
  beforeAll(() => {
    src = hostDir('bind-src');
    copyFileSync('/bin/busybox', join(src, 'busybox'));
    // A mount below the source: only a recursive bind carries it along.
    hostMounts.mount(['-t', 'tmpfs', 'hako-it-sub'], join(src, 'sub'));
    writeFileSync(join(src, 'sub', 'inner'), 'submount\n');
  });

  const bind = (destination: string, options: string[]): Mount =>
    ({ destination, type: 'bind', source: src, options });

  it('applies ro, nosuid, nodev and noexec to a bind', () => {
    const r = runScript(scratch,
      'cat /proc/self/mountinfo; cat /b/file; /b/busybox true || echo noexec; ' +
      'touch /b/new || echo readonly', (spec) => {
        spec.mounts!.push(bind('/b', ['bind', 'ro', 'nosuid', 'nodev', 'noexec']));
      });
    expect(r.status, r.stderr).toBe(0);
    const m = mountAt(parseMountinfo(r.stdout), '/b');
    for (const option of ['ro', 'nosuid', 'nodev', 'noexec']) expect(m.options).toContain(option);
    expect(r.stdout).toContain('from the host\n');
    expect(r.stdout).toContain('noexec\n');
    expect(r.stdout).toContain('readonly\n');
    expect(r.stderr).toContain('Read-only file system');
  });

  it('a bind without options is writable and executable', () => {
    const r = runScript(scratch,
      'cat /proc/self/mountinfo; /b/busybox true && echo executed; ' +
      'echo inside > /b/written && echo wrote', (spec) => {
        spec.mounts!.push(bind('/b', ['bind']));
      });
    expect(r.status, r.stderr).toBe(0);
    const m = mountAt(parseMountinfo(r.stdout), '/b');
    expect(m.options).toContain('rw');
    for (const option of ['nosuid', 'nodev', 'noexec']) expect(m.options).not.toContain(option);
    expect(r.stdout).toContain('executed\n');
    expect(readFileSync(join(src, 'written'), 'utf8')).toBe('inside\n');
  });

  it('bind leaves out the mounts below the source, rbind brings them', () => {
    const out = fields(runOk(scratch,
      'echo bind=$(ls /b/sub); echo rbind=$(cat /rb/sub/inner); ' +
      'echo rbind_sub=$(grep -c " /rb/sub " /proc/self/mountinfo); ' +
      'echo bind_sub=$(grep -c " /b/sub " /proc/self/mountinfo)', (spec) => {
        spec.mounts!.push(bind('/b', ['bind']), bind('/rb', ['rbind', 'ro']));
      }));
    expect(out.bind).toBe('');
    expect(out.rbind).toBe('submount');
    expect(out.rbind_sub).toBe('1');
    expect(out.bind_sub).toBe('0');
  });

  it('binds a single file', () => {
    const file = join(scratch.dir, 'single-file');
    writeFileSync(file, 'one file\n');
    const r = runScript(scratch, 'cat /etc/bound; cat /proc/self/mountinfo; echo x >> /etc/bound',
      (spec) => {
        spec.mounts!.push({ destination: '/etc/bound', type: 'bind', source: file,
          options: ['bind', 'ro'] });
      });
    expect(r.stdout.startsWith('one file\n')).toBe(true);
    const m = mountAt(parseMountinfo(r.stdout), '/etc/bound');
    expect(m.root).toBe(file);
    expect(m.options).toContain('ro');
    expect(r.stderr).toContain('Read-only file system');
    expect(readFileSync(file, 'utf8')).toBe('one file\n');
  });
});

describe('filesystem mounts', () => {
  it('tmpfs with size= and mode=', () => {
    const r = runScript(scratch,
      'cat /proc/self/mountinfo; echo mode=$(stat -c %a /t); ' +
      'dd if=/dev/zero of=/t/fill bs=1024 count=2048 2>&1; echo used=$(du -k /t/fill | cut -f1)',
      (spec) => {
        spec.mounts!.push({ destination: '/t', type: 'tmpfs', source: 'tmpfs',
          options: ['size=1m', 'mode=0750', 'nosuid'] });
      });
    expect(r.status, r.stderr).toBe(0);
    const m = mountAt(parseMountinfo(r.stdout), '/t');
    expect(m.fstype).toBe('tmpfs');
    expect(m.superOptions).toContain('size=1024k');
    expect(m.superOptions).toContain('mode=750');
    expect(m.options).toContain('nosuid');
    const out = fields(r.stdout);
    expect(out.mode).toBe('750');
    expect(r.stdout).toContain('No space left on device');
    expect(Number(out.used)).toBeLessThanOrEqual(1024);
  });

  it('a relative destination is mounted under / with one warning in the log, as runc 1.1', () => {
    const bundle = scratch.bundle((spec) => {
      spec.process!.args = ['cat', '/proc/self/mountinfo'];
      spec.mounts!.push({ destination: 'data', type: 'tmpfs', source: 'tmpfs' });
    });
    const log = join(scratch.dir, 'relative.log');
    const r = scratch.hako(['--log', log, 'run', '--bundle', bundle, scratch.id('run')]);
    expect(r.status, r.stderr).toBe(0);
    expect(mountAt(parseMountinfo(r.stdout), '/data').fstype).toBe('tmpfs');
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/ level=warning msg="config\.json: mounts\[\d+\]\.destination /);
    expect(lines[0]).toContain('\\"data\\" is not absolute');
  });

  it('proc, sysfs, devpts, mqueue and a tmpfs /dev as the default config has them', () => {
    const r = runScript(scratch,
      'cat /proc/self/mountinfo; echo ptmx=$(stat -c %a /dev/pts/ptmx); ' +
      'echo comm1=$(cat /proc/1/comm); echo net=$(ls /sys/class/net)',
      () => undefined);
    expect(r.status, r.stderr).toBe(0);
    const mounts = parseMountinfo(r.stdout);
    expect(mountAt(mounts, '/proc').fstype).toBe('proc');
    const sys = mountAt(mounts, '/sys');
    expect(sys.fstype).toBe('sysfs');
    expect(sys.options).toContain('ro');
    expect(mountAt(mounts, '/dev').fstype).toBe('tmpfs');
    expect(mountAt(mounts, '/dev/mqueue').fstype).toBe('mqueue');
    const pts = mountAt(mounts, '/dev/pts');
    expect(pts.fstype).toBe('devpts');
    expect(pts.superOptions).toEqual(expect.arrayContaining(['ptmxmode=666', 'mode=620', 'gid=5']));
    // newinstance: a devpts of its own, not one of the host's.
    const hostPts = parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8'))
      .filter((m) => m.fstype === 'devpts').map((m) => m.dev);
    expect(hostPts).not.toContain(pts.dev);
    const out = fields(r.stdout);
    expect(out.ptmx).toBe('666');
    // The container's proc belongs to its pid namespace (pid 1 is its shell), its sysfs to its
    // network namespace (only a loopback device).
    expect(out.comm1).toBe('sh');
    expect(out.net).toBe('lo');
  });

  it('a cgroup mount on a v1 host: one directory per hierarchy', () => {
    const out = fields(runOk(scratch,
      'echo memory=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes); ' +
      'echo pids=$(cat /sys/fs/cgroup/pids/pids.max); ' +
      'echo cpu=$(ls /sys/fs/cgroup/cpu/cpu.shares); ' +
      'echo fstype=$(grep " /sys/fs/cgroup/memory " /proc/self/mountinfo | cut -d" " -f9)',
      (spec) => {
        spec.linux!.resources = { ...spec.linux!.resources, memory: { limit: 64 * 1024 * 1024 },
          pids: { limit: 77 } };
      }));
    expect(out.memory).toBe(String(64 * 1024 * 1024));
    expect(out.pids).toBe('77');
    expect(out.cpu).toBe('/sys/fs/cgroup/cpu/cpu.shares');
    expect(out.fstype).toBe('cgroup');
  });
});

describe('pivot_root and --no-pivot', () => {
  const script = 'cat /marker; cat /proc/self/mountinfo; echo cwd=$(pwd); ' +
    'echo scratch=$([ -e "$SCRATCH" ] && echo visible || echo hidden)';

  function bundleWithMarker(): string {
    const bundle = scratch.bundle((spec) => {
      spec.process!.args = ['sh', '-c', script];
      spec.process!.env!.push(`SCRATCH=${scratch.dir}`);
    });
    writeFileSync(join(bundle, 'rootfs', 'marker'), 'the rootfs\n');
    return bundle;
  }

  function check(stdout: string, bundle: string): void {
    expect(stdout.startsWith('the rootfs\n')).toBe(true);
    const mounts = parseMountinfo(stdout);
    expect(mountAt(mounts, '/').root).toBe(join(bundle, 'rootfs'));
    // Nothing of the host's tree is reachable by path.
    expect(mounts.filter((m) => m.mountPoint.startsWith(scratch.dir))).toEqual([]);
    expect(fields(stdout)).toMatchObject({ cwd: '/', scratch: 'hidden' });
  }

  it('run (pivot_root)', () => {
    const bundle = bundleWithMarker();
    const r = runBundle(scratch, bundle);
    expect(r.status, r.stderr).toBe(0);
    check(r.stdout, bundle);
  });

  it('run --no-pivot', () => {
    const bundle = bundleWithMarker();
    const r = runBundle(scratch, bundle, ['--no-pivot']);
    expect(r.status, r.stderr).toBe(0);
    check(r.stdout, bundle);
  });

  it('create --no-pivot, then start', async () => {
    const bundle = bundleWithMarker();
    const id = scratch.id('nopivot');
    const outFile = join(scratch.dir, `${id}.out`);
    const errFile = join(scratch.dir, `${id}.err`);
    // The init keeps create's stdio for the workload: files, so that create can return.
    const fds = [openSync(outFile, 'w'), openSync(errFile, 'w')];
    let created;
    try {
      created = scratch.hako(['create', '--no-pivot', '--bundle', bundle, id],
        { stdio: ['ignore', fds[0], fds[1]] });
    } finally {
      fds.forEach((fd) => closeSync(fd));
    }
    expect(created.status, readFileSync(errFile, 'utf8')).toBe(0);
    const started = scratch.hako(['start', id]);
    expect(started.status, started.stderr).toBe(0);
    for (let i = 0; i < 100; i++) {
      const state = JSON.parse(scratch.hako(['state', id]).stdout) as { status: string };
      if (state.status === 'stopped') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    check(readFileSync(outFile, 'utf8'), bundle);
    expect(scratch.hako(['delete', id]).status).toBe(0);
  });
});
