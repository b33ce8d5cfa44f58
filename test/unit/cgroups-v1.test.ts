import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { createCgroup, updateResources } from '../../src/core/cgroups/index.js';
import { debugLog, type Fake, fakeV1 } from './cgroups-fake.js';

let fake: Fake;
afterEach(() => fake.cleanup());

describe('createCgroup on cgroup v1', () => {
  it('makes the directory in every hierarchy once and records what it made', () => {
    fake = fakeV1();
    const r = fake.root;
    const handle = createCgroup('c1', undefined, {}, { layout: fake.layout });

    expect(handle.kind).toBe('v1');
    expect(handle.v1.cpu).toBe(`${r}/cpu,cpuacct/hako/c1`);
    expect(handle.v1.cpuacct).toBe(handle.v1.cpu);
    expect(handle.v1['name=systemd']).toBe(`${r}/systemd/hako/c1`);
    expect(handle.v2).toBeUndefined();
    // Parents before children, the comounted hierarchy once.
    expect(handle.created).toContain(`${r}/memory/hako`);
    expect(handle.created.indexOf(`${r}/memory/hako`))
      .toBeLessThan(handle.created.indexOf(`${r}/memory/hako/c1`));
    expect(handle.created.filter((d) => d.startsWith(`${r}/cpu,cpuacct/`))).toHaveLength(2);
    expect(handle.created).toHaveLength(20);
    expect(JSON.parse(JSON.stringify(handle))).toEqual(handle);
  });

  it('records only the directories that did not exist', () => {
    fake = fakeV1();
    mkdirSync(join(fake.root, 'memory/shared'));
    const handle = createCgroup('c1', '/shared/c1', {}, { layout: fake.layout });
    expect(handle.created).toContain(`${fake.root}/memory/shared/c1`);
    expect(handle.created).not.toContain(`${fake.root}/memory/shared`);
    expect(handle.created).toContain(`${fake.root}/pids/shared`);
  });

  it('copies cpuset.cpus and cpuset.mems down from the parent', () => {
    fake = fakeV1();
    createCgroup('c1', '/a/b', {}, { layout: fake.layout });
    expect(fake.read('cpuset/a/cpuset.cpus')).toBe('0-1');
    expect(fake.read('cpuset/a/b/cpuset.cpus')).toBe('0-1');
    expect(fake.read('cpuset/a/b/cpuset.mems')).toBe('0');
  });

  it('writes each resource to its v1 file', () => {
    fake = fakeV1();
    const log = debugLog();
    createCgroup('c1', '/c1', {
      memory: {
        limit: 64 << 20, reservation: 32 << 20, swap: 128 << 20, swappiness: 10,
        disableOOMKiller: true, kernel: 1 << 20,
      },
      cpu: {
        shares: 512, quota: 50000, period: 100000, realtimeRuntime: 950, realtimePeriod: 1000,
        cpus: '1', mems: '0', idle: 1, burst: 1000,
      },
      pids: { limit: 42 },
      blockIO: {
        weight: 300,
        leafWeight: 200,
        weightDevice: [{ major: 8, minor: 0, weight: 500, leafWeight: 100 }],
        throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }],
        throttleWriteIOPSDevice: [{ major: 8, minor: 16, rate: 100 }],
      },
      hugepageLimits: [{ pageSize: '2MB', limit: 4194304 }],
      devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3 }],
      network: { classID: 0x100001, priorities: [{ name: 'eth0', priority: 5 }] },
    }, { layout: fake.layout, log });

    const files: Record<string, string> = {
      'memory/c1/memory.limit_in_bytes': String(64 << 20),
      'memory/c1/memory.memsw.limit_in_bytes': String(128 << 20),
      'memory/c1/memory.soft_limit_in_bytes': String(32 << 20),
      'memory/c1/memory.swappiness': '10',
      'memory/c1/memory.oom_control': '1',
      'cpu,cpuacct/c1/cpu.shares': '512',
      'cpu,cpuacct/c1/cpu.cfs_quota_us': '50000',
      'cpu,cpuacct/c1/cpu.cfs_period_us': '100000',
      'cpu,cpuacct/c1/cpu.cfs_burst_us': '1000',
      'cpu,cpuacct/c1/cpu.rt_runtime_us': '950',
      'cpu,cpuacct/c1/cpu.rt_period_us': '1000',
      'cpu,cpuacct/c1/cpu.idle': '1',
      'cpuset/c1/cpuset.cpus': '1',
      'cpuset/c1/cpuset.mems': '0',
      'pids/c1/pids.max': '42',
      'blkio/c1/blkio.weight': '300',
      'blkio/c1/blkio.leaf_weight': '200',
      'blkio/c1/blkio.weight_device': '8:0 500',
      'blkio/c1/blkio.leaf_weight_device': '8:0 100',
      'blkio/c1/blkio.throttle.read_bps_device': '8:0 1048576',
      'blkio/c1/blkio.throttle.write_iops_device': '8:16 100',
      'hugetlb/c1/hugetlb.2MB.limit_in_bytes': '4194304',
      // A regular file keeps only the last rule: "deny all" went to devices.deny first.
      'devices/c1/devices.deny': 'a *:* rwm',
      'devices/c1/devices.allow': 'c 1:3 rwm',
      'net_cls,net_prio/c1/net_cls.classid': String(0x100001),
      'net_cls,net_prio/c1/net_prio.ifpriomap': 'eth0 5',
    };
    for (const [path, value] of Object.entries(files)) {
      expect([path, fake.read(path)]).toEqual([path, value]);
    }
    expect(existsSync(join(fake.root, 'memory/c1/memory.kmem.limit_in_bytes'))).toBe(false);
    expect(log.lines.join('\n')).toContain('memory.kernel and memory.kernelTCP ignored');
  });

  it('writes "max" for an unlimited pids limit and -1 for unlimited memory and swap', () => {
    fake = fakeV1();
    const resources = { pids: { limit: -1 }, memory: { limit: -1 } };
    createCgroup('c1', '/c1', resources, { layout: fake.layout });
    expect(fake.read('pids/c1/pids.max')).toBe('max');
    expect(fake.read('memory/c1/memory.limit_in_bytes')).toBe('-1');
    expect(fake.read('memory/c1/memory.memsw.limit_in_bytes')).toBe('-1');
  });

  it('uses BFQ weight files where CFQ ones are absent', () => {
    fake = fakeV1();
    const handle = createCgroup('c1', '/c1', {}, { layout: fake.layout });
    fake.write('blkio/c1/blkio.bfq.weight', '100');
    updateResources(handle, {
      blockIO: { weight: 250, weightDevice: [{ major: 253, minor: 0, weight: 700 }] },
    });
    expect(fake.read('blkio/c1/blkio.bfq.weight')).toBe('250');
    expect(fake.read('blkio/c1/blkio.bfq.weight_device')).toBe('253:0 700');
    expect(existsSync(join(fake.root, 'blkio/c1/blkio.weight'))).toBe(false);
  });

  it('fails for a set resource whose controller is not mounted, creating nothing', () => {
    fake = fakeV1({ skip: ['hugetlb', 'net_cls,net_prio'] });
    const opts = { layout: fake.layout };
    expect(() => createCgroup('c1', '/c1', {
      hugepageLimits: [{ pageSize: '2MB', limit: 1 }],
    }, opts)).toThrow('hugepageLimits: the hugetlb cgroup controller is not mounted (cgroup v1)');
    expect(() => createCgroup('c1', '/c1', { network: { classID: 7 } }, opts))
      .toThrow('network.classID: the net_cls cgroup controller is not mounted');
    expect(existsSync(join(fake.root, 'memory/c1'))).toBe(false);

    // Unset or empty values need no controller.
    const handle = createCgroup('c1', '/c1', { hugepageLimits: [], network: {} }, opts);
    expect(handle.v1.hugetlb).toBeUndefined();
  });

  it('refuses unified keys and an out-of-range swappiness', () => {
    fake = fakeV1();
    const opts = { layout: fake.layout };
    expect(() => createCgroup('c1', '/c1', { unified: { 'memory.high': '1G' } }, opts))
      .toThrow('unified: cgroup v2 resources cannot be set on a cgroup v1 hierarchy');
    expect(() => createCgroup('c2', '/c2', { memory: { swappiness: 101 } }, opts))
      .toThrow('memory.swappiness: 101 is not between 0 and 100');
  });

  it('names the file and the errno when the kernel refuses a write', () => {
    fake = fakeV1();
    const handle = createCgroup('c1', '/hako/c1', {}, { layout: fake.layout });
    // A directory where the file should be stands in for a refusing kernel.
    mkdirSync(join(handle.v1.memory, 'memory.limit_in_bytes'));
    expect(() => updateResources(handle, { memory: { limit: 1 << 20 } })).toThrow(
      `write ${fake.root}/memory/hako/c1/memory.limit_in_bytes: illegal operation on a directory`,
    );
  });
});

describe('createCgroup on a hybrid hierarchy', () => {
  it('also joins the cgroup2 tree, without enabling controllers there', () => {
    fake = fakeV1({ unified: true });
    const handle = createCgroup('c1', undefined, { pids: { limit: 5 } }, { layout: fake.layout });
    expect(handle.kind).toBe('hybrid');
    expect(handle.v2).toBe(`${fake.root}/unified/hako/c1`);
    expect(handle.created).toContain(`${fake.root}/unified/hako/c1`);
    expect(existsSync(join(fake.root, 'unified/cgroup.subtree_control'))).toBe(false);
    expect(fake.read('pids/hako/c1/pids.max')).toBe('5');
  });
});
