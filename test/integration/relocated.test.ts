/**
 * A copied or moved hako runs its own files. The CLI starts from a V8 snapshot built in the
 * tree it was built in, and a path computed then would send a copy (an npm install, an image
 * built in one directory and run in another, the benchmark's private copy) back to the
 * original's agent and engine. The copy is made as the benchmark makes it; the original stays
 * in place for everyone else, so what is checked is which files the copy's containers actually
 * run, and that the copy works where the original's dist/ is hidden by a private mount.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// @ts-expect-error: a plain JS module without types.
import { snapshotHako } from '../../bench/lib/snapshot.mjs';
import { buildWat } from '../fixtures/wasm/build.js';
import { HAKO, REPO, Scratch } from './helpers.js';
import { cmdline, hakoDetached, stateOf } from './lifecycle-helpers.js';
import { wasmBundle } from './wasm-helpers.js';

let scratch: Scratch;
let launcher: string;
let dist: string;

beforeAll(() => {
  scratch = new Scratch();
  launcher = snapshotHako(HAKO, scratch.dir, 'moved') as string;
  dist = join(scratch.dir, 'moved', 'dist');
});
afterAll(() => scratch.cleanup());

/** `create` with the copy, then the waiting init's pid; the caller deletes the container. */
function createWithCopy(bundle: string): { id: string; pid: number } {
  const id = scratch.id('moved');
  const made = hakoDetached(scratch, ['create', '--bundle', bundle, id], { launcher });
  expect(made.status, made.stderr).toBe(0);
  return { id, pid: stateOf(scratch, id).pid as number };
}

describe('a copy of bin/ and dist/', () => {
  it('starts its own agent for a Linux container', () => {
    const bundle = scratch.bundle((spec) => {
      spec.process!.args = ['sleep', '100'];
    });
    const { id, pid } = createWithCopy(bundle);

    // The agent execs itself from a sealed copy, keeping the argv it was started with.
    const agent = cmdline(pid)[0];
    expect(scratch.hako(['delete', '--force', id]).status).toBe(0);
    expect(agent).toBe(join(dist, 'hako-agent'));
  });

  it('runs its own engine and signal library for a wasm container', async () => {
    const module = await buildWat(scratch.dir);
    const bundle = wasmBundle(scratch, { 'hello.wasm': module }, ['/hello.wasm']);
    const { id, pid } = createWithCopy(bundle);

    const argv = cmdline(pid);
    const libraries = readFileSync(`/proc/${pid}/maps`, 'utf8');
    expect(scratch.hako(['delete', '--force', id]).status).toBe(0);
    expect(argv).toContain(join(dist, 'engine.cjs'));
    expect(libraries).toContain(join(dist, 'hako-signals.so'));
    expect(libraries).not.toContain(join(REPO, 'dist'));
  });

  it('describes plugins with its own engine', () => {
    const plugins = join(scratch.dir, 'plugins');
    mkdirSync(plugins);
    // The plugin notes which engine imported it: `node <engine> --describe-plugin ...`.
    writeFileSync(join(plugins, 'where.mjs'), [
      "import { writeFileSync } from 'node:fs';",
      "writeFileSync(new URL('./engine.txt', import.meta.url), process.argv[1]);",
      "export default { name: 'where', run: async () => 0 };",
    ].join('\n'));
    const env = { ...process.env, HAKO_CONFIG: join(scratch.dir, 'no-config.json') };
    const listed = hakoDetached(scratch, ['--plugin-path', plugins, 'handlers'],
      { launcher, env });

    expect(listed.status, listed.stderr).toBe(0);
    expect(listed.stdout).toContain('where');
    expect(readFileSync(join(plugins, 'engine.txt'), 'utf8')).toBe(join(dist, 'engine.cjs'));
  });

  it('runs containers where the original dist/ cannot be reached', async () => {
    const linux = scratch.bundle((spec) => {
      spec.process!.args = ['echo', 'linux ok'];
    });
    const ranLinux = runWithOriginalHidden(linux);
    expect(ranLinux.stderr).toBe('');
    expect(ranLinux.stdout).toBe('linux ok\n');
    expect(ranLinux.status).toBe(0);

    const wasm = wasmBundle(scratch, { 'hello.wasm': await buildWat(scratch.dir) },
      ['/hello.wasm']);
    const ranWasm = runWithOriginalHidden(wasm);
    expect(ranWasm.stderr).toBe('');
    expect(ranWasm.stdout).toContain('hello from wasm');
    expect(ranWasm.status).toBe(0);
  });
});

/**
 * `run` with the copy in a mount namespace of its own where a tmpfs covers the original
 * dist/, so the tree stays whole for every other process.
 */
function runWithOriginalHidden(bundle: string) {
  const hide = 'mount -t tmpfs hidden "$0" && exec "$@"';
  return spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', hide,
    join(REPO, 'dist'), launcher, '--root', scratch.root, 'run', '--bundle', bundle,
    scratch.id('hidden')], { encoding: 'utf8', timeout: 30_000, stdio: 'pipe' });
}
