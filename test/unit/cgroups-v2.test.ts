import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import {
  blkioWeightToIoWeight, cpuMax, cpuSharesToWeight, createCgroup, memorySwapToV2,
  updateResources,
} from '../../src/core/cgroups/index.js';
import { debugLog, type Fake, fakeV2 } from './cgroups-fake.js';

let fake: Fake | undefined;
afterEach(() => {
  fake?.cleanup();
  fake = undefined;
});

describe('v2 conversions', () => {
  it('maps cpu shares linearly onto weights', () => {
    expect(cpuSharesToWeight(0)).toBe(0);
    expect(cpuSharesToWeight(2)).toBe(1);
    expect(cpuSharesToWeight(1024)).toBe(39);
    expect(cpuSharesToWeight(262144)).toBe(10000);
    expect(cpuSharesToWeight(1)).toBe(1);
    expect(cpuSharesToWeight(1 << 20)).toBe(10000);
  });

  it('maps blkio weights onto io.weight', () => {
    expect(blkioWeightToIoWeight(10)).toBe(1);
    expect(blkioWeightToIoWeight(500)).toBe(4950);
    expect(blkioWeightToIoWeight(1000)).toBe(10000);
  });

  it('turns memory+swap into swap alone', () => {
    expect(memorySwapToV2(200, 100)).toBe('100');
    expect(memorySwapToV2(100, 100)).toBe('0');
    expect(memorySwapToV2(-1, 100)).toBe('max');
    expect(memorySwapToV2(undefined, -1)).toBe('max');
    expect(memorySwapToV2(undefined, 100)).toBeUndefined();
    expect(() => memorySwapToV2(50, 100)).toThrow('memory.swap: 50 is below memory.limit 100');
    expect(() => memorySwapToV2(50, undefined)).toThrow('a swap limit needs a memory limit');
    expect(() => memorySwapToV2(-2, 100)).toThrow('memory.swap: invalid value -2');
  });

  it('writes quota and period together', () => {
    expect(cpuMax(50000, 100000)).toBe('50000 100000');
    expect(cpuMax(-1, 100000)).toBe('max 100000');
    expect(cpuMax(20000, undefined)).toBe('20000');
    expect(cpuMax(undefined, 250000)).toBe('max 250000');
    expect(cpuMax(undefined, undefined)).toBeUndefined();
  });
});

