import { readCgroupFile } from './files.js';

/*
 * The data of `runc events --stats` ("type":"stats"), field for field. Fields that runc
 * marks omitempty are left undefined when zero, so JSON.stringify omits them the same way.
 * Values are JavaScript numbers: counters above 2^53 (an "unlimited" limit such as
 * 9223372036854771712 or 2^64-1) keep their magnitude but not their last digits.
 */

export interface CpuUsage {
  total?: number;
  percpu?: number[];
  percpu_kernel?: number[];
  percpu_user?: number[];
  kernel: number;
  user: number;
}

export interface Throttling {
  periods?: number;
  throttledPeriods?: number;
  throttledTime?: number;
}

export interface CpusetStats {
  cpus?: number[];
  cpu_exclusive: number;
  mems?: number[];
  mem_hardwall: number;
  mem_exclusive: number;
  memory_migrate: number;
  memory_spread_page: number;
  memory_spread_slab: number;
  memory_pressure: number;
  sched_load_balance: number;
  sched_relax_domain_level: number;
}

export interface MemoryEntry {
  limit: number;
  usage?: number;
  max?: number;
  failcnt: number;
}

export interface MemoryStats {
  cache?: number;
  usage: MemoryEntry;
  swap: MemoryEntry;
  kernel: MemoryEntry;
  kernelTCP: MemoryEntry;
  raw?: Record<string, number>;
}

export interface BlkioEntry {
  major?: number;
  minor?: number;
  op?: string;
  value?: number;
}

export interface BlkioStats {
  ioServiceBytesRecursive?: BlkioEntry[];
  ioServicedRecursive?: BlkioEntry[];
  ioQueueRecursive?: BlkioEntry[];
  ioServiceTimeRecursive?: BlkioEntry[];
  ioWaitTimeRecursive?: BlkioEntry[];
  ioMergedRecursive?: BlkioEntry[];
  ioTimeRecursive?: BlkioEntry[];
  sectorsRecursive?: BlkioEntry[];
}

export interface HugetlbStats {
  usage?: number;
  max?: number;
  failcnt: number;
}

export interface CgroupStats {
  cpu: { usage: CpuUsage; throttling: Throttling };
  cpuset: CpusetStats;
  memory: MemoryStats;
  pids: { current?: number; limit?: number };
  blkio: BlkioStats;
  hugetlb: Record<string, HugetlbStats>;
  intel_rdt: Record<string, never>;
  network_interfaces: null;
}

/** The part read from cgroup files (the rest of runc's shape is not about cgroups). */
export type ControllerStats = Omit<CgroupStats, 'intel_rdt' | 'network_interfaces'>;

/** What runc reports for an unlimited v2 value ("max"): the largest uint64. */
export const UNLIMITED = 2 ** 64 - 1;

/** undefined for 0 and for nothing, so that omitempty fields disappear from the JSON. */
export function nonZero(n: number | undefined): number | undefined {
  return n === undefined || n === 0 ? undefined : n;
}

/** A cgroup file's text; undefined when the controller's directory or the file is absent. */
export function readText(dir: string | undefined, file: string): string | undefined {
  return dir === undefined ? undefined : readCgroupFile(dir, file);
}

/** A numeric cgroup file: "max" is unlimited; a missing or unparsable file is undefined. */
export function readNumber(dir: string | undefined, file: string): number | undefined {
  const text = readText(dir, file);
  if (text === undefined || text === '') return undefined;
  if (text === 'max') return UNLIMITED;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

/** A flat keyed file ("key value" lines: memory.stat, cpu.stat, memory.events). */
export function readKeyed(dir: string | undefined, file: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of (readText(dir, file) ?? '').split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key === undefined || value === undefined) continue;
    const n = value === 'max' ? UNLIMITED : Number(value);
    if (Number.isFinite(n)) out.set(key, n);
  }
  return out;
}

/** A kernel list such as "0-3,8" → [0, 1, 2, 3, 8]. */
export function parseCpuList(text: string | undefined): number[] | undefined {
  if (text === undefined || text === '') return undefined;
  const out: number[] = [];
  for (const part of text.split(',')) {
    const [from, to] = part.split('-').map(Number);
    for (let n = from; n <= (to ?? from); n++) out.push(n);
  }
  return out.length === 0 ? undefined : out;
}

export function emptyMemoryEntry(): MemoryEntry {
  return { limit: 0, failcnt: 0 };
}
