import { afterEach, describe, expect, it } from 'vitest';

import { createCgroup, stats } from '../../src/core/cgroups/index.js';
import { type Fake, fakeV1, fakeV2 } from './cgroups-fake.js';

let fake: Fake | undefined;
afterEach(() => {
  fake?.cleanup();
  fake = undefined;
});

describe('stats on v1', () => {
  it('reads usage, limits and counters into runc events --stats fields', () => {
    fake = fakeV1();
    const handle = createCgroup('c1', '/c1', {}, { layout: fake.layout });
    const files: Record<string, string> = {
      'cpu,cpuacct/c1/cpuacct.usage': '5000000',
      'cpu,cpuacct/c1/cpuacct.usage_percpu': '3000000 2000000 ',
      'cpu,cpuacct/c1/cpuacct.stat': 'user 3\nsystem 1\n',
      'cpu,cpuacct/c1/cpu.stat': 'nr_periods 10\nnr_throttled 2\nthrottled_time 777\n',
      'memory/c1/memory.usage_in_bytes': '4096',
      'memory/c1/memory.max_usage_in_bytes': '8192',
      'memory/c1/memory.failcnt': '3',
      'memory/c1/memory.limit_in_bytes': '9223372036854771712',
      'memory/c1/memory.memsw.usage_in_bytes': '4096',
      'memory/c1/memory.stat': 'cache 1024\nrss 3072\n',
      'pids/c1/pids.current': '2',
      'pids/c1/pids.max': 'max',
      'blkio/c1/blkio.throttle.io_service_bytes_recursive':
        '8:0 Read 512\n8:0 Write 1024\n8:0 Total 1536\nTotal 1536\n',
      'blkio/c1/blkio.throttle.io_serviced_recursive': '8:0 Read 1\n8:0 Write 2\n',
      'hugetlb/c1/hugetlb.2MB.limit_in_bytes': '4194304',
      'hugetlb/c1/hugetlb.2MB.usage_in_bytes': '2097152',
      'hugetlb/c1/hugetlb.2MB.failcnt': '1',
    };
    for (const [path, text] of Object.entries(files)) fake.write(path, text);

    const s = stats(handle);
    expect(s.cpu).toEqual({
      usage: {
        total: 5000000, percpu: [3000000, 2000000], percpu_kernel: undefined,
        percpu_user: undefined, kernel: 10000000, user: 30000000,
      },
      throttling: { periods: 10, throttledPeriods: 2, throttledTime: 777 },
    });
    expect(s.memory.usage).toEqual({
      limit: 9223372036854771712, usage: 4096, max: 8192, failcnt: 3,
    });
    expect(s.memory.swap.usage).toBe(4096);
    expect(s.memory.cache).toBe(1024);
    expect(s.memory.raw).toEqual({ cache: 1024, rss: 3072 });
    expect(s.pids).toEqual({ current: 2, limit: undefined });
    expect(s.blkio.ioServiceBytesRecursive).toEqual([
      { major: 8, minor: undefined, op: 'Read', value: 512 },
      { major: 8, minor: undefined, op: 'Write', value: 1024 },
      { major: 8, minor: undefined, op: 'Total', value: 1536 },
    ]);
    expect(s.blkio.ioServicedRecursive).toHaveLength(2);
    expect(s.hugetlb).toEqual({ '2MB': { usage: 2097152, max: undefined, failcnt: 1 } });
    expect(s.cpuset.cpus).toEqual([0, 1]);
    expect(s.cpuset.mems).toEqual([0]);
  });

  it('omits zero fields the way runc omits them in JSON', () => {
    fake = fakeV1();
    const handle = createCgroup('c1', '/c1', {}, { layout: fake.layout });
    const json = JSON.parse(JSON.stringify(stats(handle))) as Record<string, unknown>;
    expect(json.pids).toEqual({});
    expect(json.cpu).toEqual({ usage: { kernel: 0, user: 0 }, throttling: {} });
    expect((json.memory as Record<string, unknown>).usage).toEqual({ limit: 0, failcnt: 0 });
    expect(json.network_interfaces).toBeNull();
    expect(json.intel_rdt).toEqual({});
  });
});

describe('stats on v2', () => {
  it('converts v2 files into the same fields', () => {
    fake = fakeV2();
    const handle = createCgroup('c1', '/c1', {}, { layout: fake.layout });
    const files: Record<string, string> = {
      'c1/cpu.stat': 'usage_usec 150\nuser_usec 100\nsystem_usec 50\nnr_periods 4\n' +
        'nr_throttled 1\nthrottled_usec 9\n',
      'c1/memory.current': '1000',
      'c1/memory.max': '4000',
      'c1/memory.peak': '2500',
      'c1/memory.events': 'low 0\nhigh 0\nmax 6\noom 1\noom_kill 1\n',
      'c1/memory.swap.current': '200',
      'c1/memory.swap.max': 'max',
      'c1/memory.stat': 'anon 700\nfile 300\n',
      'c1/pids.current': '3',
      'c1/pids.max': '64',
      'c1/io.stat': '8:0 rbytes=4096 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n',
      'c1/hugetlb.2MB.max': 'max',
      'c1/hugetlb.2MB.current': '0',
      'c1/hugetlb.2MB.events': 'max 2\n',
      'c1/cpuset.cpus.effective': '0-1',
    };
    for (const [path, text] of Object.entries(files)) fake.write(path, text);

    const s = stats(handle);
    expect(s.cpu.usage).toEqual({ total: 150000, kernel: 50000, user: 100000 });
    expect(s.cpu.throttling).toEqual({ periods: 4, throttledPeriods: 1, throttledTime: 9000 });
    expect(s.memory.usage).toEqual({ limit: 4000, usage: 1000, max: 2500, failcnt: 6 });
    expect(s.memory.swap).toEqual({ limit: 2 ** 64 - 1, usage: 1200, failcnt: 0 });
    expect(s.memory.cache).toBe(300);
    expect(s.pids).toEqual({ current: 3, limit: 64 });
    expect(s.blkio).toEqual({
      ioServiceBytesRecursive: [
        { major: 8, minor: undefined, op: 'Read', value: 4096 },
        { major: 8, minor: undefined, op: 'Write', value: undefined },
      ],
      ioServicedRecursive: [
        { major: 8, minor: undefined, op: 'Read', value: 1 },
        { major: 8, minor: undefined, op: 'Write', value: undefined },
      ],
    });
    expect(s.hugetlb).toEqual({ '2MB': { usage: undefined, failcnt: 2 } });
    expect(s.cpuset.cpus).toEqual([0, 1]);
  });
});
