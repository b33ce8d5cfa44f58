/** Where the engine's entry is: dist/engine.cjs of the tree hako runs from. */
import { distFile } from '../dist.js';

let cachedEngine: string | undefined;

export function enginePath(): string {
  cachedEngine ??= distFile('engine.cjs');
  return cachedEngine;
}
