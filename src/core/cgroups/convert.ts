import { HakoError } from '../errors.js';

/*
 * Conversions from the runtime-spec's v1-shaped resources to cgroup v2 values, the ones crun
 * documents (crun(1), "CGROUP v2") and runc applies, so a config behaves the same under all
 * three runtimes.
 */

const SHARES_MIN = 2;
const SHARES_MAX = 262144;

/** cpu.shares [2, 262144] → cpu.weight [1, 10000], linearly; 0 (unset) stays 0. */
export function cpuSharesToWeight(shares: number): number {
  if (shares === 0) return 0;
  const clamped = Math.min(Math.max(shares, SHARES_MIN), SHARES_MAX);
  return 1 + Math.floor(((clamped - SHARES_MIN) * 9999) / (SHARES_MAX - SHARES_MIN));
}

/** blkio weight [10, 1000] → io.weight [1, 10000], linearly. */
export function blkioWeightToIoWeight(weight: number): number {
  const clamped = Math.min(Math.max(weight, 10), 1000);
  return 1 + Math.floor(((clamped - 10) * 9999) / 990);
}

/**
 * The value for memory.swap.max, or undefined to leave it alone. The spec's swap is
 * memory+swap (v1's memsw); v2 limits swap alone, so the memory limit is subtracted.
 */
export function memorySwapToV2(
  swap: number | undefined,
  limit: number | undefined,
): string | undefined {
  const memory = limit ?? 0;
  const memsw = swap ?? 0;

  // An unlimited memory with no swap setting means "both unlimited", as on v1.
  if (memory === -1 && memsw === 0) return 'max';
  if (memsw === 0) return undefined;
  if (memsw === -1) return 'max';
  if (memsw < -1) throw new HakoError(`memory.swap: invalid value ${memsw}`);
  if (memory === 0 || memory === -1) {
    throw new HakoError('memory.swap: a swap limit needs a memory limit (memory.limit)');
  }
  if (memsw < memory) {
    throw new HakoError(
      `memory.swap: ${memsw} is below memory.limit ${memory}; swap counts memory+swap`,
    );
  }
  return String(memsw - memory);
}

/** cpu.max is "quota period" written together; quota -1 (or unset with a period) is "max". */
export function cpuMax(quota: number | undefined, period: number | undefined): string | undefined {
  const q = quota ?? 0;
  const p = period ?? 0;
  if (q === 0 && p === 0) return undefined;
  const quotaText = q > 0 ? String(q) : 'max';
  return p > 0 ? `${quotaText} ${p}` : quotaText;
}

/** A memory/pids style limit for v2: negative is "max", 0 or unset leaves the file alone. */
export function v2Limit(value: number | undefined): string | undefined {
  if (value === undefined || value === 0) return undefined;
  return value < 0 ? 'max' : String(value);
}

/** A v1 device rule in the kernel's syntax: "c 1:3 rwm", '*' for a wildcard number. */
export function deviceRule(
  type: string | undefined,
  major?: number | null,
  minor?: number | null,
  access?: string,
): string {
  const num = (n: number | null | undefined): string =>
    n === undefined || n === null || n < 0 ? '*' : String(n);
  return `${type ?? 'a'} ${num(major)}:${num(minor)} ${access ?? 'rwm'}`;
}
