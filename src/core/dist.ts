/**
 * Where hako's own built files are (dist/: the agent, the engine, the signal library, the
 * packages the bundles leave external), found at run time from where the running program is.
 *
 * The CLI normally runs from a start-up snapshot, and everything its modules computed while
 * the snapshot was built is frozen to the build directory, `import.meta.url` included (the
 * bundle defines it from `__filename` once, at load). A copied or moved tree would then run
 * the old tree's agent and engine, or fail once that tree is gone. What is known only at run
 * time is the blob node was started with (`--snapshot-blob <dist>/hako.blob`), so that names
 * dist/ when it is there; without it the module's own file does (dist/hako.cjs, engine.cjs or
 * an ES module chunk, all in dist/, or this source file under src/core/ in the tests).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';

import { HakoError } from './errors.js';

let cachedDir: string | undefined;

/** The absolute path of hako's dist directory. */
export function distDir(): string {
  if (cachedDir) return cachedDir;
  // A directory found now would be frozen into the snapshot: nothing may ask for it then.
  if (v8.startupSnapshot?.isBuildingSnapshot()) {
    throw new Error('hako: dist/ looked up while the start-up snapshot is built');
  }
  // Relative to the cwd node started in: resolved on the first call, before any command
  // changes directory (only `start` does, and never needs these files).
  const blob = snapshotBlob(process.execArgv);
  if (blob !== undefined) return (cachedDir = dirname(resolve(blob)));
  const self = fileURLToPath(import.meta.url);
  if (self.endsWith('.ts')) return (cachedDir = join(dirname(self), '..', '..', 'dist'));
  return (cachedDir = dirname(self));
}

/** The value of node's `--snapshot-blob` in its own arguments, if it was given one. */
export function snapshotBlob(execArgv: readonly string[]): string | undefined {
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    if (arg === '--snapshot-blob') return execArgv[i + 1];
    if (arg.startsWith('--snapshot-blob=')) return arg.slice('--snapshot-blob='.length);
  }
  return undefined;
}

/** A built file of dist/ by name; a missing one is a build that did not finish. */
export function distFile(name: string): string {
  const path = join(distDir(), name);
  if (!existsSync(path)) {
    throw new HakoError(`${path} not found: run \`npm run build\` in the hako directory`);
  }
  return path;
}

let cachedRequire: NodeRequire | undefined;

/**
 * A require() that resolves packages (koffi, jco) from dist/ as the bundles would from their
 * own file: the node_modules above the tree hako runs from, not above the one it was built in.
 */
export function distRequire(): NodeRequire {
  cachedRequire ??= createRequire(join(distDir(), 'hako.cjs'));
  return cachedRequire;
}
