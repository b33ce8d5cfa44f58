import { afterEach, describe, expect, it } from 'vitest';

import { HakoError } from '../../src/core/errors.js';
import { updateContainer } from '../../src/core/lifecycle/update.js';
import {
  ignoredSettings, mergeResources, parseRamInBytes, parseResourcesJson, resourcesFromFlags,
  resourcesToApply, updatableResources,
} from '../../src/core/lifecycle/update-resources.js';
import { type Container, fakeContainer, memoryLogger, stop } from './cli-fixture.js';

const MiB = 1024 * 1024;

describe('parseRamInBytes (docker units.RAMInBytes)', () => {
  it('reads plain bytes and binary units, case-insensitive, b/ib optional', () => {
    expect(parseRamInBytes('4096')).toBe(4096);
    expect(parseRamInBytes('100m')).toBe(100 * MiB);
    expect(parseRamInBytes('64M')).toBe(64 * MiB);
    expect(parseRamInBytes('1g')).toBe(1024 * MiB);
    expect(parseRamInBytes('1GB')).toBe(1024 * MiB);
    expect(parseRamInBytes('1GiB')).toBe(1024 * MiB);
    expect(parseRamInBytes('2k')).toBe(2048);
    expect(parseRamInBytes('2kb')).toBe(2048);
    expect(parseRamInBytes('1t')).toBe(1024 ** 4);
    expect(parseRamInBytes('1p')).toBe(1024 ** 5);
    expect(parseRamInBytes('10b')).toBe(10);
    expect(parseRamInBytes('10 m')).toBe(10 * MiB);
    expect(parseRamInBytes('10 ')).toBe(10);
  });

  it('multiplies fractions and truncates the byte count', () => {
    expect(parseRamInBytes('1.5k')).toBe(1536);
    expect(parseRamInBytes('0.5m')).toBe(512 * 1024);
    expect(parseRamInBytes('1.0001k')).toBe(1024);
  });

  it('refuses what RAMInBytes refuses', () => {
    for (const bad of ['', 'm', '-1', '1x', '1mm', '1  m', '1.m', 'abc', '1e3', '1.2.3']) {
      expect(() => parseRamInBytes(bad), bad).toThrow(/invalid size/);
    }
  });
});

describe('resourcesFromFlags', () => {
  it('maps each runc flag to its linux.resources field', () => {
    expect(resourcesFromFlags({
      memory: '64m', memoryReservation: '32m', memorySwap: '128m',
      cpuShare: '512', cpuQuota: '50000', cpuPeriod: '100000',
      cpuRtPeriod: '1000000', cpuRtRuntime: '950000', cpuIdle: '1',
      cpusetCpus: '0-1', cpusetMems: '0', pidsLimit: '100', blkioWeight: '300',
    })).toEqual({
      memory: { limit: 64 * MiB, reservation: 32 * MiB, swap: 128 * MiB },
      cpu: {
        shares: 512, quota: 50000, period: 100000, realtimePeriod: 1000000,
        realtimeRuntime: 950000, idle: 1, cpus: '0-1', mems: '0',
      },
      pids: { limit: 100 },
      blockIO: { weight: 300 },
    });
  });

  it('leaves out what was not given, so the rest stays unchanged', () => {
    expect(resourcesFromFlags({})).toEqual({});
    expect(resourcesFromFlags({ memory: '64m' })).toEqual({ memory: { limit: 64 * MiB } });
  });

  it('takes -1 as unlimited for memory and a negative quota', () => {
    expect(resourcesFromFlags({ memory: '-1', memorySwap: '-1', cpuQuota: '-1' })).toEqual({
      memory: { limit: -1, swap: -1 },
      cpu: { quota: -1 },
    });
  });

  it('accepts --cpu-shares as well as runc\'s --cpu-share', () => {
    expect(resourcesFromFlags({ cpuShares: '256' })).toEqual({ cpu: { shares: 256 } });
  });

  it('keeps kernel memory so that it can be warned about', () => {
    const r = resourcesFromFlags({ kernelMemory: '10m' });
    expect(ignoredSettings(r)).toEqual(['memory.kernel']);
    expect(updatableResources(r)).toEqual({});
  });

  it('names the flag of a bad value', () => {
    expect(() => resourcesFromFlags({ memory: '1x' }))
      .toThrow("invalid value for memory: invalid size: '1x'");
    expect(() => resourcesFromFlags({ cpuShare: '-5' })).toThrow(/invalid value for cpu-share/);
    expect(() => resourcesFromFlags({ pidsLimit: 'ten' })).toThrow(/invalid value for pids-limit/);
    expect(() => resourcesFromFlags({ cpuQuota: '1.5' })).toThrow(HakoError);
  });

  it('refuses Intel RDT', () => {
    expect(() => resourcesFromFlags({ l3CacheSchema: 'L3:0=f' })).toThrow(/Intel RDT/);
  });
});

describe('parseResourcesJson', () => {
  it('reads a linux.resources document', () => {
    const r = parseResourcesJson('stdin', '{"memory":{"limit":1024},"cpu":{"cpus":"0"}}');
    expect(r).toEqual({ memory: { limit: 1024 }, cpu: { cpus: '0' } });
  });

  it('names the source and the field of a bad document', () => {
    expect(() => parseResourcesJson('r.json', '{')).toThrow(/^update: r\.json: /);
    expect(() => parseResourcesJson('r.json', '[]')).toThrow(/expected a JSON object/);
    expect(() => parseResourcesJson('r.json', '{"memory":{"limit":"1g"}}'))
      .toThrow('update: r.json: memory.limit: must be an integer');
    expect(() => parseResourcesJson('r.json', '{"cpu":{"cpus":1}}'))
      .toThrow('update: r.json: cpu.cpus: must be a string');
    expect(() => parseResourcesJson('r.json', '{"unified":"x"}')).toThrow(/must be an object/);
  });

  it('treats null and 0 as "unchanged", as runc does', () => {
    const r = parseResourcesJson('-', '{"memory":{"limit":null,"swap":0},"pids":{"limit":0}}');
    expect(updatableResources(r)).toEqual({});
  });
});

