/**
 * `mkdir -p`. Node's own (`mkdirSync(dir, { recursive: true })`, and the async one) never
 * returns when mkdir answers ENOENT for a directory whose parent exists, as it does anywhere
 * in /proc: `hako --root /proc/x create` spun at full CPU instead of failing. This one makes
 * each missing parent once and lets the last mkdir's error through.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export function mkdirAll(dir: string, mode: number): void {
  try {
    mkdirSync(dir, { mode });
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // Something exists there: a directory is done, anything else fails its first use.
    if (code === 'EEXIST') return;
    if (code !== 'ENOENT' || dirname(dir) === dir) throw err;
  }
  mkdirAll(dirname(dir), mode);
  try {
    mkdirSync(dir, { mode });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}
