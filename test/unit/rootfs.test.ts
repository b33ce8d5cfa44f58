import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import type { CgroupLayout } from '../../src/core/cgroups/types.js';
import { HakoError } from '../../src/core/errors.js';
import { findMount, type HostMount, type HostView, nodeHost } from '../../src/core/rootfs/host.js';
import { type RootfsContext, setupRootfs } from '../../src/core/rootfs/index.js';
import {
  MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_RELATIME, MS_STRICTATIME,
} from '../../src/core/spec/linux.js';
import { defaultSpec } from '../../src/core/spec/template.js';
import type { Spec } from '../../src/core/spec/types.js';
import { RecordingSys, statDir, statFile } from '../../src/core/sys/recording.js';

const EPERM = 1;
const HOST_FLAGS = MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME;

/** The host as the rootfs code sees it: a few paths and a mount table. */
class FakeHost implements HostView {
  readonly dirs = new Set<string>();
  readonly files = new Set<string>();
  readonly mounts: { path: string; mount: HostMount }[] = [
    { path: '/', mount: { mountPoint: '/', fstype: 'ext4', flags: MS_RELATIME } },
  ];

  fileType(path: string): 'directory' | 'other' {
    if (this.dirs.has(path)) return 'directory';
    if (this.files.has(path)) return 'other';
    throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT', errno: -2 });
  }

  realpath(path: string): string {
    return path;
  }

  exists(path: string): boolean {
    return path === '/proc/kcore';
  }

  mountOf(path: string): HostMount {
    let best = this.mounts[0].mount;
    for (const m of this.mounts) {
      if (path === m.path || path.startsWith(`${m.path}/`)) best = m.mount;
    }
    return best;
  }

  inUserNamespace(): boolean {
    return false;
  }

  mount(path: string, fstype: string, flags: number): this {
    this.mounts.push({ path, mount: { mountPoint: path, fstype, flags } });
    return this;
  }
}

const HYBRID: CgroupLayout = {
  kind: 'hybrid',
  v1: new Map([
    ['cpu', '/sys/fs/cgroup/cpu,cpuacct'],
    ['cpuacct', '/sys/fs/cgroup/cpu,cpuacct'],
    ['memory', '/sys/fs/cgroup/memory'],
    ['name=systemd', '/sys/fs/cgroup/systemd'],
  ]),
  v2: '/sys/fs/cgroup/unified',
};

const CONTAINER_CGROUP = {
  kind: 'hybrid' as const,
  v1: {
    cpu: '/sys/fs/cgroup/cpu,cpuacct/hako/c1',
    cpuacct: '/sys/fs/cgroup/cpu,cpuacct/hako/c1',
    memory: '/sys/fs/cgroup/memory/hako/c1',
  },
};

/** A spec with only what a test adds: a mount namespace, a rootfs, no mounts. */
function bareSpec(extra: Partial<Spec> = {}): Spec {
  return {
    ociVersion: '1.2.0',
    root: { path: 'rootfs' },
    linux: { namespaces: [{ type: 'mount' }] },
    ...extra,
  };
}

async function run(spec: Spec, host = new FakeHost(), ctx: Partial<RootfsContext> = {}) {
  const sys = new RecordingSys();
  await setupRootfs(sys, spec, { bundle: '/b', host, ...ctx });
  return sys;
}

const DEVICES_MKNOD = [
  'mknod /dev/null 020666 1:3 in-root', 'chmod /dev/null 0666 in-root',
  'mknod /dev/random 020666 1:8 in-root', 'chmod /dev/random 0666 in-root',
  'mknod /dev/full 020666 1:7 in-root', 'chmod /dev/full 0666 in-root',
  'mknod /dev/tty 020666 5:0 in-root', 'chmod /dev/tty 0666 in-root',
  'mknod /dev/zero 020666 1:5 in-root', 'chmod /dev/zero 0666 in-root',
  'mknod /dev/urandom 020666 1:9 in-root', 'chmod /dev/urandom 0666 in-root',
];

const DEV_SYMLINKS = [
  'symlink /dev/ptmx -> pts/ptmx in-root',
  'symlink /dev/fd -> /proc/self/fd in-root',
  'symlink /dev/stdin -> /proc/self/fd/0 in-root',
  'symlink /dev/stdout -> /proc/self/fd/1 in-root',
  'symlink /dev/stderr -> /proc/self/fd/2 in-root',
  'symlink /dev/core -> /proc/kcore in-root',
];

