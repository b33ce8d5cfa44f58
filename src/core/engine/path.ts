/** Where the engine's entry is: dist/engine.cjs, next to the bundled CLI or in the tree. */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { HakoError } from '../errors.js';

let cachedEngine: string | undefined;

export function enginePath(): string {
  if (cachedEngine) return cachedEngine;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    for (const candidate of [join(dir, 'engine.cjs'), join(dir, 'dist', 'engine.cjs')]) {
      if (existsSync(candidate)) return (cachedEngine = candidate);
    }
    dir = dirname(dir);
  }
  throw new HakoError('engine.cjs not found: run `npm run build` in the hako directory');
}
