import { fileNames } from './files.js';
import { pidsLimit } from './stats-v1.js';
import {
  type BlkioEntry, type BlkioStats, type ControllerStats, type CpusetStats, type HugetlbStats,
  type MemoryEntry, nonZero, parseCpuList, readKeyed, readNumber, readText, UNLIMITED,
} from './stats-types.js';

/** Statistics from a container's cgroup v2 directory, in runc's v1-shaped fields. */
export function statsV2(dir: string): ControllerStats {
  const cpu = readKeyed(dir, 'cpu.stat');
  const usec = (key: string): number | undefined => {
    const value = cpu.get(key);
    return value === undefined ? undefined : value * 1000;
  };
  const raw = readKeyed(dir, 'memory.stat');

  return {
    cpu: {
      usage: {
        total: nonZero(usec('usage_usec')),
        kernel: usec('system_usec') ?? 0,
        user: usec('user_usec') ?? 0,
      },
      throttling: {
        periods: nonZero(cpu.get('nr_periods')),
        throttledPeriods: nonZero(cpu.get('nr_throttled')),
        throttledTime: nonZero(usec('throttled_usec')),
      },
    },
    cpuset: cpusetV2(dir),
    memory: {
      cache: nonZero(raw.get('file')),
      usage: memoryUsage(dir),
      swap: swapUsage(dir),
      // v2 has no separate kernel memory accounting: it is part of memory.current.
      kernel: { limit: 0, failcnt: 0 },
      kernelTCP: { limit: 0, failcnt: 0 },
      raw: raw.size === 0 ? undefined : Object.fromEntries(raw),
    },
    pids: {
      current: nonZero(readNumber(dir, 'pids.current')),
      limit: pidsLimit(readText(dir, 'pids.max')),
    },
    blkio: ioStats(readText(dir, 'io.stat')),
    hugetlb: hugetlbV2(dir),
  };
}

function memoryUsage(dir: string): MemoryEntry {
  return {
    limit: readNumber(dir, 'memory.max') ?? 0,
    usage: nonZero(readNumber(dir, 'memory.current')),
    max: nonZero(readNumber(dir, 'memory.peak')),
    failcnt: readKeyed(dir, 'memory.events').get('max') ?? 0,
  };
}

/** v1 reported memory+swap; runc keeps that meaning on v2 by adding memory to swap. */
function swapUsage(dir: string): MemoryEntry {
  const swap = readNumber(dir, 'memory.swap.current');
  const swapMax = readNumber(dir, 'memory.swap.max');
  const memory = readNumber(dir, 'memory.current') ?? 0;
  const memoryMax = readNumber(dir, 'memory.max');
  const unlimited = swapMax === UNLIMITED || memoryMax === UNLIMITED;
  return {
    limit: swapMax === undefined ? 0 : unlimited ? UNLIMITED : swapMax + (memoryMax ?? 0),
    usage: swap === undefined ? undefined : nonZero(swap + memory),
    failcnt: readKeyed(dir, 'memory.swap.events').get('max') ?? 0,
  };
}

function cpusetV2(dir: string): CpusetStats {
  return {
    cpus: parseCpuList(readText(dir, 'cpuset.cpus.effective')),
    cpu_exclusive: 0,
    mems: parseCpuList(readText(dir, 'cpuset.mems.effective')),
    mem_hardwall: 0,
    mem_exclusive: 0,
    memory_migrate: 0,
    memory_spread_page: 0,
    memory_spread_slab: 0,
    memory_pressure: 0,
    sched_load_balance: 0,
    sched_relax_domain_level: 0,
  };
}

/** io.stat lines: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0". */
export function ioStats(text: string | undefined): BlkioStats {
  const bytes: BlkioEntry[] = [];
  const ios: BlkioEntry[] = [];
  for (const line of (text ?? '').split('\n')) {
    const [device, ...pairs] = line.trim().split(/\s+/);
    const numbers = /^(\d+):(\d+)$/.exec(device ?? '');
    if (numbers === null) continue;
    const major = nonZero(Number(numbers[1]));
    const minor = nonZero(Number(numbers[2]));
    for (const pair of pairs) {
      const [key, value] = pair.split('=');
      const entry = (op: string): BlkioEntry =>
        ({ major, minor, op, value: nonZero(Number(value)) });
      if (key === 'rbytes') bytes.push(entry('Read'));
      if (key === 'wbytes') bytes.push(entry('Write'));
      if (key === 'rios') ios.push(entry('Read'));
      if (key === 'wios') ios.push(entry('Write'));
    }
  }
  return {
    ioServiceBytesRecursive: bytes.length === 0 ? undefined : bytes,
    ioServicedRecursive: ios.length === 0 ? undefined : ios,
  };
}

function hugetlbV2(dir: string): Record<string, HugetlbStats> {
  const out: Record<string, HugetlbStats> = {};
  for (const name of fileNames(dir)) {
    const size = /^hugetlb\.([^.]+)\.max$/.exec(name)?.[1];
    if (size === undefined) continue;
    out[size] = {
      usage: nonZero(readNumber(dir, `hugetlb.${size}.current`)),
      failcnt: readKeyed(dir, `hugetlb.${size}.events`).get('max') ?? 0,
    };
  }
  return out;
}
