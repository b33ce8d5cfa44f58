import { HakoError } from '../errors.js';
import type { LinuxBlockIO, LinuxResources } from '../spec/types.js';

/**
 * Which controllers a set of resources needs, keyed by controller name, each with the
 * resource that asks for it (for the error message). Only values that are set count: a
 * config may carry empty sections for controllers this machine lacks.
 */
export function neededControllers(r: LinuxResources, version: 1 | 2): Map<string, string> {
  const needs = new Map<string, string>();
  const need = (controller: string, what: string, set: boolean): void => {
    if (set && !needs.has(controller)) needs.set(controller, what);
  };
  const isSet = (n: number | undefined): boolean => n !== undefined && n !== 0;

  const m = r.memory;
  if (m !== undefined) {
    need('memory', 'memory.limit', isSet(m.limit));
    need('memory', 'memory.swap', isSet(m.swap));
    need('memory', 'memory.reservation', isSet(m.reservation));
    if (version === 1) {
      need('memory', 'memory.swappiness', m.swappiness !== undefined && m.swappiness >= 0);
      need('memory', 'memory.disableOOMKiller', m.disableOOMKiller === true);
      need('memory', 'memory.useHierarchy', m.useHierarchy !== undefined);
    }
  }

  const c = r.cpu;
  if (c !== undefined) {
    need('cpu', 'cpu.shares', isSet(c.shares));
    need('cpu', 'cpu.quota', isSet(c.quota));
    need('cpu', 'cpu.period', isSet(c.period));
    need('cpu', 'cpu.burst', c.burst !== undefined);
    need('cpu', 'cpu.idle', c.idle !== undefined);
    need('cpu', 'cpu.realtimeRuntime', isSet(c.realtimeRuntime));
    need('cpu', 'cpu.realtimePeriod', isSet(c.realtimePeriod));
    need('cpuset', 'cpu.cpus', (c.cpus ?? '') !== '');
    need('cpuset', 'cpu.mems', (c.mems ?? '') !== '');
  }

  need('pids', 'pids.limit', isSet(r.pids?.limit));
  need(version === 1 ? 'blkio' : 'io', 'blockIO', r.blockIO !== undefined && blockIOSet(r.blockIO));
  need('hugetlb', 'hugepageLimits', (r.hugepageLimits ?? []).length > 0);
  need('rdma', 'rdma', Object.keys(r.rdma ?? {}).length > 0);
  if (version === 1) {
    need('devices', 'devices', (r.devices ?? []).length > 0);
  }
  // cgroup v2 has no net_cls or net_prio: asking for them there is reported as missing.
  need('net_cls', 'network.classID', isSet(r.network?.classID));
  need('net_prio', 'network.priorities', (r.network?.priorities ?? []).length > 0);

  if (version === 2) {
    for (const key of Object.keys(r.unified ?? {})) {
      const controller = unifiedController(key);
      if (controller !== 'cgroup') need(controller, `unified["${key}"]`, true);
    }
  }
  return needs;
}

/** Whether a blockIO section sets anything (an empty one needs no controller). */
export function blockIOSet(b: LinuxBlockIO): boolean {
  const lists = [
    b.weightDevice, b.throttleReadBpsDevice, b.throttleWriteBpsDevice,
    b.throttleReadIOPSDevice, b.throttleWriteIOPSDevice,
  ];
  const weights = (b.weight ?? 0) !== 0 || (b.leafWeight ?? 0) !== 0;
  return weights || lists.some((l) => (l ?? []).length > 0);
}

/** The controller a unified key belongs to ("memory.high" → "memory"); validates the key. */
export function unifiedController(key: string): string {
  const dot = key.indexOf('.');
  if (dot <= 0 || key.includes('/') || key.endsWith('.')) {
    throw new HakoError(`unified["${key}"]: not a cgroup v2 file name (expected controller.file)`);
  }
  return key.slice(0, dot);
}

/** Throws for the first needed controller missing from `available`. */
export function requireControllers(
  needs: Map<string, string>,
  available: (controller: string) => boolean,
  missing: (controller: string, what: string) => string,
): void {
  for (const [controller, what] of needs) {
    if (!available(controller)) throw new HakoError(missing(controller, what));
  }
}
