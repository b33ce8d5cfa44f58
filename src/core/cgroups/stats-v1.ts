import { fileNames, readCgroupFile } from './files.js';
import {
  type BlkioEntry, type BlkioStats, type ControllerStats, type CpusetStats, type HugetlbStats,
  type MemoryEntry, nonZero, parseCpuList, readKeyed, readNumber, readText,
} from './stats-types.js';

// cpuacct.stat counts in USER_HZ, which the kernel fixes at 100 for this interface.
const NS_PER_USER_HZ = 1e9 / 100;

/** Statistics from a container's v1 directories (controller → dir). */
export function statsV1(dirs: Record<string, string>): ControllerStats {
  const cpuacct = dirs.cpuacct;
  const times = readKeyed(cpuacct, 'cpuacct.stat');
  const percpu = (file: string): number[] | undefined => {
    const text = readText(cpuacct, file);
    if (text === undefined || text === '') return undefined;
    return text.split(/\s+/).map(Number);
  };
  const throttle = readKeyed(dirs.cpu, 'cpu.stat');

  const memory = dirs.memory;
  const raw = readKeyed(memory, 'memory.stat');

  return {
    cpu: {
      usage: {
        total: nonZero(readNumber(cpuacct, 'cpuacct.usage')),
        percpu: percpu('cpuacct.usage_percpu'),
        percpu_kernel: percpu('cpuacct.usage_percpu_sys'),
        percpu_user: percpu('cpuacct.usage_percpu_user'),
        kernel: (times.get('system') ?? 0) * NS_PER_USER_HZ,
        user: (times.get('user') ?? 0) * NS_PER_USER_HZ,
      },
      throttling: {
        periods: nonZero(throttle.get('nr_periods')),
        throttledPeriods: nonZero(throttle.get('nr_throttled')),
        throttledTime: nonZero(throttle.get('throttled_time')),
      },
    },
    cpuset: cpusetV1(dirs.cpuset),
    memory: {
      cache: nonZero(raw.get('cache')),
      usage: memoryEntry(memory, 'memory'),
      swap: memoryEntry(memory, 'memory.memsw'),
      kernel: memoryEntry(memory, 'memory.kmem'),
      kernelTCP: memoryEntry(memory, 'memory.kmem.tcp'),
      raw: raw.size === 0 ? undefined : Object.fromEntries(raw),
    },
    pids: {
      current: nonZero(readNumber(dirs.pids, 'pids.current')),
      limit: pidsLimit(readText(dirs.pids, 'pids.max')),
    },
    blkio: blkioV1(dirs.blkio),
    hugetlb: hugetlbV1(dirs.hugetlb),
  };
}

/** pids.max "max" is no limit, which runc reports as 0 (omitted). */
export function pidsLimit(text: string | undefined): number | undefined {
  if (text === undefined || text === 'max') return undefined;
  return nonZero(Number(text));
}

function memoryEntry(dir: string | undefined, prefix: string): MemoryEntry {
  return {
    limit: readNumber(dir, `${prefix}.limit_in_bytes`) ?? 0,
    usage: nonZero(readNumber(dir, `${prefix}.usage_in_bytes`)),
    max: nonZero(readNumber(dir, `${prefix}.max_usage_in_bytes`)),
    failcnt: readNumber(dir, `${prefix}.failcnt`) ?? 0,
  };
}

function cpusetV1(dir: string | undefined): CpusetStats {
  const flag = (name: string): number => readNumber(dir, `cpuset.${name}`) ?? 0;
  return {
    cpus: parseCpuList(readText(dir, 'cpuset.cpus')),
    cpu_exclusive: flag('cpu_exclusive'),
    mems: parseCpuList(readText(dir, 'cpuset.mems')),
    mem_hardwall: flag('mem_hardwall'),
    mem_exclusive: flag('mem_exclusive'),
    memory_migrate: flag('memory_migrate'),
    memory_spread_page: flag('memory_spread_page'),
    memory_spread_slab: flag('memory_spread_slab'),
    memory_pressure: flag('memory_pressure'),
    sched_load_balance: flag('sched_load_balance'),
    sched_relax_domain_level: flag('sched_relax_domain_level'),
  };
}

/**
 * CFQ's files when the kernel has them, else BFQ's, else the throttling layer's counters
 * (which count every bio, whatever the scheduler), the order runc reads them in.
 */
function blkioV1(dir: string | undefined): BlkioStats {
  if (dir === undefined) return {};
  const read = (file: string): BlkioEntry[] | undefined => blkioEntries(readCgroupFile(dir, file));
  for (const prefix of ['blkio.', 'blkio.bfq.']) {
    const serviced = read(`${prefix}io_serviced_recursive`);
    if (serviced === undefined) continue;
    return {
      ioServiceBytesRecursive: read(`${prefix}io_service_bytes_recursive`),
      ioServicedRecursive: serviced,
      ioQueueRecursive: read(`${prefix}io_queued_recursive`),
      ioServiceTimeRecursive: read(`${prefix}io_service_time_recursive`),
      ioWaitTimeRecursive: read(`${prefix}io_wait_time_recursive`),
      ioMergedRecursive: read(`${prefix}io_merged_recursive`),
      ioTimeRecursive: read(`${prefix}time_recursive`),
      sectorsRecursive: read(`${prefix}sectors_recursive`),
    };
  }
  return {
    ioServiceBytesRecursive: read('blkio.throttle.io_service_bytes_recursive'),
    ioServicedRecursive: read('blkio.throttle.io_serviced_recursive'),
  };
}

/** Lines "8:0 Read 4096" (or "8:0 4096" for time and sectors); "Total n" lines are skipped. */
export function blkioEntries(text: string | undefined): BlkioEntry[] | undefined {
  const out: BlkioEntry[] = [];
  for (const line of (text ?? '').split('\n')) {
    const fields = line.trim().split(/\s+/);
    const device = /^(\d+):(\d+)$/.exec(fields[0] ?? '');
    if (device === null) continue;
    const op = fields.length >= 3 ? fields[1] : undefined;
    out.push({
      major: nonZero(Number(device[1])),
      minor: nonZero(Number(device[2])),
      op,
      value: nonZero(Number(fields[fields.length - 1])),
    });
  }
  return out.length === 0 ? undefined : out;
}

function hugetlbV1(dir: string | undefined): Record<string, HugetlbStats> {
  const out: Record<string, HugetlbStats> = {};
  if (dir === undefined) return out;
  for (const name of fileNames(dir)) {
    const size = /^hugetlb\.([^.]+)\.limit_in_bytes$/.exec(name)?.[1];
    if (size === undefined) continue;
    out[size] = {
      usage: nonZero(readNumber(dir, `hugetlb.${size}.usage_in_bytes`)),
      max: nonZero(readNumber(dir, `hugetlb.${size}.max_usage_in_bytes`)),
      failcnt: readNumber(dir, `hugetlb.${size}.failcnt`) ?? 0,
    };
  }
  return out;
}