describe('setupRootfs', () => {
  it("performs runc's default spec in runc's order (hybrid host, no cgroupns)", async () => {
    const host = new FakeHost();
    host.dirs.add(CONTAINER_CGROUP.v1.cpu).add(CONTAINER_CGROUP.v1.memory);
    const sys = new RecordingSys();
    sys.stats.set('/proc/sys', statDir()).set('/proc/acpi', statDir())
      .set('/proc/kcore', statFile(0o400));

    await setupRootfs(sys, defaultSpec({ rootless: false }), {
      bundle: '/b', host, cgroupLayout: HYBRID, cgroup: CONTAINER_CGROUP,
    });

    expect(sys.calls).toEqual([
      // 1. nothing propagates to the host; the rootfs becomes a mount point and the root.
      'mount none on / flags=0x84000',
      'mount none on / flags=0x80000',
      'mount /b/rootfs on /b/rootfs type bind flags=0x5000',
      'setRoot /b/rootfs',
      // 2. the mounts, in order. /dev is mounted writable: it is not "ro" here anyway.
      'mkdirAll /proc 0755 in-root',
      'mount proc on /proc type proc flags=0x0 in-root',
      'stat /dev in-root',
      'mkdirAll /dev 0755 in-root',
      'mount tmpfs on /dev type tmpfs flags=0x1000002 data=mode=755,size=65536k in-root',
      'mkdirAll /dev/pts 0755 in-root',
      'mount devpts on /dev/pts type devpts flags=0xa '
        + 'data=newinstance,ptmxmode=0666,mode=0620,gid=5 in-root',
      'stat /dev/shm in-root',
      'mkdirAll /dev/shm 0755 in-root',
      'mount shm on /dev/shm type tmpfs flags=0xe data=mode=1777,size=65536k in-root',
      'mkdirAll /dev/mqueue 0755 in-root',
      'mount mqueue on /dev/mqueue type mqueue flags=0xe in-root',
      'mkdirAll /sys 0755 in-root',
      'mount sysfs on /sys type sysfs flags=0xf in-root',
      // cgroup v1 without a cgroup namespace: a tmpfs and the container's own directories.
      'stat /sys/fs/cgroup in-root',
      'mkdirAll /sys/fs/cgroup 0755 in-root',
      'mount tmpfs on /sys/fs/cgroup type tmpfs flags=0xe data=mode=755 in-root',
      'mkdirAll /sys/fs/cgroup/cpu,cpuacct 0755 in-root',
      'mount /sys/fs/cgroup/cpu,cpuacct/hako/c1 on /sys/fs/cgroup/cpu,cpuacct type bind '
        + 'flags=0x20500f in-root',
      'mount none on /sys/fs/cgroup/cpu,cpuacct flags=0x20502f in-root',
      'mkdirAll /sys/fs/cgroup/memory 0755 in-root',
      'mount /sys/fs/cgroup/memory/hako/c1 on /sys/fs/cgroup/memory type bind '
        + 'flags=0x20500f in-root',
      'mount none on /sys/fs/cgroup/memory flags=0x20502f in-root',
      'symlink /sys/fs/cgroup/cpu -> cpu,cpuacct in-root',
      'symlink /sys/fs/cgroup/cpuacct -> cpu,cpuacct in-root',
      // 3. devices in a fresh /dev: made without looking first.
      ...DEVICES_MKNOD,
      ...DEV_SYMLINKS,
      // 5. the hostname, 6. pivot_root.
      'sethostname hako',
      'pivotRoot /b/rootfs',
      // root.readonly, then readonlyPaths and maskedPaths; missing paths are skipped.
      'mount none on / flags=0x1021',
      'stat /proc/bus',
      'stat /proc/fs',
      'stat /proc/irq',
      'stat /proc/sys',
      'stat /proc/sysrq-trigger',
      'mount /proc/sys on /proc/sys flags=0x5000',
      'mount /proc/sys on /proc/sys flags=0x1021',
      'stat /proc/acpi',
      'stat /proc/asound',
      'stat /proc/kcore',
      'stat /proc/keys',
      'stat /proc/latency_stats',
      'stat /proc/timer_list',
      'stat /proc/timer_stats',
      'stat /proc/sched_debug',
      'stat /sys/firmware',
      'stat /proc/scsi',
      'mount tmpfs on /proc/acpi type tmpfs flags=0x1',
      'mount /dev/null on /proc/kcore flags=0x1000',
    ]);
  });

  it('binds what a user namespace may not mount, keeping the flags the host locks', async () => {
    const host = new FakeHost();
    host.dirs.add('/sys').add('/sys/fs/cgroup').add('/b/data');
    host.files.add('/b/resolv.conf');
    host.mount('/sys', 'sysfs', HOST_FLAGS).mount('/sys/fs/cgroup', 'cgroup2', HOST_FLAGS);
    const spec = defaultSpec({ rootless: false });
    spec.root = { path: 'rootfs', readonly: true };
    spec.linux = {
      ...spec.linux,
      namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' },
        { type: 'user' }],
      uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
      gidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
      sysctl: { 'kernel.shm_rmid_forced': '1' },
      readonlyPaths: ['/sys/kernel'],
      maskedPaths: [],
    };
    spec.mounts = [
      ...(spec.mounts ?? []).filter((m) => m.destination !== '/dev/pts'),
      { destination: '/etc/resolv.conf', type: 'bind', source: 'resolv.conf',
        options: ['rbind', 'ro'] },
      { destination: '/data', source: 'data', options: ['rbind', 'rprivate'] },
    ];
    const sys = new RecordingSys();
    sys.stats.set('/sys/kernel', statDir());

    await setupRootfs(sys, spec, {
      bundle: '/b', host, cgroupLayout: { kind: 'v2', v1: new Map(), v2: '/sys/fs/cgroup' },
    });

    const bindDevice = (name: string) => [
      `createFile /dev/${name} 0000 in-root`,
      `mount /dev/${name} on /dev/${name} type bind flags=0x1000 in-root`,
    ];
    expect(sys.calls.slice(14)).toEqual([
      // sysfs without a network namespace of the container's: the host's /sys, bound.
      'mkdirAll /sys 0755 in-root',
      'mount /sys on /sys type bind flags=0x500f in-root',
      'mount none on /sys flags=0x20502f in-root',
      // cgroup2 without a cgroup namespace: the host's hierarchy, bound.
      'mkdirAll /sys/fs/cgroup 0755 in-root',
      'mount /sys/fs/cgroup on /sys/fs/cgroup type bind flags=0x20100f in-root',
      'mount none on /sys/fs/cgroup flags=0x20102f in-root',
      // A file source gets a file mount point; relative sources start at the bundle.
      'createFile /etc/resolv.conf 0644 in-root',
      'mount /b/resolv.conf on /etc/resolv.conf type bind flags=0x5001 in-root',
      'mount none on /etc/resolv.conf flags=0x205021 in-root',
      // No flags to apply: no remount; the propagation in a call of its own.
      'mkdirAll /data 0755 in-root',
      'mount /b/data on /data type bind flags=0x5000 in-root',
      'mount none on /data flags=0x44000 in-root',
      // mknod is refused in a user namespace: the host's nodes are bound.
      ...['null', 'random', 'full', 'tty', 'zero', 'urandom'].flatMap(bindDevice),
      ...DEV_SYMLINKS,
      'writeFile /proc/sys/kernel/shm_rmid_forced "1" in-root',
      'sethostname hako',
      'pivotRoot /b/rootfs',
      // The rootfs keeps its host mount's relatime; /sys/kernel keeps nosuid,nodev,noexec.
      'mount none on / flags=0x201021',
      'stat /sys/kernel',
      'mount /sys/kernel on /sys/kernel flags=0x5000',
      'mount /sys/kernel on /sys/kernel flags=0x102f',
    ]);
  });

  it('mounts each v1 hierarchy afresh in a cgroup namespace', async () => {
    const spec = bareSpec({
      mounts: [{ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup',
        options: ['nosuid', 'noexec', 'nodev', 'ro'] }],
    });
    spec.linux!.namespaces!.push({ type: 'cgroup' });
    const sys = await run(spec, new FakeHost(), { cgroupLayout: HYBRID });
    expect(sys.calls.slice(4, 15)).toEqual([
      'stat /sys/fs/cgroup in-root',
      'mkdirAll /sys/fs/cgroup 0755 in-root',
      'mount tmpfs on /sys/fs/cgroup type tmpfs flags=0xe data=mode=755 in-root',
      'mkdirAll /sys/fs/cgroup/cpu,cpuacct 0755 in-root',
      'mount cgroup on /sys/fs/cgroup/cpu,cpuacct type cgroup flags=0xf data=cpu,cpuacct in-root',
      'mkdirAll /sys/fs/cgroup/memory 0755 in-root',
      'mount cgroup on /sys/fs/cgroup/memory type cgroup flags=0xf data=memory in-root',
      'mkdirAll /sys/fs/cgroup/systemd 0755 in-root',
      'mount cgroup on /sys/fs/cgroup/systemd type cgroup flags=0xf data=name=systemd in-root',
      'symlink /sys/fs/cgroup/cpu -> cpu,cpuacct in-root',
      'symlink /sys/fs/cgroup/cpuacct -> cpu,cpuacct in-root',
    ]);
  });

  it('mounts cgroup2 on a v2 host', async () => {
    const spec = bareSpec({
      mounts: [{ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup',
        options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] }],
    });
    const sys = await run(spec, new FakeHost(), {
      cgroup: { kind: 'v2', v1: {} }, cgroupLayout: { kind: 'v2', v1: new Map() },
    });
    expect(sys.calls.slice(4, 6)).toEqual([
      'mkdirAll /sys/fs/cgroup 0755 in-root',
      'mount cgroup on /sys/fs/cgroup type cgroup2 flags=0x20000f in-root',
    ]);
  });

  it('leaves nodes the image already has when /dev is not a fresh mount', async () => {
    const sys = new RecordingSys();
    sys.stats.set('/dev/null', { mode: 0o20666, uid: 0, gid: 0, rdev: 0x103n });
    // ELOOP: the agent does not follow /dev/stdin's magic link. Anything but ENOENT is there.
    sys.stats.set('/dev/stdin', 40);
    await setupRootfs(sys, bareSpec({
      linux: {
        namespaces: [{ type: 'mount' }],
        devices: [
          { path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o600, uid: 0, gid: 7 },
          { path: '/dev/zero', type: 'c', major: 1, minor: 5, fileMode: 0o600 },
          { path: '/dev/ptmx', type: 'c', major: 5, minor: 2 },
          { path: '/dev/net/tun', type: 'c', major: 10, minor: 200 },
        ],
      },
    }), { bundle: '/b', host: new FakeHost() });

    expect(sys.calls.slice(4)).toEqual([
      'stat /dev/null in-root',
      'stat /dev/random in-root',
      'mkdirAll /dev 0755 in-root',
      'mknod /dev/random 020666 1:8 in-root', 'chmod /dev/random 0666 in-root',
      'stat /dev/full in-root',
      'mknod /dev/full 020666 1:7 in-root', 'chmod /dev/full 0666 in-root',
      'stat /dev/tty in-root',
      'mknod /dev/tty 020666 5:0 in-root', 'chmod /dev/tty 0666 in-root',
      'stat /dev/urandom in-root',
      'mknod /dev/urandom 020666 1:9 in-root', 'chmod /dev/urandom 0666 in-root',
      // The spec's devices: /dev/zero replaces the default, /dev/ptmx stays a symlink.
      'stat /dev/fuse in-root',
      'mknod /dev/fuse 020600 10:229 in-root', 'chmod /dev/fuse 0600 in-root',
      'chown /dev/fuse 0:7 in-root',
      'stat /dev/zero in-root',
      'mknod /dev/zero 020600 1:5 in-root', 'chmod /dev/zero 0600 in-root',
      'stat /dev/net/tun in-root',
      'mkdirAll /dev/net 0755 in-root',
      'mknod /dev/net/tun 020666 10:200 in-root', 'chmod /dev/net/tun 0666 in-root',
      'stat /dev/ptmx in-root',
      'symlink /dev/ptmx -> pts/ptmx in-root',
      'stat /dev/fd in-root',
      'symlink /dev/fd -> /proc/self/fd in-root',
      'stat /dev/stdin in-root',
      'stat /dev/stdout in-root',
      'symlink /dev/stdout -> /proc/self/fd/1 in-root',
      'stat /dev/stderr in-root',
      'symlink /dev/stderr -> /proc/self/fd/2 in-root',
      'stat /dev/core in-root',
      'symlink /dev/core -> /proc/kcore in-root',
      'pivotRoot /b/rootfs',
    ]);
  });

  it('makes no device when the spec binds a /dev', async () => {
    const host = new FakeHost();
    host.dirs.add('/dev');
    const sys = await run(bareSpec({
      mounts: [{ destination: '/dev', type: 'bind', source: '/dev', options: ['rbind'] }],
    }), host);
    expect(sys.calls.slice(4)).toEqual([
      'mkdirAll /dev 0755 in-root',
      'mount /dev on /dev type bind flags=0x5000 in-root',
      'pivotRoot /b/rootfs',
    ]);
  });

  it('masks files with /dev/null and directories with a read-only tmpfs, once each', async () => {
    const sys = new RecordingSys();
    sys.stats.set('/proc/kcore', statFile(0o400)).set('/sys/firmware', statDir())
      .set('/proc/sys', statDir()).set('/proc/sysrq-trigger', statFile(0o200));
    const spec = bareSpec({
      mounts: [
        { destination: '/proc', type: 'proc', source: 'proc' },
        { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec'] },
      ],
    });
    spec.linux!.maskedPaths = ['/proc/kcore', '/proc/missing', '/sys/firmware', '/proc/kcore/'];
    spec.linux!.readonlyPaths = ['/proc/sys', '/sys/firmware/../firmware'];
    await setupRootfs(sys, spec, { bundle: '/b', host: new FakeHost() });

    const afterPivot = sys.calls.slice(sys.calls.indexOf('pivotRoot /b/rootfs') + 1);
    // Each list's paths are looked at together (one round trip), then mounted in order.
    expect(afterPivot).toEqual([
      'stat /proc/sys',
      'stat /sys/firmware',
      'mount /proc/sys on /proc/sys flags=0x5000',
      'mount /proc/sys on /proc/sys flags=0x1021',
      // Under the sysfs mount: its nosuid and noexec are kept.
      'mount /sys/firmware on /sys/firmware flags=0x5000',
      'mount /sys/firmware on /sys/firmware flags=0x102b',
      'stat /proc/kcore',
      'stat /proc/missing',
      'stat /sys/firmware',
      'mount /dev/null on /proc/kcore flags=0x1000',
      'mount tmpfs on /sys/firmware type tmpfs flags=0x1',
    ]);
  });

  it('does not mask what an earlier masked directory already covers', async () => {
    const sys = new RecordingSys();
    sys.stats.set('/proc/acpi', statDir()).set('/proc/acpi/wakeup', statFile(0o444));
    const spec = bareSpec({ mounts: [{ destination: '/proc', type: 'proc', source: 'proc' }] });
    spec.linux!.maskedPaths = ['/proc/acpi', '/proc/acpi/wakeup'];
    await setupRootfs(sys, spec, { bundle: '/b', host: new FakeHost() });
    const afterPivot = sys.calls.slice(sys.calls.indexOf('pivotRoot /b/rootfs') + 1);
    expect(afterPivot).toEqual([
      'stat /proc/acpi',
      'stat /proc/acpi/wakeup',
      'mount tmpfs on /proc/acpi type tmpfs flags=0x1',
    ]);
  });

  it('remounts a read-only tmpfs once its contents are made, after pivot_root', async () => {
    const sys = new RecordingSys();
    sys.stats.set('/run', statDir(0o700));
    await setupRootfs(sys, bareSpec({
      mounts: [{ destination: '/run', type: 'tmpfs', source: 'tmpfs',
        options: ['ro', 'nosuid', 'size=1m'] }],
    }), { bundle: '/b', host: new FakeHost() });
    // The existing directory's mode comes first, so an explicit mode= wins.
    expect(sys.calls).toContain(
      'mount tmpfs on /run type tmpfs flags=0x2 data=mode=0700,size=1m in-root');
    expect(sys.calls.slice(-1)).toEqual(['mount none on /run flags=0x1023']);
  });

  it('turns a failure into one line naming the mount and stops there', async () => {
    const sys = new RecordingSys().failOn('mount proc on /proc', EPERM);
    const setup = setupRootfs(sys, defaultSpec({ rootless: false }), {
      bundle: '/b', host: new FakeHost(), cgroupLayout: HYBRID, cgroup: CONTAINER_CGROUP,
    });
    await expect(setup).rejects.toThrow(HakoError);
    await expect(setup).rejects
      .toThrow(/^mount proc on \/proc: operation not permitted \(EPERM\)$/);
    expect(sys.calls.at(-1)).toBe('mount proc on /proc type proc flags=0x0 in-root');
  });

  it('names the step of a mount that failed', async () => {
    const sys = new RecordingSys().failOn('mkdirAll /proc', 20);
    await expect(setupRootfs(sys, bareSpec({
      mounts: [{ destination: '/proc', type: 'proc', source: 'proc' }],
    }), { bundle: '/b', host: new FakeHost() }))
      .rejects.toThrow('mount proc on /proc: create the mount point: not a directory (ENOTDIR)');
  });

  it('reports a missing bind source as the host sees it', async () => {
    const sys = new RecordingSys();
    await expect(setupRootfs(sys, bareSpec({
      mounts: [{ destination: '/x', type: 'bind', source: 'nope' }],
    }), { bundle: '/b', host: new FakeHost() }))
      .rejects.toThrow('mount /b/nope on /x: stat /b/nope: no such file or directory (ENOENT)');
  });

  it('refuses mounts inside /proc and a non-proc /proc', async () => {
    const host = new FakeHost();
    host.dirs.add('/tmp/x');
    await expect(run(bareSpec({
      mounts: [{ destination: '/proc/sys/kernel', type: 'bind', source: '/tmp/x' }],
    }), host)).rejects.toThrow('"/proc/sys/kernel" cannot be mounted because it is inside /proc');
    await expect(run(bareSpec({
      mounts: [{ destination: '/proc', type: 'tmpfs', source: 'tmpfs' }],
    }), host)).rejects.toThrow('"/proc" cannot be mounted because it is not of type proc');
  });

  it('refuses a hostname without a UTS namespace before touching anything', async () => {
    const sys = new RecordingSys();
    await expect(setupRootfs(sys, bareSpec({ hostname: 'x' }), {
      bundle: '/b', host: new FakeHost(),
    })).rejects.toThrow('config.json: hostname: setting it needs a UTS namespace');
    expect(sys.calls).toEqual([]);
  });

  it('moves the root with --no-pivot and applies a shared root propagation after it', async () => {
    const host = new FakeHost().mount('/b', 'xfs', MS_RELATIME);
    const spec = bareSpec();
    spec.linux!.rootfsPropagation = 'shared';
    const sys = await run(spec, host, { noPivot: true });
    expect(sys.calls.slice(0, 3)).toEqual([
      'mount none on / flags=0x100000',
      'mount none on /b flags=0x40000',
      'mount /b/rootfs on /b/rootfs type bind flags=0x5000',
    ]);
    expect(sys.calls.slice(-2)).toEqual(['chrootMove /b/rootfs', 'mount none on / flags=0x100000']);
  });

  it('runs the hooks before pivot_root and creates the cwd', async () => {
    const sys = new RecordingSys();
    const spec = bareSpec({
      process: { cwd: '/srv/app', user: { uid: 0, gid: 0 }, args: ['sh'] },
    });
    await setupRootfs(sys, spec, {
      bundle: '/b',
      host: new FakeHost(),
      hooks: async () => {
        sys.calls.push('-- hooks --');
      },
    });
    const tail = sys.calls.slice(sys.calls.indexOf('-- hooks --'));
    expect(tail).toEqual(['-- hooks --', 'mkdirAll /srv/app 0755 in-root', 'pivotRoot /b/rootfs']);
  });
});

