/**
 * What `hako update` changes, decided without touching the kernel: runc's flags and its
 * `--resources` JSON turned into a resources object, and that object merged into the
 * container's recorded resources.
 */
import { HakoError } from '../errors.js';
import type { LinuxCPU, LinuxMemory, LinuxResources } from '../spec/types.js';

const BINARY_UNITS: Readonly<Record<string, number>> = {
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
  p: 1024 ** 5,
};

/**
 * A memory size the way runc reads `--memory` (docker's units.RAMInBytes): a number with an
 * optional fraction, an optional space, then nothing, `b`, or k/m/g/t/p optionally followed
 * by `b` or `ib`, case-insensitive and always binary: "100m", "1.5 GiB", "64kb", "4096".
 * The fractional byte count is truncated, as Go's int64 conversion does.
 */
export function parseRamInBytes(text: string): number {
  const match = /^(\d+(?:\.\d+)?) ?(?:([kmgtp])(?:i?b)?|b)?$/i.exec(text);
  if (match === null) throw new Error(`invalid size: '${text}'`);
  const unit = match[2]?.toLowerCase();
  const bytes = Math.trunc(Number(match[1]) * (unit === undefined ? 1 : BINARY_UNITS[unit]));
  if (!Number.isSafeInteger(bytes)) throw new Error(`invalid size: '${text}' is too large`);
  return bytes;
}

/** The `update` flags, as commander hands them over (strings; absent when not given). */
export interface UpdateFlags {
  blkioWeight?: string;
  cpuPeriod?: string;
  cpuQuota?: string;
  cpuShare?: string;
  cpuShares?: string;
  cpuRtPeriod?: string;
  cpuRtRuntime?: string;
  cpuIdle?: string;
  cpusetCpus?: string;
  cpusetMems?: string;
  memory?: string;
  memoryReservation?: string;
  memorySwap?: string;
  kernelMemory?: string;
  kernelMemoryTcp?: string;
  pidsLimit?: string;
  l3CacheSchema?: string;
  memBwSchema?: string;
}

/**
 * The resources runc's `update` flags ask for. Only the flags given appear in the result, so
 * that merging it leaves every other setting as it was. Memory flags take sizes with units
 * and "-1" for unlimited.
 */
export function resourcesFromFlags(flags: UpdateFlags): LinuxResources {
  if (flags.l3CacheSchema !== undefined || flags.memBwSchema !== undefined) {
    throw new HakoError('update: Intel RDT (--l3-cache-schema, --mem-bw-schema) is not supported');
  }
  const r: LinuxResources = {};
  const memory: LinuxMemory = {};
  const cpu: LinuxCPU = {};

  const size = (flag: string, value: string | undefined): number | undefined =>
    value === undefined ? undefined : parseSize(flag, value);
  const uint = (flag: string, value: string | undefined): number | undefined =>
    value === undefined ? undefined : parseInteger(flag, value, false);
  const int = (flag: string, value: string | undefined): number | undefined =>
    value === undefined ? undefined : parseInteger(flag, value, true);

  assign(memory, 'limit', size('memory', flags.memory));
  assign(memory, 'reservation', size('memory-reservation', flags.memoryReservation));
  assign(memory, 'swap', size('memory-swap', flags.memorySwap));
  assign(memory, 'kernel', size('kernel-memory', flags.kernelMemory));
  assign(memory, 'kernelTCP', size('kernel-memory-tcp', flags.kernelMemoryTcp));

  assign(cpu, 'shares', uint('cpu-share', flags.cpuShare ?? flags.cpuShares));
  assign(cpu, 'period', uint('cpu-period', flags.cpuPeriod));
  assign(cpu, 'quota', int('cpu-quota', flags.cpuQuota));
  assign(cpu, 'realtimePeriod', uint('cpu-rt-period', flags.cpuRtPeriod));
  assign(cpu, 'realtimeRuntime', int('cpu-rt-runtime', flags.cpuRtRuntime));
  assign(cpu, 'idle', int('cpu-idle', flags.cpuIdle));
  if (flags.cpusetCpus !== undefined && flags.cpusetCpus !== '') cpu.cpus = flags.cpusetCpus;
  if (flags.cpusetMems !== undefined && flags.cpusetMems !== '') cpu.mems = flags.cpusetMems;

  if (Object.keys(memory).length > 0) r.memory = memory;
  if (Object.keys(cpu).length > 0) r.cpu = cpu;
  const weight = uint('blkio-weight', flags.blkioWeight);
  if (weight !== undefined && weight !== 0) r.blockIO = { weight };
  const pids = int('pids-limit', flags.pidsLimit);
  if (pids !== undefined && pids !== 0) r.pids = { limit: pids };
  return r;
}

/**
 * The resources of a `--resources` document (JSON as runc reads it: a runtime-spec
 * linux.resources object; fields left out stay as they are).
 */
