import { describe, expect, it } from 'vitest';

import { validateSpec } from '../../src/core/spec/load.js';
import { parseMountOptions } from '../../src/core/spec/mount-options.js';
import { defaultSpec, OCI_VERSION } from '../../src/core/spec/template.js';

const DEFAULT_CAPS = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];

describe('defaultSpec', () => {
  const spec = defaultSpec({ rootless: false });

  it('describes an interactive sh, as runc spec does', () => {
    expect(spec.ociVersion).toBe(OCI_VERSION);
    expect(spec.process?.terminal).toBe(true);
    expect(spec.process?.args).toEqual(['sh']);
    expect(spec.process?.user).toEqual({ uid: 0, gid: 0 });
    expect(spec.process?.cwd).toBe('/');
    expect(spec.process?.env).toEqual([
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm',
    ]);
    expect(spec.process?.noNewPrivileges).toBe(true);
    expect(spec.root).toEqual({ path: 'rootfs', readonly: true });
  });

  it('grants the default capabilities in every set but inheritable', () => {
    expect(spec.process?.capabilities).toEqual({
      bounding: DEFAULT_CAPS, effective: DEFAULT_CAPS, permitted: DEFAULT_CAPS,
      ambient: DEFAULT_CAPS,
    });
  });

  it('limits open files to 1024', () => {
    expect(spec.process?.rlimits).toEqual([{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }]);
  });

  it('mounts proc, dev, devpts, shm, mqueue, sysfs and cgroup', () => {
    expect(spec.mounts?.map((m) => [m.destination, m.type, m.source])).toEqual([
      ['/proc', 'proc', 'proc'],
      ['/dev', 'tmpfs', 'tmpfs'],
      ['/dev/pts', 'devpts', 'devpts'],
      ['/dev/shm', 'tmpfs', 'shm'],
      ['/dev/mqueue', 'mqueue', 'mqueue'],
      ['/sys', 'sysfs', 'sysfs'],
      ['/sys/fs/cgroup', 'cgroup', 'cgroup'],
    ]);
    const devpts = spec.mounts?.find((m) => m.destination === '/dev/pts');
    expect(devpts?.options).toEqual(
      ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    );
    const sys = spec.mounts?.find((m) => m.destination === '/sys');
    expect(sys?.options).toEqual(['nosuid', 'noexec', 'nodev', 'ro']);
  });

  it('uses only mount options hako can parse into flags or known data', () => {
    for (const m of spec.mounts ?? []) {
      const parsed = parseMountOptions(m.options ?? []);
      for (const d of parsed.data) expect(d, m.destination).toMatch(/=|^newinstance$/);
    }
  });

  it('isolates pid, network, ipc, uts and mount, and denies all devices', () => {
    expect(spec.linux?.namespaces?.map((n) => n.type))
      .toEqual(['pid', 'network', 'ipc', 'uts', 'mount']);
    expect(spec.linux?.resources).toEqual({ devices: [{ allow: false, access: 'rwm' }] });
    expect(spec.linux?.uidMappings).toBeUndefined();
  });

  it('masks and write-protects the paths runc does', () => {
    expect(spec.linux?.maskedPaths).toEqual([
      '/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats',
      '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/sys/firmware', '/proc/scsi',
    ]);
    expect(spec.linux?.readonlyPaths).toEqual(
      ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    );
  });

  it('passes its own validation', () => {
    expect(() => validateSpec(spec)).not.toThrow();
    expect(() => validateSpec(defaultSpec({ rootless: true }))).not.toThrow();
  });

  it('takes the command from args and copies it', () => {
    const args = ['/bin/echo', 'hi'];
    const custom = defaultSpec({ rootless: false, args });
    expect(custom.process?.args).toEqual(args);
    custom.process?.args?.push('x');
    expect(args).toEqual(['/bin/echo', 'hi']);
  });

  it('returns independent objects', () => {
    const a = defaultSpec({ rootless: false });
    a.process?.capabilities?.bounding?.push('CAP_SYS_ADMIN');
    a.mounts?.[1]?.options?.push('x');
    const b = defaultSpec({ rootless: false });
    expect(b.process?.capabilities?.bounding).toEqual(DEFAULT_CAPS);
    expect(b.mounts?.[1]?.options).toEqual(['nosuid', 'strictatime', 'mode=755', 'size=65536k']);
  });
});

describe('defaultSpec rootless', () => {
  const spec = defaultSpec({ rootless: true, uid: 1000, gid: 1001 });

  it('adds a user namespace and drops the network namespace', () => {
    expect(spec.linux?.namespaces?.map((n) => n.type))
      .toEqual(['pid', 'ipc', 'uts', 'mount', 'user']);
  });

  it('maps root to the given ids only', () => {
    expect(spec.linux?.uidMappings).toEqual([{ containerID: 0, hostID: 1000, size: 1 }]);
    expect(spec.linux?.gidMappings).toEqual([{ containerID: 0, hostID: 1001, size: 1 }]);
  });

  it('defaults the mapped ids to the caller\'s effective ids', () => {
    const own = defaultSpec({ rootless: true });
    expect(own.linux?.uidMappings?.[0]?.hostID).toBe(process.geteuid?.());
    expect(own.linux?.gidMappings?.[0]?.hostID).toBe(process.getegid?.());
  });

  it('binds /sys instead of mounting sysfs', () => {
    expect(spec.mounts?.find((m) => m.destination === '/sys')).toEqual({
      destination: '/sys', type: 'none', source: '/sys',
      options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'],
    });
  });

  it('drops uid= and gid= mount options and cgroup resources', () => {
    const devpts = spec.mounts?.find((m) => m.destination === '/dev/pts');
    expect(devpts?.options).toEqual(
      ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'],
    );
    expect(spec.linux?.resources).toBeUndefined();
    expect(spec.linux && 'resources' in spec.linux).toBe(false);
  });

  it('keeps everything else as in the default spec', () => {
    const base = defaultSpec({ rootless: false });
    expect(spec.process).toEqual(base.process);
    expect(spec.root).toEqual(base.root);
    expect(spec.linux?.maskedPaths).toEqual(base.linux?.maskedPaths);
    expect(spec.mounts?.map((m) => m.destination)).toEqual(base.mounts?.map((m) => m.destination));
  });
});
