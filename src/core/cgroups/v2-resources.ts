import { HakoError } from '../errors.js';
import type { LinuxBlockIO, LinuxCPU, LinuxMemory, LinuxResources } from '../spec/types.js';
import { unifiedController } from './controllers.js';
import {
  blkioWeightToIoWeight, cpuMax, cpuSharesToWeight, memorySwapToV2, v2Limit,
} from './convert.js';
import { cgroupFileExists, writeCgroupFile } from './files.js';
import type { CgroupLog } from './types.js';
import { rdmaLine } from './v1-resources.js';

/** Refuses what cgroup v2 cannot do at all, before anything is created. */
export function checkV2Resources(r: LinuxResources): void {
  const rt = r.cpu?.realtimeRuntime ?? 0;
  const rtPeriod = r.cpu?.realtimePeriod ?? 0;
  if (rt !== 0 || rtPeriod !== 0) {
    throw new HakoError(
      'cpu.realtimeRuntime/realtimePeriod: cgroup v2 has no realtime CPU control',
    );
  }
  if ((r.memory?.swappiness ?? 0) > 100) {
    throw new HakoError(`memory.swappiness: ${r.memory?.swappiness} is not between 0 and 100`);
  }
  for (const key of Object.keys(r.unified ?? {})) unifiedController(key);
  memorySwapToV2(r.memory?.swap, r.memory?.limit);
}

/**
 * Writes resources into a container's v2 directory. Returns the resource kinds that were
 * asked for but cannot be enforced here (device rules need an eBPF program).
 */
export function applyV2Resources(dir: string, r: LinuxResources, log?: CgroupLog): string[] {
  checkV2Resources(r);
  const unenforced: string[] = [];

  if (r.memory !== undefined) applyMemory(dir, r.memory, log);
  if (r.cpu !== undefined) applyCpu(dir, r.cpu);
  const pids = v2Limit(r.pids?.limit);
  if (pids !== undefined) writeCgroupFile(dir, 'pids.max', pids);
  if (r.blockIO !== undefined) applyIo(dir, r.blockIO, log);
  for (const h of r.hugepageLimits ?? []) {
    writeCgroupFile(dir, `hugetlb.${h.pageSize}.max`, String(h.limit));
  }
  for (const [device, limits] of Object.entries(r.rdma ?? {})) {
    writeCgroupFile(dir, 'rdma.max', rdmaLine(device, limits));
  }

  if ((r.devices ?? []).length > 0) {
    // Known shortcoming: cgroup v2 device control is an eBPF program attached to the cgroup,
    // which hako does not build yet. The container sees the device nodes the rootfs gives it.
    unenforced.push('devices');
    log?.debug('cgroups: device rules are not enforced on cgroup v2 (needs an eBPF program)');
  }

  // Written last so that a raw value wins over the converted one, as in runc and crun.
  for (const [key, value] of Object.entries(r.unified ?? {})) {
    writeCgroupFile(dir, key, value);
  }
  return unenforced;
}

function applyMemory(dir: string, m: LinuxMemory, log?: CgroupLog): void {
  const ignored = [
    m.kernel !== undefined ? 'kernel' : '',
    m.kernelTCP !== undefined ? 'kernelTCP' : '',
    m.swappiness !== undefined ? 'swappiness' : '',
    m.disableOOMKiller === true ? 'disableOOMKiller' : '',
  ].filter((name) => name !== '');
  if (ignored.length > 0) {
    log?.debug(`cgroups: memory.${ignored.join(', memory.')} ignored: no cgroup v2 equivalent`);
  }

  // Swap first: lowering memory.max below the current swap setting is fine either way, and
  // a failed swap write then leaves memory.max untouched.
  const swap = memorySwapToV2(m.swap, m.limit);
  if (swap !== undefined) writeCgroupFile(dir, 'memory.swap.max', swap);
  const limit = v2Limit(m.limit);
  if (limit !== undefined) writeCgroupFile(dir, 'memory.max', limit);
  const low = v2Limit(m.reservation);
  if (low !== undefined) writeCgroupFile(dir, 'memory.low', low);
}

function applyCpu(dir: string, c: LinuxCPU): void {
  const weight = cpuSharesToWeight(c.shares ?? 0);
  if (weight !== 0) writeCgroupFile(dir, 'cpu.weight', String(weight));
  const max = cpuMax(c.quota, c.period);
  if (max !== undefined) writeCgroupFile(dir, 'cpu.max', max);
  if (c.burst !== undefined) writeCgroupFile(dir, 'cpu.max.burst', String(c.burst));
  if (c.idle !== undefined) writeCgroupFile(dir, 'cpu.idle', String(c.idle));
  if ((c.cpus ?? '') !== '') writeCgroupFile(dir, 'cpuset.cpus', c.cpus as string);
  if ((c.mems ?? '') !== '') writeCgroupFile(dir, 'cpuset.mems', c.mems as string);
}

function applyIo(dir: string, b: LinuxBlockIO, log?: CgroupLog): void {
  // BFQ takes the spec's weights as they are; the io.weight cost model has a wider range.
  const bfq = cgroupFileExists(dir, 'io.bfq.weight');
  const file = bfq ? 'io.bfq.weight' : 'io.weight';
  const convert = (w: number): number => (bfq ? w : blkioWeightToIoWeight(w));

  if ((b.weight ?? 0) !== 0) {
    writeCgroupFile(dir, file, `default ${convert(b.weight as number)}`);
  }
  for (const d of b.weightDevice ?? []) {
    if (d.weight === undefined) continue;
    writeCgroupFile(dir, file, `${d.major}:${d.minor} ${convert(d.weight)}`);
  }
  const leaf = (b.leafWeight ?? 0) !== 0 || (b.weightDevice ?? []).some((d) => d.leafWeight);
  if (leaf) log?.debug('cgroups: blockIO leaf weights ignored: no cgroup v2 equivalent');

  const limits: [string, LinuxBlockIO['throttleReadBpsDevice']][] = [
    ['rbps', b.throttleReadBpsDevice],
    ['wbps', b.throttleWriteBpsDevice],
    ['riops', b.throttleReadIOPSDevice],
    ['wiops', b.throttleWriteIOPSDevice],
  ];
  for (const [key, devices] of limits) {
    for (const d of devices ?? []) {
      writeCgroupFile(dir, 'io.max', `${d.major}:${d.minor} ${key}=${d.rate}`);
    }
  }
}