export function parseResourcesJson(source: string, text: string): LinuxResources {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new HakoError(`update: ${source}: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new HakoError(`update: ${source}: expected a JSON object of linux.resources`);
  }
  const r = value as LinuxResources;
  checkNumbers(source, 'memory', r.memory, ['limit', 'reservation', 'swap', 'kernel', 'kernelTCP']);
  checkNumbers(source, 'cpu', r.cpu,
    ['shares', 'quota', 'period', 'realtimeRuntime', 'realtimePeriod', 'idle', 'burst']);
  checkNumbers(source, 'blockIO', r.blockIO, ['weight']);
  checkNumbers(source, 'pids', r.pids, ['limit']);
  checkStrings(source, 'cpu', r.cpu, ['cpus', 'mems']);
  if (r.unified != null) {
    checkStrings(source, 'unified', r.unified, Object.keys(r.unified));
  }
  return r;
}

/**
 * The part of requested resources that `update` applies, as runc does: memory limits, CPU
 * settings, the block I/O weight, the pids limit and unified keys. Device rules are never
 * re-applied (runc skips them too: a running container would briefly lose its devices).
 * A 0 or empty value means "unchanged" and is dropped.
 */
export function updatableResources(r: LinuxResources): LinuxResources {
  const out: LinuxResources = {};
  const memory: LinuxMemory = {};
  for (const key of ['limit', 'reservation', 'swap'] as const) assign(memory, key, r.memory?.[key]);
  const cpu: LinuxCPU = {};
  const cpuKeys = ['shares', 'quota', 'period', 'realtimeRuntime', 'realtimePeriod'] as const;
  for (const key of cpuKeys) assign(cpu, key, r.cpu?.[key]);
  if (r.cpu?.idle != null) cpu.idle = r.cpu.idle;
  if (r.cpu?.burst != null) cpu.burst = r.cpu.burst;
  if ((r.cpu?.cpus ?? '') !== '') cpu.cpus = r.cpu?.cpus;
  if ((r.cpu?.mems ?? '') !== '') cpu.mems = r.cpu?.mems;

  if (Object.keys(memory).length > 0) out.memory = memory;
  if (Object.keys(cpu).length > 0) out.cpu = cpu;
  if ((r.blockIO?.weight ?? 0) !== 0) out.blockIO = { weight: r.blockIO?.weight };
  if ((r.pids?.limit ?? 0) !== 0) out.pids = { limit: r.pids?.limit as number };
  if (r.unified != null && Object.keys(r.unified).length > 0) out.unified = { ...r.unified };
  return out;
}

/** Settings of a request that `update` ignores, by name, for a warning. */
export function ignoredSettings(r: LinuxResources): string[] {
  const ignored: string[] = [];
  if ((r.memory?.kernel ?? 0) !== 0) ignored.push('memory.kernel');
  if ((r.memory?.kernelTCP ?? 0) !== 0) ignored.push('memory.kernelTCP');
  return ignored;
}

/**
 * What to write to the cgroup: the update, completed from the current resources where the
 * kernel needs a pair. cgroup v2 writes quota and period together (cpu.max) and computes
 * swap from memory+swap minus memory, so a lone quota keeps the recorded period and a lone
 * swap keeps the recorded memory limit.
 */
export function resourcesToApply(
  current: LinuxResources | undefined,
  update: LinuxResources,
): LinuxResources {
  const out = structuredClone(update);
  const cpu = out.cpu;
  if (cpu !== undefined) {
    if (cpu.quota !== undefined && cpu.period === undefined) {
      assign(cpu, 'period', current?.cpu?.period);
    }
    if (cpu.period !== undefined && cpu.quota === undefined) {
      assign(cpu, 'quota', current?.cpu?.quota);
    }
  }
  const memory = out.memory;
  if (memory?.swap !== undefined && memory.limit === undefined) {
    assign(memory, 'limit', current?.memory?.limit);
  }
  return out;
}

/** The recorded resources after an update: each given setting replaces the recorded one. */
export function mergeResources(
  current: LinuxResources | undefined,
  update: LinuxResources,
): LinuxResources {
  const merged: LinuxResources = structuredClone(current ?? {});
  if (update.memory !== undefined) merged.memory = { ...merged.memory, ...update.memory };
  if (update.cpu !== undefined) merged.cpu = { ...merged.cpu, ...update.cpu };
  if (update.blockIO !== undefined) merged.blockIO = { ...merged.blockIO, ...update.blockIO };
  if (update.pids !== undefined) merged.pids = { ...update.pids };
  if (update.unified !== undefined) merged.unified = { ...merged.unified, ...update.unified };
  return merged;
}

function assign<T extends object, K extends keyof T>(
  target: T,
  key: K,
  value: T[K] | undefined,
): void {
  // JSON may hold null where Go would leave a pointer nil: both mean "not given".
  if (value !== undefined && value !== null && value !== 0) target[key] = value;
}

function parseSize(flag: string, value: string): number {
  if (value === '-1') return -1;
  try {
    return parseRamInBytes(value);
  } catch (err) {
    throw new HakoError(`invalid value for ${flag}: ${(err as Error).message}`);
  }
}

function parseInteger(flag: string, value: string, signed: boolean): number {
  const pattern = signed ? /^[-+]?\d+$/ : /^\+?\d+$/;
  const n = Number(value);
  if (!pattern.test(value) || !Number.isSafeInteger(n)) {
    const kind = signed ? 'an integer' : 'a non-negative integer';
    throw new HakoError(`invalid value for ${flag}: "${value}" is not ${kind}`);
  }
  return n;
}

function checkNumbers(source: string, group: string, value: unknown, keys: string[]): void {
  checkFields(source, group, value, keys, 'an integer', (v) => Number.isInteger(v));
}

function checkStrings(source: string, group: string, value: unknown, keys: string[]): void {
  checkFields(source, group, value, keys, 'a string', (v) => typeof v === 'string');
}

/** `value` is absent or an object whose present `keys` pass `valid`. */
function checkFields(
  source: string,
  group: string,
  value: unknown,
  keys: string[],
  kind: string,
  valid: (v: unknown) => boolean,
): void {
  if (value === undefined || value === null) return;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new HakoError(`update: ${source}: ${group}: must be an object`);
  }
  const record = value as Record<string, unknown>;
  for (const key of keys) {
    const v = record[key];
    if (v !== undefined && v !== null && !valid(v)) {
      throw new HakoError(`update: ${source}: ${group}.${key}: must be ${kind}`);
    }
  }
}