describe('host view', () => {
  it('finds the top mount holding a path and its lockable flags', () => {
    const mountinfo = [
      '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
      '30 22 0:5 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw',
      '40 22 0:40 / /var/lib/my\\040dir ro,nosuid,noatime - xfs /dev/sdb rw',
      '41 40 0:41 / /var/lib/my\\040dir rw,nodev - tmpfs tmpfs rw',
    ].join('\n');
    expect(findMount(mountinfo, '/sys/kernel')).toEqual({
      mountPoint: '/sys', fstype: 'sysfs', flags: HOST_FLAGS,
    });
    expect(findMount(mountinfo, '/var/lib/my dir/x')).toEqual({
      mountPoint: '/var/lib/my dir', fstype: 'tmpfs', flags: MS_NODEV | MS_STRICTATIME,
    });
    expect(findMount(mountinfo, '/var/lib/my dirt').mountPoint).toBe('/');
    expect(findMount(mountinfo, '/').flags & MS_RDONLY).toBe(0);
  });

  it('tells a file from a directory on the host', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hako-rootfs-'));
    try {
      writeFileSync(join(dir, 'f'), '');
      expect(nodeHost.fileType(dir)).toBe('directory');
      expect(nodeHost.fileType(join(dir, 'f'))).toBe('other');
      expect(() => nodeHost.fileType(join(dir, 'none'))).toThrow(/ENOENT/);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});
