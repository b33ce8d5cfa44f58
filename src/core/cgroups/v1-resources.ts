import { HakoError } from '../errors.js';
import type {
  LinuxBlockIO, LinuxCPU, LinuxMemory, LinuxResources, LinuxThrottleDevice,
} from '../spec/types.js';
import { blockIOSet } from './controllers.js';
import { deviceRule } from './convert.js';
import { CgroupFileError, cgroupFileExists, readCgroupFile, writeCgroupFile } from './files.js';
import type { CgroupLog } from './types.js';

/** Writes resources into a container's v1 directories (controller → dir). */
export function applyV1Resources(
  dirs: Record<string, string>,
  r: LinuxResources,
  log?: CgroupLog,
): void {
  const dirOf = (controller: string): string => {
    const dir = dirs[controller];
    if (dir === undefined) {
      throw new HakoError(`cgroups: the ${controller} controller is not mounted`);
    }
    return dir;
  };

  if (r.memory !== undefined) applyMemory(dirOf, r.memory, log);
  if (r.cpu !== undefined) applyCpu(dirOf, r.cpu);
  if (r.pids?.limit !== undefined && r.pids.limit !== 0) {
    writeCgroupFile(dirOf('pids'), 'pids.max', r.pids.limit > 0 ? String(r.pids.limit) : 'max');
  }
  if (r.blockIO !== undefined) applyBlkio(dirOf, r.blockIO);
  for (const h of r.hugepageLimits ?? []) {
    writeCgroupFile(dirOf('hugetlb'), `hugetlb.${h.pageSize}.limit_in_bytes`, String(h.limit));
  }

  // Rules apply in order, the way the kernel keeps them: a config starts with "deny all"
  // and then allows what it wants. The caller appends the runtime's default devices.
  for (const d of r.devices ?? []) {
    const file = d.allow ? 'devices.allow' : 'devices.deny';
    writeCgroupFile(dirOf('devices'), file, deviceRule(d.type, d.major, d.minor, d.access));
  }

  if (r.network?.classID !== undefined && r.network.classID !== 0) {
    writeCgroupFile(dirOf('net_cls'), 'net_cls.classid', String(r.network.classID));
  }
  for (const p of r.network?.priorities ?? []) {
    writeCgroupFile(dirOf('net_prio'), 'net_prio.ifpriomap', `${p.name} ${p.priority}`);
  }

  for (const [device, limits] of Object.entries(r.rdma ?? {})) {
    writeCgroupFile(dirOf('rdma'), 'rdma.max', rdmaLine(device, limits));
  }
  if (Object.keys(r.unified ?? {}).length > 0) {
    throw new HakoError('unified: cgroup v2 resources cannot be set on a cgroup v1 hierarchy');
  }
}

/** One rdma.max line: "<device> hca_handle=<n|max> hca_object=<n|max>". */
export function rdmaLine(
  device: string,
  limits: { hcaHandles?: number; hcaObjects?: number },
): string {
  const handles = limits.hcaHandles === undefined ? 'max' : String(limits.hcaHandles);
  const objects = limits.hcaObjects === undefined ? 'max' : String(limits.hcaObjects);
  return `${device} hca_handle=${handles} hca_object=${objects}`;
}

function applyMemory(dirOf: (c: string) => string, m: LinuxMemory, log?: CgroupLog): void {
  if (m.kernel !== undefined || m.kernelTCP !== undefined) {
    log?.debug('cgroups: memory.kernel and memory.kernelTCP ignored (deprecated by the kernel)');
  }
  const set = (n: number | undefined): n is number => n !== undefined && n !== 0;
  const anySet = set(m.limit) || set(m.swap) || set(m.reservation) ||
    m.swappiness !== undefined || m.disableOOMKiller === true || m.useHierarchy !== undefined;
  if (!anySet) return;
  const dir = dirOf('memory');
  const limit = m.limit;
  // An unlimited memory with no swap setting lifts the memory+swap limit too.
  const swap = limit === -1 && !set(m.swap) ? -1 : m.swap;

  if (set(limit) && set(swap)) {
    // The kernel keeps memory <= memory+swap at every step, so the order of the two writes
    // depends on whether the limits grow or shrink.
    const current = Number(readCgroupFile(dir, 'memory.limit_in_bytes') ?? '0');
    if (swap === -1 || current < swap) {
      writeCgroupFile(dir, 'memory.memsw.limit_in_bytes', String(swap));
      writeCgroupFile(dir, 'memory.limit_in_bytes', String(limit));
    } else {
      writeCgroupFile(dir, 'memory.limit_in_bytes', String(limit));
      writeCgroupFile(dir, 'memory.memsw.limit_in_bytes', String(swap));
    }
  } else if (set(limit)) {
    writeCgroupFile(dir, 'memory.limit_in_bytes', String(limit));
  } else if (set(swap)) {
    writeCgroupFile(dir, 'memory.memsw.limit_in_bytes', String(swap));
  }

  if (set(m.reservation)) {
    writeCgroupFile(dir, 'memory.soft_limit_in_bytes', String(m.reservation));
  }
  if (m.swappiness !== undefined && m.swappiness >= 0) {
    if (m.swappiness > 100) {
      throw new HakoError(`memory.swappiness: ${m.swappiness} is not between 0 and 100`);
    }
    writeCgroupFile(dir, 'memory.swappiness', String(m.swappiness));
  }
  if (m.disableOOMKiller === true) writeCgroupFile(dir, 'memory.oom_control', '1');
  if (m.useHierarchy !== undefined) {
    writeCgroupFile(dir, 'memory.use_hierarchy', m.useHierarchy ? '1' : '0');
  }
}

