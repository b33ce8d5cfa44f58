import { execFile } from 'node:child_process';
import { closeSync, openSync, readFileSync, statSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { parse } from '@bytecodealliance/jco-transpile/wasm-tools';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { componentKey, defaultCacheDir } from '../../src/handlers/wasm/cache.js';
import {
  prepareComponent,
  prepareComponentDetailed,
  type ComponentOptions,
} from '../../src/handlers/wasm/component.js';
import { detectWasm } from '../../src/handlers/wasm/detect.js';
import { buildC, buildComponent, buildWat } from '../fixtures/wasm/build.js';

const repo = join(import.meta.dirname, '..', '..');
let dir = '';
let root = '';
let cacheDir = '';
const components: Record<string, Uint8Array> = {};

interface Result {
  status: number;
  stdout: string;
  stderr: string;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hako-wasm-component-'));
  cacheDir = join(dir, 'cache');
  components.wat = await readFile(await buildComponent(await buildWat(dir), dir, 'wat.wasm'));
  components.c = await readFile(await buildComponent(await buildC(dir), dir, 'c.wasm'));

  root = join(dir, 'root');
  await mkdir(root);
  await writeFile(join(root, 'greeting.txt'), 'file contents\n');
  await writeFile(join(dir, 'secret.txt'), 'SECRET\n');
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(bytes: Uint8Array, opts: Partial<ComponentOptions>): Promise<Result> {
  const out = join(dir, `out-${process.hrtime.bigint()}`);
  const stdout = openSync(`${out}.1`, 'w');
  const stderr = openSync(`${out}.2`, 'w');
  try {
    const runner = await prepareComponent(bytes, {
      args: ['/hello.wasm'],
      env: [],
      preopens: { '/': root },
      cacheDir,
      ...opts,
      stdout,
      stderr,
    });
    const status = await runner();
    const read = (n: number): string => readFileSync(`${out}.${n}`, 'utf8');
    return { status, stdout: read(1), stderr: read(2) };
  } finally {
    closeSync(stdout);
    closeSync(stderr);
  }
}

describe('the component fixtures', () => {
  it('are components made by jco new --wasi-command', () => {
    expect(detectWasm(components.wat as Uint8Array, '/wat.wasm')).toBe('component');
    expect(detectWasm(components.c as Uint8Array, '/c.wasm')).toBe('component');
  });
});

describe.each(['wat', 'c'])('prepareComponent (hello built from %s)', (kind) => {
  const bytes = (): Uint8Array => components[kind] as Uint8Array;

  it('prints its greeting, every argument with args[0] kept, and the env variable', async () => {
    const r = await run(bytes(), {
      args: ['/hello.wasm', 'one', 'two words'],
      env: ['PATH=/bin', 'HELLO=world=1'],
    });
    expect(r).toEqual({
      status: 0,
      stdout:
        'hello from wasm\narg: /hello.wasm\narg: one\narg: two words\nenv: HELLO=world=1\n',
      stderr: '',
    });
  }, 30_000);

  it('reports 1 for a non-zero proc_exit (the preview1 adapter keeps no code)', async () => {
    expect((await run(bytes(), { args: ['/hello.wasm', 'exit=7'] })).status).toBe(1);
    expect((await run(bytes(), { args: ['/hello.wasm', 'exit=0'] })).status).toBe(0);
  });

  it('reads a file through the preopened root and nothing outside it', async () => {
    const inside = await run(bytes(), { args: ['/hello.wasm', 'cat=/greeting.txt'] });
    expect(inside.status).toBe(0);
    expect(inside.stdout).toMatch(/\nfile contents\n$/);

    const outside = await run(bytes(), { args: ['/hello.wasm', 'cat=/../secret.txt'] });
    expect(outside.status).toBe(1);
    expect(outside.stdout + outside.stderr).not.toContain('SECRET');
    expect(outside.stderr).toMatch(/^cat: cannot open/);
  });

  it('copies the given stdin descriptor to stdout', async () => {
    const input = join(dir, 'input.txt');
    const text = `${'0123456789abcdef'.repeat(5000)}\nend\n`;
    await writeFile(input, text);
    const stdin = openSync(input, 'r');
    try {
      const r = await run(bytes(), { args: ['/hello.wasm', 'cat=-'], stdin });
      expect(r.status).toBe(0);
      expect(r.stdout.endsWith(`arg: cat=-\n${text}`)).toBe(true);
    } finally {
      closeSync(stdin);
    }
  });

  it('reports a trap on one stderr line with status 134', async () => {
    const r = await run(bytes(), { args: ['/hello.wasm', 'trap'] });
    expect(r.status).toBe(134);
    expect(r.stderr).toBe('wasm trap: wasm `unreachable` instruction executed\n');
  });
});

describe('the transpile cache', () => {
  it('transpiles once, then reuses the entry keyed by the sha256 of the bytes', async () => {
    const bytes = components.wat as Uint8Array;
    const own = join(dir, 'own-cache');
    const opts = { args: ['/hello.wasm'], env: [], preopens: {}, cacheDir: own };

    const first = await prepareComponentDetailed(bytes, opts);
    expect(first.transpiled.hit).toBe(false);
    expect(first.transpiled.dir).toBe(join(own, componentKey(bytes)));
    const before = statSync(join(first.transpiled.dir, 'manifest.json'));

    const second = await prepareComponentDetailed(bytes, opts);
    expect(second.transpiled.hit).toBe(true);
    const after = statSync(join(second.transpiled.dir, 'manifest.json'));
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
    // Nothing is left behind by the temporary directory the entry was written in.
    expect(await readdir(own)).toEqual([componentKey(bytes)]);
  }, 30_000);

  it('replaces an entry made by another transpiler version', async () => {
    const bytes = components.c as Uint8Array;
    const own = join(dir, 'stale-cache');
    const opts = { args: ['/hello.wasm'], env: [], preopens: {}, cacheDir: own };
    const first = await prepareComponentDetailed(bytes, opts);
    const manifest = join(first.transpiled.dir, 'manifest.json');
    const stale = JSON.parse(await readFile(manifest, 'utf8')) as Record<string, unknown>;
    await writeFile(manifest, JSON.stringify({ ...stale, transpiler: 'older' }));

    const second = await prepareComponentDetailed(bytes, opts);
    expect(second.transpiled.hit).toBe(false);
    expect(await readFile(manifest, 'utf8')).not.toContain('older');
    expect(await readdir(own)).toEqual([componentKey(bytes)]);
  }, 30_000);

  it('survives two runtimes transpiling the same component at once', async () => {
    const bytes = components.wat as Uint8Array;
    const own = join(dir, 'race-cache');
    const out = openSync(join(dir, 'race.txt'), 'w');
    try {
      const opts = { args: ['/hello.wasm', 'exit=0'], env: [], preopens: {}, cacheDir: own };
      const both = await Promise.all([
        prepareComponent(bytes, { ...opts, stdout: out }),
        prepareComponent(bytes, { ...opts, stdout: out }),
      ]);
      expect(await both[0]()).toBe(0);
      expect(await both[1]()).toBe(0);
    } finally {
      closeSync(out);
    }
    expect(await readdir(own)).toEqual([componentKey(bytes)]);
  }, 30_000);

  it('defaults to /var/cache/hako/wasm unless HAKO_WASM_CACHE is set', () => {
    expect(defaultCacheDir({})).toBe('/var/cache/hako/wasm');
    expect(defaultCacheDir({ HAKO_WASM_CACHE: '' })).toBe('/var/cache/hako/wasm');
    expect(defaultCacheDir({ HAKO_WASM_CACHE: '/tmp/c' })).toBe('/tmp/c');
  });
});

describe('components that are not WASI commands', () => {
  const options = (): ComponentOptions => ({ args: ['/x.wasm'], env: [], preopens: {}, cacheDir });

  it('rejects a component without wasi:cli/run', async () => {
    const bytes = await parse('(component)');
    const err = await prepareComponent(bytes, options()).catch((e: Error) => e);
    expect((err as Error).message).toBe(
      '/x.wasm: component does not export wasi:cli/run (not a WASI command; it exports nothing)',
    );
  });

  it('rejects imports that are not WASI', async () => {
    const bytes = await parse(commandWat(1, true));
    await expect(prepareComponent(bytes, options())).rejects.toThrow(
      '/x.wasm: component imports my:pkg/foo, which is not WASI',
    );
  });

  it('maps the result of run: ok to 0, err to 1', async () => {
    expect(await (await prepareComponent(await parse(commandWat(0)), options()))()).toBe(0);
    expect(await (await prepareComponent(await parse(commandWat(1)), options()))()).toBe(1);
  });
});

describe('after prepareComponent', () => {
  // The engine prepares before pivot_root and runs after it, when the host's files are gone.
  // Here a fresh Node process loads the library and the packages from copies, prepares, moves
  // the copies and the cache away, and then runs the guest.
  it('runs with node_modules and the cache entry gone', async () => {
    const iso = join(dir, 'iso');
    const modules = join(iso, 'node_modules', '@bytecodealliance');
    for (const name of ['preview2-shim', 'jco-transpile']) {
      await cp(join(repo, 'node_modules', '@bytecodealliance', name), join(modules, name), {
        recursive: true,
      });
    }
    await build({
      entryPoints: [join(repo, 'src/handlers/wasm/component.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      external: ['@bytecodealliance/*'],
      outfile: join(iso, 'component.mjs'),
      logLevel: 'silent',
    });
    const component = join(dir, 'wat.wasm');
    await writeFile(
      join(iso, 'main.mjs'),
      `import { prepareComponent } from './component.mjs';
       import { readFileSync, renameSync } from 'node:fs';
       const opts = { args: ['/h.wasm', 'cat=/greeting.txt', 'exit=3'], env: [],
         preopens: { '/': ${JSON.stringify(root)} }, cacheDir: ${JSON.stringify(cacheDir)} };
       const run = await prepareComponent(readFileSync(${JSON.stringify(component)}), opts);
       renameSync(${JSON.stringify(join(iso, 'node_modules'))},
         ${JSON.stringify(join(iso, 'gone'))});
       renameSync(${JSON.stringify(cacheDir)}, ${JSON.stringify(`${cacheDir}-gone`)});
       process.exitCode = await run();`,
    );
    const child = await promisify(execFile)(process.execPath, [join(iso, 'main.mjs')]).catch(
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    await rm(`${cacheDir}-gone`, { recursive: true, force: true });
    expect(child).toMatchObject({ code: 1, stderr: '' });
    const { stdout } = child as { stdout: string };
    expect(stdout).toMatch(/^hello from wasm\n[^]*\nfile contents\n$/);
  }, 60_000);
});

/**
 * A hand-written command whose run returns `status` (0: ok, 1: err), optionally importing an
 * interface that is not WASI.
 */
function commandWat(status: number, foreignImport = false): string {
  const imports = foreignImport
    ? `(import "my:pkg/foo" (instance $foo (export "f" (func))))
       (alias export $foo "f" (func $f))
       (core func $lf (canon lower (func $f)))
       (core instance $h (export "f" (func $lf)))`
    : '(core instance $h)';
  const hostImport = foreignImport ? '(import "host" "f" (func))' : '';
  return `(component
    ${imports}
    (core module $m ${hostImport} (func (export "run") (result i32) i32.const ${status}))
    (core instance $i (instantiate $m (with "host" (instance $h))))
    (func $run (result (result)) (canon lift (core func $i "run")))
    (instance $r (export "run" (func $run)))
    (export "wasi:cli/run@0.2.0" (instance $r)))`;
}
