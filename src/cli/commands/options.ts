import { HakoError } from '../../core/errors.js';

/** A non-negative integer flag value, with the flag named when it is not one. */
export function parseCount(flag: string, value: string): number {
  if (!/^\d+$/.test(value)) throw new HakoError(`${flag}: invalid value "${value}"`);
  return Number(value);
}
