// BENCH_HAKO_BASELINE: a second hako build measured as one more runtime, interleaved with the
// others round by round. On a shared, noisy machine two runs minutes apart differ by more than
// most optimisations gain; two builds timed in the same rounds see the same noise.
import { existsSync, realpathSync } from 'node:fs';
import { dirname } from 'node:path';

import { gitHead } from './machine.mjs';

/** The runtime name, also used in container ids, result keys and the chart's colours. */
export const BASELINE = 'baseline';

/** The column's title: which build the baseline is, when its launcher is in a git checkout. */
export function baselineLabel(head) {
  if (!head) return 'hako (baseline)';
  return `hako (baseline ${head.commit}${head.modified ? ', modified' : ''})`;
}

/**
 * { bin, label, commit } of the launcher at `path` (a symlink such as /usr/local/bin/hako is
 * followed to the checkout it points into). Throws when there is no such file.
 */
export function describeBaseline(path) {
  if (!existsSync(path)) throw new Error(`BENCH_HAKO_BASELINE: ${path}: no such file`);
  const bin = realpathSync(path);
  const head = gitHead(dirname(bin));
  return { bin, label: baselineLabel(head), head };
}
