// Builds hako's native parts with the system C compiler: the agent (native/*.c), the launcher
// bin/hako runs (native/launcher/*.c) and the engine's signal library (native/engine/signals.c).
// Plain JavaScript so that it runs from `npm install` before anything is compiled.
// Usage: node native/build.mjs <outDir>
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SOURCE_DIR = fileURLToPath(new URL('.', import.meta.url));
const FLAGS = ['-O2', '-Wall', '-Wextra'];
const NO_COMPILER =
  'hako needs a C compiler to build its agent: install gcc (apt-get install gcc) or set CC';

/**
 * Compiles every native/*.c into `<outDir>/hako-agent` and every native/launcher/*.c into
 * `<outDir>/hako-launcher`, creating `outDir` if needed.
 *
 * Both are linked statically when the C library allows it on this machine, so that they start
 * without loading any shared library; otherwise they are linked dynamically.
 *
 * @param {string} outDir directory that receives the executables
 * @returns {void}
 * @throws {Error} when no C compiler is found, or when the source does not compile
 */
export function buildAgent(outDir) {
  const programs = [[SOURCE_DIR, 'hako-agent'], [join(SOURCE_DIR, 'launcher'), 'hako-launcher']];
  for (const [dir, name] of programs) {
    // Sorted, so that the compiler sees the same command line on every machine.
    const sources = readdirSync(dir)
      .filter((file) => file.endsWith('.c'))
      .sort()
      .map((file) => join(dir, file));
    // Static first: it saves the dynamic loader's work at every start. Distributions without
    // a static libc (or with CC set to a cross compiler) fail here; fall back quietly.
    compileInto(join(outDir, name), sources, [['-static'], []], join(dir, '*.c'));
  }
}

/**
 * Compiles native/engine/signals.c into `<outDir>/hako-signals.so`, the shared library the
 * Node engine loads with koffi (src/core/sys/signals.ts).
 *
 * @param {string} outDir directory that receives `hako-signals.so`
 * @returns {void}
 * @throws {Error} when no C compiler is found, or when the source does not compile
 */
export function buildSignalLibrary(outDir) {
  const source = join(SOURCE_DIR, 'engine', 'signals.c');
  compileInto(join(outDir, 'hako-signals.so'), [source], [['-shared', '-fPIC']], source);
}

/**
 * Runs `$CC` (which may carry arguments, e.g. `ccache gcc`) or `cc` with each set of extra
 * flags in turn until one succeeds. The output is written under a temporary name and renamed
 * into place, so a file that is in use (a running agent, a loaded library) is never
 * overwritten.
 */
function compileInto(target, sources, attempts, what) {
  const [cc, ...ccArgs] = (process.env.CC ?? '').trim().split(/\s+/).filter(Boolean);
  const compiler = cc ?? 'cc';
  const probe = spawnSync(compiler, [...ccArgs, '--version'], { stdio: 'ignore' });
  if (probe.error) throw new Error(NO_COMPILER);

  mkdirSync(dirname(target), { recursive: true });
  const temporary = `${target}.${process.pid}.tmp`;
  let result;
  for (const extra of attempts) {
    result = spawnSync(compiler, [...ccArgs, ...FLAGS, ...extra, '-o', temporary, ...sources], {
      encoding: 'utf8',
    });
    if (result.status === 0) break;
  }
  if (result.status !== 0) {
    rmSync(temporary, { force: true });
    const detail = (result.stderr || result.error?.message || 'no output').trim();
    throw new Error(`${compiler}: cannot compile ${what}: ${detail}`);
  }
  renameSync(temporary, target);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outDir = process.argv[2];
  if (!outDir) {
    console.error('usage: node native/build.mjs <outDir>');
    process.exit(2);
  }
  try {
    buildAgent(outDir);
    buildSignalLibrary(outDir);
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  }
}