function applyCpu(dirOf: (c: string) => string, c: LinuxCPU): void {
  if ((c.cpus ?? '') !== '') writeCgroupFile(dirOf('cpuset'), 'cpuset.cpus', c.cpus as string);
  if ((c.mems ?? '') !== '') writeCgroupFile(dirOf('cpuset'), 'cpuset.mems', c.mems as string);

  const set = (n: number | undefined): n is number => n !== undefined && n !== 0;
  const anySet = set(c.shares) || set(c.quota) || set(c.period) || c.burst !== undefined ||
    c.idle !== undefined || set(c.realtimeRuntime) || set(c.realtimePeriod);
  if (!anySet) return;
  const dir = dirOf('cpu');
  if (set(c.shares)) writeCgroupFile(dir, 'cpu.shares', String(c.shares));

  // The kernel checks quota against period (and runtime against period) on each write, so
  // when the first order is refused, the other order is tried.
  writePair(dir, ['cpu.cfs_period_us', c.period], ['cpu.cfs_quota_us', c.quota]);
  if (c.burst !== undefined) writeCgroupFile(dir, 'cpu.cfs_burst_us', String(c.burst));
  writePair(dir, ['cpu.rt_period_us', c.realtimePeriod], ['cpu.rt_runtime_us', c.realtimeRuntime]);
  if (c.idle !== undefined) writeCgroupFile(dir, 'cpu.idle', String(c.idle));
}

type Setting = [file: string, value: number | undefined];

function writePair(dir: string, a: Setting, b: Setting): void {
  const writes = [a, b].filter((w): w is [string, number] => w[1] !== undefined && w[1] !== 0);
  try {
    for (const [file, value] of writes) writeCgroupFile(dir, file, String(value));
  } catch (err) {
    if (writes.length < 2 || !(err instanceof CgroupFileError) || err.code !== 'EINVAL') throw err;
    for (const [file, value] of writes.reverse()) writeCgroupFile(dir, file, String(value));
  }
}

function applyBlkio(dirOf: (c: string) => string, b: LinuxBlockIO): void {
  if (!blockIOSet(b)) return;
  const dir = dirOf('blkio');
  // CFQ's blkio.weight is gone from current kernels; BFQ offers blkio.bfq.weight instead.
  const bfq = !cgroupFileExists(dir, 'blkio.weight') && cgroupFileExists(dir, 'blkio.bfq.weight');
  const weightFile = bfq ? 'blkio.bfq.weight' : 'blkio.weight';

  if ((b.weight ?? 0) !== 0) writeCgroupFile(dir, weightFile, String(b.weight));
  if ((b.leafWeight ?? 0) !== 0) writeCgroupFile(dir, 'blkio.leaf_weight', String(b.leafWeight));
  for (const d of b.weightDevice ?? []) {
    if (d.weight !== undefined) {
      writeCgroupFile(dir, `${weightFile}_device`, `${d.major}:${d.minor} ${d.weight}`);
    }
    if (d.leafWeight !== undefined) {
      writeCgroupFile(dir, 'blkio.leaf_weight_device', `${d.major}:${d.minor} ${d.leafWeight}`);
    }
  }

  const throttle = (file: string, devices: LinuxThrottleDevice[] | undefined): void => {
    for (const d of devices ?? []) {
      writeCgroupFile(dir, `blkio.throttle.${file}`, `${d.major}:${d.minor} ${d.rate}`);
    }
  };
  throttle('read_bps_device', b.throttleReadBpsDevice);
  throttle('write_bps_device', b.throttleWriteBpsDevice);
  throttle('read_iops_device', b.throttleReadIOPSDevice);
  throttle('write_iops_device', b.throttleWriteIOPSDevice);
}