describe('createCgroup on cgroup v2', () => {
  it('enables the available controllers down to the new cgroup', () => {
    fake = fakeV2('cpu memory pids');
    const handle = createCgroup('c1', undefined, {}, { layout: fake.layout });
    expect(handle).toEqual({
      kind: 'v2',
      v1: {},
      v2: `${fake.root}/hako/c1`,
      created: [`${fake.root}/hako`, `${fake.root}/hako/c1`],
      unenforced: [],
    });
    expect(fake.read('cgroup.subtree_control')).toBe('+cpu +memory +pids');
    expect(fake.read('hako/cgroup.subtree_control')).toBe('+cpu +memory +pids');
    expect(existsSync(join(fake.root, 'hako/c1/cgroup.subtree_control'))).toBe(false);
  });

  it('enables nothing that is already enabled', () => {
    fake = fakeV2('cpu memory pids');
    fake.write('cgroup.subtree_control', 'cpu memory pids\n');
    createCgroup('c1', '/c1', {}, { layout: fake.layout });
    expect(fake.read('cgroup.subtree_control')).toBe('cpu memory pids');
  });

  it('writes converted values', () => {
    fake = fakeV2();
    createCgroup('c1', '/c1', {
      memory: { limit: 100 << 20, swap: 300 << 20, reservation: 50 << 20 },
      cpu: { shares: 1024, quota: 25000, period: 50000, cpus: '0', mems: '0', idle: 0, burst: 10 },
      pids: { limit: -1 },
      blockIO: { weight: 500, throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 2048 }] },
      hugepageLimits: [{ pageSize: '1GB', limit: 0 }],
      rdma: { mlx5_0: { hcaHandles: 3 } },
    }, { layout: fake.layout });

    const files: Record<string, string> = {
      'c1/memory.max': String(100 << 20),
      'c1/memory.swap.max': String(200 << 20),
      'c1/memory.low': String(50 << 20),
      'c1/cpu.weight': '39',
      'c1/cpu.max': '25000 50000',
      'c1/cpu.max.burst': '10',
      'c1/cpu.idle': '0',
      'c1/cpuset.cpus': '0',
      'c1/cpuset.mems': '0',
      'c1/pids.max': 'max',
      'c1/io.weight': 'default 4950',
      'c1/io.max': '8:0 wbps=2048',
      'c1/hugetlb.1GB.max': '0',
      'c1/rdma.max': 'mlx5_0 hca_handle=3 hca_object=max',
    };
    for (const [path, value] of Object.entries(files)) {
      expect([path, fake.read(path)]).toEqual([path, value]);
    }
  });

  it('takes BFQ weights as they are', () => {
    fake = fakeV2();
    const handle = createCgroup('c1', '/c1', {}, { layout: fake.layout });
    fake.write('c1/io.bfq.weight', 'default 100');
    updateResources(handle, { blockIO: { weightDevice: [{ major: 8, minor: 0, weight: 300 }] } });
    expect(fake.read('c1/io.bfq.weight')).toBe('8:0 300');
  });

  it('writes unified keys last, over converted values', () => {
    fake = fakeV2();
    createCgroup('c1', '/c1', {
      memory: { limit: 1 << 20 },
      unified: { 'memory.max': '2097152', 'memory.high': '1048576' },
    }, { layout: fake.layout });
    expect(fake.read('c1/memory.max')).toBe('2097152');
    expect(fake.read('c1/memory.high')).toBe('1048576');
  });

  it('records device rules as not enforced and logs why', () => {
    fake = fakeV2();
    const log = debugLog();
    const handle = createCgroup('c1', '/c1', {
      devices: [{ allow: false, access: 'rwm' }],
      memory: { swappiness: 60, disableOOMKiller: true },
    }, { layout: fake.layout, log });
    expect(handle.unenforced).toEqual(['devices']);
    expect(log.lines.join('\n')).toContain('device rules are not enforced on cgroup v2');
    expect(log.lines.join('\n')).toContain('memory.swappiness, memory.disableOOMKiller ignored');
  });

  it('fails before creating anything when a needed controller is missing', () => {
    fake = fakeV2('cpu pids');
    const opts = { layout: fake.layout };
    expect(() => createCgroup('c1', '/c1', { memory: { limit: 1 << 20 } }, opts)).toThrow(
      `memory.limit: the cgroup v2 controller "memory" is not available ` +
        `(not in ${fake.root}/cgroup.controllers)`,
    );
    expect(() => createCgroup('c1', '/c1', { unified: { 'io.max': '8:0 rbps=1' } }, opts))
      .toThrow('unified["io.max"]: the cgroup v2 controller "io" is not available');
    expect(() => createCgroup('c1', '/c1', { network: { classID: 1 } }, opts))
      .toThrow('network.classID: cgroup v2 has no net_cls controller');
    expect(() => createCgroup('c1', '/c1', { cpu: { realtimeRuntime: 5 } }, opts))
      .toThrow('cgroup v2 has no realtime CPU control');
    expect(() => createCgroup('c1', '/c1', { unified: { '../x': '1' } }, opts))
      .toThrow('unified["../x"]: not a cgroup v2 file name');
    expect(existsSync(join(fake.root, 'c1'))).toBe(false);

    // Empty sections need nothing.
    createCgroup('c1', '/c1', { memory: {}, blockIO: {}, hugepageLimits: [] }, opts);
  });

  it('checks the controllers enabled for the cgroup on update', () => {
    fake = fakeV2('pids');
    const handle = createCgroup('c1', '/c1', {}, { layout: fake.layout });
    fake.write('c1/cgroup.controllers', 'pids\n');
    expect(() => updateResources(handle, { cpu: { shares: 100 } })).toThrow(
      `cpu.shares: the cgroup v2 controller "cpu" is not available (not in ${handle.v2}/`,
    );
    updateResources(handle, { pids: { limit: 7 } });
    expect(fake.read('c1/pids.max')).toBe('7');
  });
});
