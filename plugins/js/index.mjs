/**
 * hako plugin `js`: runs a container's JavaScript entrypoint (process.args[0], a .js, .mjs or
 * .cjs file inside the image) with hako's own Node, inside the sandbox. The image needs no
 * node binary.
 *
 * The script sees process.argv = [node, <args[0] as a container path>, ...args[1..]],
 * process.env = the config's process.env, process.cwd() = process.cwd. The exit status is
 * the one it passes to process.exit, else process.exitCode, else 0; an uncaught error is
 * printed to stderr and exits 1. The script is the container's pid 1: it gets a signal from
 * `hako kill` only if it handles it (process.on('SIGTERM', ...)). process.execPath names
 * hako's node on the host, which is not in the container: a script cannot spawn it.
 */
import { existsSync } from 'node:fs';
import { posix } from 'node:path';
import { pathToFileURL } from 'node:url';

const SCRIPT = /\.(mjs|cjs|js)$/;

/** @type {import('hako/handler-api').Handler<string>} */
export default {
  name: 'js',

  canHandle(spec) {
    return SCRIPT.test(spec.process?.args?.[0] ?? '');
  },

  validate(ctx) {
    const proc = ctx.spec.process;
    if (proc?.terminal) throw new Error('process.terminal is not supported');
    const script = posix.resolve(proc?.cwd ?? '/', proc?.args?.[0] ?? '');
    // Before pivot_root the image is beneath ctx.root; the file is read after it.
    if (!existsSync(posix.join(ctx.root, script))) {
      throw new Error(`${script}: no such file in the container`);
    }
  },

  prepare(ctx) {
    const proc = ctx.spec.process;
    return posix.resolve(proc?.cwd ?? '/', proc?.args?.[0] ?? '');
  },

  async run(ctx, script) {
    const proc = ctx.spec.process ?? { args: [], cwd: '/' };
    process.chdir(proc.cwd ?? '/');
    for (const key of Object.keys(process.env)) delete process.env[key];
    for (const entry of proc.env ?? []) {
      const eq = entry.indexOf('=');
      if (eq > 0) process.env[entry.slice(0, eq)] = entry.slice(eq + 1);
    }
    process.argv = [process.execPath, script, ...(proc.args ?? []).slice(1)];
    process.exitCode = undefined;

    // The script is done when nothing is left for the event loop to do.
    const drained = new Promise((resolve) => process.once('beforeExit', resolve));
    try {
      await import(pathToFileURL(script).href);
    } catch (err) {
      process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : err}\n`);
      return 1;
    }
    await drained;
    return Number(process.exitCode ?? 0);
  },
};
