// Builds hako's native programs (native/*.c, native/launcher/*.c) with the system C compiler.
// Plain JavaScript so that it runs from `npm install` before anything is compiled. Usage: node native/build.mjs <outDir>
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SOURCE_DIR = fileURLToPath(new URL('.', import.meta.url));
const FLAGS = ['-O2', '-Wall', '-Wextra'];
const NO_COMPILER =
  'hako needs a C compiler to build its agent: install gcc (apt-get install gcc) or set CC';

/**
 * Compiles hako's two programs into `outDir`, creating it if needed: every native/*.c into
 * `hako-agent`, and every native/launcher/*.c into `hako-launcher` (what bin/hako runs).
 *
 * Uses `$CC` (which may carry arguments, e.g. `ccache gcc`) or `cc`. Each program is linked
 * statically when the C library allows it on this machine, so that it starts without loading
 * any shared library; otherwise it is linked dynamically. A binary is written under a
 * temporary name and renamed into place, so a program that is running is never overwritten.
 *
 * @param {string} outDir directory that receives the executables
 * @returns {void}
 * @throws {Error} when no C compiler is found, or when the source does not compile
 */
export function buildNative(outDir) {
  const [cc, ...ccArgs] = (process.env.CC ?? '').trim().split(/\s+/).filter(Boolean);
  const compiler = { cc: cc ?? 'cc', ccArgs };
  const probe = spawnSync(compiler.cc, [...ccArgs, '--version'], { stdio: 'ignore' });
  if (probe.error) throw new Error(NO_COMPILER);

  mkdirSync(outDir, { recursive: true });
  buildProgram(compiler, SOURCE_DIR, join(outDir, 'hako-agent'));
  buildProgram(compiler, join(SOURCE_DIR, 'launcher'), join(outDir, 'hako-launcher'));
}

/** Compiles the .c files of one directory into `target`. */
function buildProgram({ cc, ccArgs }, sourceDir, target) {
  const temporary = `${target}.${process.pid}.tmp`;
  // Sorted, so that the compiler sees the same command line on every machine.
  const sources = readdirSync(sourceDir)
    .filter((name) => name.endsWith('.c'))
    .sort()
    .map((name) => join(sourceDir, name));
  const compile = (extra) =>
    spawnSync(cc, [...ccArgs, ...FLAGS, ...extra, '-o', temporary, ...sources], {
      encoding: 'utf8',
    });

  // Static first: it saves the dynamic loader's work at every start. Distributions without a
  // static libc (or with CC set to a cross compiler) fail here; fall back quietly.
  let result = compile(['-static']);
  if (result.status !== 0) result = compile([]);
  if (result.status !== 0) {
    rmSync(temporary, { force: true });
    const detail = (result.stderr || result.error?.message || 'no output').trim();
    throw new Error(`${cc}: cannot compile ${join(sourceDir, '*.c')}: ${detail}`);
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
    buildNative(outDir);
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  }
}
