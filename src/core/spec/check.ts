// Small typed readers for validating parsed JSON. Each takes the field path used in the error
// ("process.args", "linux.namespaces[2].type") and throws one line naming file, path and cause.

import { HakoError } from '../errors.js';

export type JsonObject = Record<string, unknown>;

export const UINT32_MAX = 0xffffffff;
/** JSON.parse turns uint64 values into doubles; 2^64 is where 2^64-1 lands. */
export const UINT64_LIMIT = 2 ** 64;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A path segment for a map key: annotations["run.oci.handler"]. */
export function keyPath(base: string, key: string): string {
  return `${base}[${JSON.stringify(key)}]`;
}

export class Checker {
  constructor(readonly where: string) {}

  fail(path: string, message: string): never {
    throw new HakoError(path ? `${this.where}: ${path}: ${message}` : `${this.where}: ${message}`);
  }

  object(path: string, value: unknown): JsonObject {
    if (value === undefined) this.fail(path, 'is required');
    if (!isJsonObject(value)) this.fail(path, 'must be an object');
    return value;
  }

  optObject(path: string, value: unknown): JsonObject | undefined {
    return value === undefined ? undefined : this.object(path, value);
  }

  string(path: string, value: unknown): string {
    if (value === undefined) this.fail(path, 'is required');
    if (typeof value !== 'string') this.fail(path, 'must be a string');
    return value;
  }

  optString(path: string, value: unknown): string | undefined {
    return value === undefined ? undefined : this.string(path, value);
  }

  nonEmptyString(path: string, value: unknown): string {
    if (typeof value !== 'string' || value === '') this.fail(path, 'must be a non-empty string');
    return value;
  }

  optBoolean(path: string, value: unknown): boolean | undefined {
    if (value !== undefined && typeof value !== 'boolean') this.fail(path, 'must be a boolean');
    return value;
  }

  boolean(path: string, value: unknown): boolean {
    if (value === undefined) this.fail(path, 'is required');
    return this.optBoolean(path, value) as boolean;
  }

  integer(path: string, value: unknown, min: number, max: number): number {
    if (value === undefined) this.fail(path, 'is required');
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.fail(path, `must be ${describeRange(min, max)}`);
    }
    return value;
  }

  optInteger(path: string, value: unknown, min: number, max: number): number | undefined {
    return value === undefined ? undefined : this.integer(path, value, min, max);
  }

  /** An unsigned 32-bit integer: uids, gids, mapping ranges. */
  uint32(path: string, value: unknown): number {
    return this.integer(path, value, 0, UINT32_MAX);
  }

  optUint32(path: string, value: unknown): number | undefined {
    return value === undefined ? undefined : this.uint32(path, value);
  }

  /** An int64 or uint64 field; JSON numbers past 2^53 are already rounded by JSON.parse. */
  optInt64(path: string, value: unknown): number | undefined {
    return this.optInteger(path, value, -(2 ** 63), UINT64_LIMIT);
  }

  array(path: string, value: unknown): unknown[] {
    if (value === undefined) this.fail(path, 'is required');
    if (!Array.isArray(value)) this.fail(path, 'must be an array');
    return value;
  }

  optArray(path: string, value: unknown): unknown[] | undefined {
    return value === undefined ? undefined : this.array(path, value);
  }

  stringArray(path: string, value: unknown): string[] {
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
      this.fail(path, 'must be an array of strings');
    }
    return value as string[];
  }

  optStringArray(path: string, value: unknown): string[] | undefined {
    return value === undefined ? undefined : this.stringArray(path, value);
  }

  absolutePath(path: string, value: unknown): string {
    const s = this.nonEmptyString(path, value);
    if (!s.startsWith('/')) this.fail(path, `must be an absolute path, got ${JSON.stringify(s)}`);
    return s;
  }

  absolutePaths(path: string, value: unknown): string[] | undefined {
    const list = this.optArray(path, value);
    list?.forEach((item, i) => this.absolutePath(`${path}[${i}]`, item));
    return list as string[] | undefined;
  }

  /** A JSON object whose values are all strings (annotations, sysctl, unified). */
  stringMap(path: string, value: unknown): Record<string, string> | undefined {
    const map = this.optObject(path, value);
    if (!map) return undefined;
    for (const [key, v] of Object.entries(map)) {
      if (typeof v !== 'string') this.fail(keyPath(path, key), 'must be a string');
    }
    return map as Record<string, string>;
  }

  oneOf<T extends string>(path: string, value: unknown, allowed: readonly T[], what: string): T {
    const s = this.string(path, value);
    if (!(allowed as readonly string[]).includes(s)) this.fail(path, `unknown ${what} "${s}"`);
    return s as T;
  }
}

/** 64-bit bounds print as rounded doubles, so they are described in words instead. */
function describeRange(min: number, max: number): string {
  if (max < 2 ** 53) return `an integer between ${min} and ${max}`;
  return min === 0 ? 'a non-negative integer' : 'an integer';
}

/**
 * A deep copy of parsed JSON without the object members whose value is null. Go decoders (and
 * so runc) read `"linux": null` as an absent field; dropping them keeps `?.` checks honest.
 * Nulls inside arrays are kept so that validation reports them.
 */
export function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (!isJsonObject(value)) return value;
  // fromEntries defines own properties, so a "__proto__" key stays data, not a prototype.
  return Object.fromEntries(
    Object.entries(value).filter(([, v]) => v !== null).map(([k, v]) => [k, withoutNulls(v)]),
  );
}
