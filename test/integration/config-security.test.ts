/**
 * What keeps the container in: symlinks in the image cannot send a mount to the host, only
 * stdio and the preserved descriptors reach the workload, maskedPaths and readonlyPaths
 * hide and protect /proc and /sys. And config.json fields hako does not know are ignored.
 */
import { spawnSync } from 'node:child_process';
import {
  closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import type { Mount, Spec } from '../../src/core/spec/types.js';
import {
  fields, makeBundle, mountAt, parseMountinfo, runBundle, runDetached, runOk, runScript,
} from './config-helpers.js';
import { HAKO, Scratch, hostMountsMentioning } from './helpers.js';

const scratch = new Scratch();
const outside: string[] = [];
afterAll(() => {
  for (const dir of outside) rmSync(dir, { recursive: true, force: true });
  scratch.cleanup();
});

describe('symlinks in the image used as mount destinations', () => {
  const source = join(scratch.dir, 'payload');
  mkdirSync(source);
  writeFileSync(join(source, 'payload'), 'payload\n');

  /**
   * An empty host directory a malicious image points at, and an image whose `name` is a link
   * to it (absolute, or climbing with ../..). With `alsoInRootfs` the same path exists in the
   * rootfs too, so the link resolves there without anything to create.
   */
  function escapeAttempt(name: string, relative: boolean, alsoInRootfs: boolean, mount: Mount) {
    const target = join(tmpdir(), `outside-${name}-${process.pid}`);
    mkdirSync(target, { recursive: true });
    outside.push(target);
    const bundle = makeBundle(scratch, (spec) => {
      spec.process!.args = ['sh', '-c',
        `cat ${mount.destination}/payload 2>/dev/null; cat /proc/self/mountinfo`];
      spec.mounts!.push(mount);
    });
    const rootfs = join(bundle, 'rootfs');
    symlinkSync(relative ? `../../../../../../../..${target}` : target, join(rootfs, name));
    if (alsoInRootfs) mkdirSync(join(rootfs, target));
    const r = runBundle(scratch, bundle);
    // Whatever hako made of it, the host directory is untouched and no mount reached it.
    expect(readdirSync(target)).toEqual([]);
    expect(hostMountsMentioning(target)).toEqual([]);
    return { r, target, rootfs };
  }

  const bindAt = (destination: string): Mount =>
    ({ destination, type: 'bind', source, options: ['bind'] });

  it('an absolute link: the bind lands inside the rootfs', () => {
    const { r, target, rootfs } = escapeAttempt('abs', false, true, bindAt('/abs'));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.startsWith('payload\n')).toBe(true);
    // The link was followed beneath the rootfs: the mount point is <rootfs>/tmp/outside-...
    expect(mountAt(parseMountinfo(r.stdout), target).root).toBe(source);
    expect(readdirSync(join(rootfs, target))).toEqual([]);
  });

  it('a relative link climbing out with ../..: a tmpfs lands inside the rootfs', () => {
    const { r, target } = escapeAttempt('rel', true, true,
      { destination: '/rel', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] });
    expect(r.status, r.stderr).toBe(0);
    expect(mountAt(parseMountinfo(r.stdout), target).fstype).toBe('tmpfs');
  });

  it('a link in a parent directory of the destination', () => {
    const { r, target } = escapeAttempt('parent', false, true, bindAt('/parent/sub'));
    expect(r.status, r.stderr).toBe(0);
    expect(mountAt(parseMountinfo(r.stdout), `${target}/sub`).root).toBe(source);
  });

  it('links whose target exists only on the host: nothing reaches the host', () => {
    // The outcome inside (runc creates the target beneath the rootfs) is checked elsewhere;
    // here only that the host is left alone, by absolute and by relative links.
    escapeAttempt('dangling-abs', false, false, bindAt('/dangling-abs'));
    escapeAttempt('dangling-rel', true, false, bindAt('/dangling-rel'));
    escapeAttempt('dangling-tmpfs', true, false,
      { destination: '/dangling-tmpfs', type: 'tmpfs', source: 'tmpfs' });
  });
});

describe('file descriptors', () => {
  it('the workload sees only 0, 1 and 2 (and ls\'s own directory)', () => {
    // hako is started with fds 3 and 4 open: without --preserve-fds they must not leak in.
    const { out } = spawnWithFds([], 'ls /proc/self/fd');
    expect(out.trim().split(/\s+/).sort()).toEqual(['0', '1', '2', '3']);
  });

  it('--preserve-fds 2 passes fds 3 and 4, writable', () => {
    const { out, files } = spawnWithFds(['--preserve-fds', '2'],
      'echo to-three >&3; echo to-four >&4; ls /proc/self/fd');
    expect(out.trim().split(/\s+/).sort()).toEqual(['0', '1', '2', '3', '4', '5']);
    expect(readFileSync(files[0], 'utf8')).toBe('to-three\n');
    expect(readFileSync(files[1], 'utf8')).toBe('to-four\n');
  });

  function spawnWithFds(flags: string[], script: string) {
    const bundle = makeBundle(scratch, (spec) => {
      spec.process!.args = ['sh', '-c', script];
    });
    const id = scratch.id('fds');
    const files = [join(scratch.dir, `${id}.3`), join(scratch.dir, `${id}.4`)];
    const fds = files.map((f) => openSync(f, 'w'));
    try {
      const r = spawnSync(HAKO, ['--root', scratch.root, 'run', ...flags, '--bundle', bundle, id],
        { stdio: ['ignore', 'pipe', 'pipe', fds[0], fds[1]], encoding: 'utf8', timeout: 30_000 });
      expect(r.status, r.stderr).toBe(0);
      return { out: r.stdout, files };
    } finally {
      fds.forEach((fd) => closeSync(fd));
    }
  }
});

