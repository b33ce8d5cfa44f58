/**
 * Durations as Go's time.ParseDuration reads them, since runc's `--interval` is a Go duration
 * flag and callers pass Go syntax: "5s", "1m30s", "1.5h", "250ms", "-2us", "0".
 */
import { HakoError } from '../errors.js';

const NANOS_PER_UNIT: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  'µs': 1e3, // U+00B5 MICRO SIGN
  'μs': 1e3, // U+03BC GREEK SMALL LETTER MU
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Nanoseconds; Go's error wording ("time: invalid duration", "missing unit"). */
export function parseGoDuration(text: string): number {
  const quoted = JSON.stringify(text);
  let rest = text;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    sign = rest.startsWith('-') ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') throw new HakoError(`time: invalid duration ${quoted}`);

  let total = 0;
  while (rest !== '') {
    // Go accepts "1.", ".5" and "1.5", but not a lone "." with no digits at all.
    const number = /^(\d*)(?:\.(\d*))?/.exec(rest)?.[0] ?? '';
    if (number === '' || number === '.') throw new HakoError(`time: invalid duration ${quoted}`);
    rest = rest.slice(number.length);

    const unit = /^[^\d.]*/.exec(rest)?.[0] ?? '';
    if (unit === '') throw new HakoError(`time: missing unit in duration ${quoted}`);
    const scale = NANOS_PER_UNIT[unit];
    if (scale === undefined) {
      throw new HakoError(`time: unknown unit ${JSON.stringify(unit)} in duration ${quoted}`);
    }
    rest = rest.slice(unit.length);
    total += Number(number.endsWith('.') ? number.slice(0, -1) : number) * scale;
  }
  // Go counts in int64 nanoseconds: about 292 years at most.
  if (total > 2 ** 63 - 1) throw new HakoError(`time: invalid duration ${quoted}`);
  return sign * Math.round(total);
}
