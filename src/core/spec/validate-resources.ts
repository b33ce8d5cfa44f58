// Validation of linux.resources: types and ranges only. Whether a controller exists on this
// host, and what a value means on cgroup v1 or v2, is the cgroup manager's business.

import { Checker, keyPath, UINT32_MAX, UINT64_LIMIT } from './check.js';

const UINT64: [number, number] = [0, UINT64_LIMIT];
const INT64: [number, number] = [-(2 ** 63), 2 ** 63];

export function validateResources(c: Checker, path: string, value: unknown): void {
  const r = c.optObject(path, value);
  if (!r) return;

  validateDeviceRules(c, `${path}.devices`, r.devices);
  validateMemory(c, `${path}.memory`, r.memory);
  validateCpu(c, `${path}.cpu`, r.cpu);

  const pids = c.optObject(`${path}.pids`, r.pids);
  if (pids) c.integer(`${path}.pids.limit`, pids.limit, ...INT64);

  validateBlockIO(c, `${path}.blockIO`, r.blockIO);

  c.optArray(`${path}.hugepageLimits`, r.hugepageLimits)?.forEach((item, i) => {
    const at = `${path}.hugepageLimits[${i}]`;
    const limit = c.object(at, item);
    c.nonEmptyString(`${at}.pageSize`, limit.pageSize);
    c.integer(`${at}.limit`, limit.limit, ...UINT64);
  });

  const network = c.optObject(`${path}.network`, r.network);
  if (network) {
    c.optUint32(`${path}.network.classID`, network.classID);
    c.optArray(`${path}.network.priorities`, network.priorities)?.forEach((item, i) => {
      const at = `${path}.network.priorities[${i}]`;
      const prio = c.object(at, item);
      c.string(`${at}.name`, prio.name);
      c.uint32(`${at}.priority`, prio.priority);
    });
  }

  const rdma = c.optObject(`${path}.rdma`, r.rdma);
  for (const [device, item] of Object.entries(rdma ?? {})) {
    const at = keyPath(`${path}.rdma`, device);
    const limit = c.object(at, item);
    c.optUint32(`${at}.hcaHandles`, limit.hcaHandles);
    c.optUint32(`${at}.hcaObjects`, limit.hcaObjects);
  }

  c.stringMap(`${path}.unified`, r.unified);
}

function validateDeviceRules(c: Checker, path: string, value: unknown): void {
  c.optArray(path, value)?.forEach((item, i) => {
    const at = `${path}[${i}]`;
    const rule = c.object(at, item);
    c.boolean(`${at}.allow`, rule.allow);
    if (rule.type !== undefined) c.oneOf(`${at}.type`, rule.type, ['a', 'b', 'c'], 'device type');
    // -1 is how runc spells the wildcard in its own configs; accept it alongside an absent value.
    c.optInteger(`${at}.major`, rule.major, -1, UINT32_MAX);
    c.optInteger(`${at}.minor`, rule.minor, -1, UINT32_MAX);
    const access = c.optString(`${at}.access`, rule.access);
    if (access !== undefined && !/^[rwm]*$/.test(access)) {
      c.fail(`${at}.access`, `must be made of the letters r, w and m, got "${access}"`);
    }
  });
}

function validateMemory(c: Checker, path: string, value: unknown): void {
  const m = c.optObject(path, value);
  if (!m) return;
  for (const key of ['limit', 'reservation', 'swap', 'kernel', 'kernelTCP'] as const) {
    c.optInteger(`${path}.${key}`, m[key], ...INT64);
  }
  c.optInteger(`${path}.swappiness`, m.swappiness, 0, 100);
  for (const key of ['disableOOMKiller', 'useHierarchy', 'checkBeforeUpdate'] as const) {
    c.optBoolean(`${path}.${key}`, m[key]);
  }
}

function validateCpu(c: Checker, path: string, value: unknown): void {
  const cpu = c.optObject(path, value);
  if (!cpu) return;
  for (const key of ['shares', 'burst', 'period', 'realtimePeriod'] as const) {
    c.optInteger(`${path}.${key}`, cpu[key], ...UINT64);
  }
  for (const key of ['quota', 'realtimeRuntime', 'idle'] as const) {
    c.optInteger(`${path}.${key}`, cpu[key], ...INT64);
  }
  c.optString(`${path}.cpus`, cpu.cpus);
  c.optString(`${path}.mems`, cpu.mems);
}

function validateBlockIO(c: Checker, path: string, value: unknown): void {
  const b = c.optObject(path, value);
  if (!b) return;
  c.optInteger(`${path}.weight`, b.weight, 0, 65535);
  c.optInteger(`${path}.leafWeight`, b.leafWeight, 0, 65535);

  c.optArray(`${path}.weightDevice`, b.weightDevice)?.forEach((item, i) => {
    const at = `${path}.weightDevice[${i}]`;
    const d = c.object(at, item);
    c.integer(`${at}.major`, d.major, ...INT64);
    c.integer(`${at}.minor`, d.minor, ...INT64);
    c.optInteger(`${at}.weight`, d.weight, 0, 65535);
    c.optInteger(`${at}.leafWeight`, d.leafWeight, 0, 65535);
  });

  const throttles = [
    'throttleReadBpsDevice', 'throttleWriteBpsDevice',
    'throttleReadIOPSDevice', 'throttleWriteIOPSDevice',
  ] as const;
  for (const key of throttles) {
    c.optArray(`${path}.${key}`, b[key])?.forEach((item, i) => {
      const at = `${path}.${key}[${i}]`;
      const d = c.object(at, item);
      c.integer(`${at}.major`, d.major, ...INT64);
      c.integer(`${at}.minor`, d.minor, ...INT64);
      c.integer(`${at}.rate`, d.rate, ...UINT64);
    });
  }
}