describe('maskedPaths', () => {
  it('a masked file reads empty: it is /dev/null', () => {
    const r = runScript(scratch,
      'echo keys=$(cat /proc/keys | wc -c); echo dev=$(stat -c "%t:%T" /proc/keys); ' +
      'echo timer=$(cat /proc/timer_list | wc -c); ' +
      'echo kcore=$(cat /proc/kcore 2>/dev/null | wc -c)',
      (spec) => {
        spec.linux!.maskedPaths = ['/proc/kcore', '/proc/keys', '/proc/timer_list'];
      });
    expect(r.status, r.stderr).toBe(0);
    // /proc/kcore does not exist on this machine's kernel: masking a missing path is skipped
    // (and it reads nothing either way).
    expect(fields(r.stdout)).toEqual({ keys: '0', dev: '1:3', timer: '0', kcore: '0' });
  });

  it('unmasked, the same file is proc\'s own', () => {
    const out = fields(runOk(scratch,
      'echo dev=$(stat -c "%t:%T" /proc/timer_list); echo lines=$(wc -l < /proc/timer_list)',
      (spec) => {
        spec.linux!.maskedPaths = [];
      }));
    expect(out.dev).toBe('0:0');
    expect(Number(out.lines)).toBeGreaterThan(0);
  });

  it('a masked directory is an empty read-only tmpfs', () => {
    const bundle = makeBundle(scratch, (spec) => {
      spec.process!.args = ['sh', '-c',
        'cat /proc/self/mountinfo; echo fw=$(ls -A /sys/firmware | wc -l); ' +
        'echo secret=$(ls -A /secret | wc -l); touch /secret/x 2>&1 || echo denied'];
      spec.linux!.maskedPaths = ['/proc/acpi', '/sys/firmware', '/secret'];
    });
    mkdirSync(join(bundle, 'rootfs', 'secret'));
    writeFileSync(join(bundle, 'rootfs', 'secret', 'key'), 'hidden\n');
    const r = runBundle(scratch, bundle);
    expect(r.status, r.stderr).toBe(0);
    const mounts = parseMountinfo(r.stdout);
    for (const path of ['/proc/acpi', '/sys/firmware', '/secret']) {
      const m = mountAt(mounts, path);
      expect(m.fstype, path).toBe('tmpfs');
      expect(m.options, path).toContain('ro');
    }
    // The host's /sys/firmware has entries; the container's is empty.
    expect(readdirSync('/sys/firmware').length).toBeGreaterThan(0);
    const out = fields(r.stdout);
    expect(out.fw).toBe('0');
    expect(out.secret).toBe('0');
    expect(r.stdout).toContain('Read-only file system');
  });
});

describe('readonlyPaths', () => {
  const write = 'echo 1 > /proc/sys/kernel/shm_rmid_forced && cat /proc/sys/kernel/shm_rmid_forced';

  it('a write under a read-only path fails with Read-only file system', () => {
    const r = runScript(scratch, `${write}; cat /proc/self/mountinfo`, (spec) => {
      spec.linux!.readonlyPaths = ['/proc/sys'];
    });
    expect(r.stderr).toContain('Read-only file system');
    expect(mountAt(parseMountinfo(r.stdout), '/proc/sys').options).toContain('ro');
  });

  it('without it the same write succeeds (in the container\'s own ipc namespace)', () => {
    const out = runOk(scratch, write, (spec) => {
      spec.linux!.readonlyPaths = [];
    });
    expect(out).toBe('1\n');
    expect(readFileSync('/proc/sys/kernel/shm_rmid_forced', 'utf8')).toBe('0\n');
  });
});

describe('unknown fields and annotations', () => {
  it('are ignored, and annotations show in the state', () => {
    const c = runDetached(scratch, ['sleep', '1000'], (spec) => {
      const loose = spec as Spec & Record<string, unknown>;
      loose.futureField = { nested: [1, 2, 3] };
      (loose.process as unknown as Record<string, unknown>).futureProcessField = 'x';
      (loose.linux as unknown as Record<string, unknown>).futureLinuxField = true;
      (loose.root as unknown as Record<string, unknown>).futureRootField = 7;
      spec.annotations = { 'org.example.key': 'value', 'hako.test/empty': '' };
    });
    try {
      const state = JSON.parse(scratch.hako(['state', c.id]).stdout) as {
        status: string; annotations?: Record<string, string>;
      };
      expect(state.status).toBe('running');
      expect(state.annotations).toEqual({ 'org.example.key': 'value', 'hako.test/empty': '' });
    } finally {
      scratch.hako(['delete', '--force', c.id]);
    }
  });
});