describe('updatableResources', () => {
  it('keeps what runc applies and drops device rules and the rest', () => {
    const r = updatableResources({
      devices: [{ allow: false, access: 'rwm' }],
      memory: { limit: 10, swappiness: 5, kernel: 3 },
      cpu: { shares: 2, cpus: '', burst: 0 },
      hugepageLimits: [{ pageSize: '2MB', limit: 1 }],
      blockIO: { weight: 10, throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1 }] },
      unified: { 'memory.high': '1G' },
    });
    expect(r).toEqual({
      memory: { limit: 10 },
      cpu: { shares: 2, burst: 0 },
      blockIO: { weight: 10 },
      unified: { 'memory.high': '1G' },
    });
  });
});

describe('resourcesToApply', () => {
  const current = { cpu: { quota: 20000, period: 50000 }, memory: { limit: 64 * MiB } };

  it('completes a lone quota or period from the recorded pair (cgroup v2 cpu.max)', () => {
    expect(resourcesToApply(current, { cpu: { quota: 10000 } }).cpu)
      .toEqual({ quota: 10000, period: 50000 });
    expect(resourcesToApply(current, { cpu: { period: 80000 } }).cpu)
      .toEqual({ quota: 20000, period: 80000 });
    expect(resourcesToApply(undefined, { cpu: { quota: 10000 } }).cpu).toEqual({ quota: 10000 });
  });

  it('completes a lone swap with the recorded memory limit', () => {
    expect(resourcesToApply(current, { memory: { swap: 128 * MiB } }).memory)
      .toEqual({ swap: 128 * MiB, limit: 64 * MiB });
  });

  it('does not change its argument', () => {
    const update = { cpu: { quota: 1 } };
    resourcesToApply(current, update);
    expect(update).toEqual({ cpu: { quota: 1 } });
  });
});

describe('mergeResources', () => {
  it('replaces the given settings and keeps the others', () => {
    const current = {
      devices: [{ allow: false, access: 'rwm' }],
      memory: { limit: 1, reservation: 2 },
      cpu: { shares: 3 },
      pids: { limit: 4 },
    };
    expect(mergeResources(current, { memory: { limit: 10 }, pids: { limit: 40 } })).toEqual({
      devices: [{ allow: false, access: 'rwm' }],
      memory: { limit: 10, reservation: 2 },
      cpu: { shares: 3 },
      pids: { limit: 40 },
    });
    expect(current.memory.limit).toBe(1);
  });

  it('starts from nothing when the config had no resources', () => {
    expect(mergeResources(undefined, { cpu: { cpus: '1' } })).toEqual({ cpu: { cpus: '1' } });
  });
});

describe('updateContainer (fake cgroup)', () => {
  let c: Container | undefined;
  afterEach(() => {
    c?.cleanup();
    c = undefined;
  });

  it('writes the cgroup files and records the merged resources in state.json', async () => {
    c = fakeContainer({ resources: { memory: { reservation: MiB }, pids: { limit: 9 } } });
    const { logger } = memoryLogger();
    const merged = await updateContainer(c.root, c.id, resourcesFromFlags({
      memory: '64m', cpuShare: '512', pidsLimit: '50',
    }), logger);

    expect(c.fake.read('memory/test/c1/memory.limit_in_bytes')).toBe(String(64 * MiB));
    expect(c.fake.read('cpu,cpuacct/test/c1/cpu.shares')).toBe('512');
    expect(c.fake.read('pids/test/c1/pids.max')).toBe('50');
    const expected = { memory: { reservation: MiB, limit: 64 * MiB }, pids: { limit: 50 },
      cpu: { shares: 512 } };
    expect(merged).toEqual(expected);
    expect(c.state().config.linux?.resources).toEqual(expected);
  });

  it('warns about ignored kernel memory settings', async () => {
    c = fakeContainer();
    const { logger, lines } = memoryLogger();
    await updateContainer(c.root, c.id, { memory: { kernel: MiB } }, logger);
    expect(lines.join('')).toMatch(/level=warning msg="update: memory.kernel ignored/);
  });

  it('updates a container that waits for start', async () => {
    c = fakeContainer();
    c.markCreated();
    await updateContainer(c.root, c.id, { pids: { limit: 7 } }, memoryLogger().logger);
    expect(c.fake.read('pids/test/c1/pids.max')).toBe('7');
  });

  it('refuses a stopped container and leaves its state alone', async () => {
    c = fakeContainer();
    await stop(c.init);
    const before = c.state();
    await expect(updateContainer(c.root, c.id, { pids: { limit: 7 } }, memoryLogger().logger))
      .rejects.toThrow('container not running');
    expect(c.state()).toEqual(before);
  });

  it('reports an unknown container', async () => {
    c = fakeContainer();
    await expect(updateContainer(c.root, 'nope', {}, memoryLogger().logger))
      .rejects.toThrow('container "nope" does not exist');
  });
});
