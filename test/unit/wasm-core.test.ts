import { execFile } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  prepareCoreModule,
  runCoreModule,
  TRAP_STATUS,
  type WasiOptions,
} from '../../src/handlers/wasm/core.js';
import { compileWat } from '../../src/handlers/wasm/wat.js';
import { buildC, buildWat } from '../fixtures/wasm/build.js';

let dir = '';
let root = '';
const modules: Record<string, Uint8Array> = {};

interface Result {
  status: number;
  stdout: string;
  stderr: string;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hako-wasm-core-'));
  modules.wat = await readFile(await buildWat(dir));
  modules.c = await readFile(await buildC(dir));

  // The guest's root: one file inside, a secret beside it, and links that point out.
  root = join(dir, 'root');
  await mkdir(root);
  await writeFile(join(root, 'greeting.txt'), 'file contents\n');
  await writeFile(join(dir, 'secret.txt'), 'SECRET\n');
  await symlink(join(dir, 'secret.txt'), join(root, 'abs-link'));
  await symlink('../secret.txt', join(root, 'rel-link'));
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(bytes: Uint8Array, opts: Partial<WasiOptions>): Promise<Result> {
  const out = join(dir, `out-${process.hrtime.bigint()}`);
  const stdout = openSync(`${out}.1`, 'w');
  const stderr = openSync(`${out}.2`, 'w');
  try {
    const status = await runCoreModule(bytes, {
      args: ['/hello.wasm'],
      env: [],
      preopens: { '/': root },
      ...opts,
      stdout,
      stderr,
    });
    return {
      status,
      stdout: readFileSync(`${out}.1`, 'utf8'),
      stderr: readFileSync(`${out}.2`, 'utf8'),
    };
  } finally {
    closeSync(stdout);
    closeSync(stderr);
  }
}

describe.each(['wat', 'c'])('runCoreModule (hello built from %s)', (kind) => {
  const bytes = (): Uint8Array => modules[kind] as Uint8Array;

  it('prints its greeting, every argument with args[0] kept, and the env variable', async () => {
    const r = await run(bytes(), {
      args: ['/hello.wasm', 'one', 'two words'],
      env: ['PATH=/bin', 'HELLO=world=1', 'OTHER=x'],
    });
    expect(r).toEqual({
      status: 0,
      stdout:
        'hello from wasm\narg: /hello.wasm\narg: one\narg: two words\nenv: HELLO=world=1\n',
      stderr: '',
    });
  });

  it('passes only the given environment', async () => {
    const r = await run(bytes(), { env: ['PATH=/bin'] });
    expect(r.stdout).not.toContain('env:');
  });

  it('returns the status given to proc_exit', async () => {
    expect((await run(bytes(), { args: ['/hello.wasm', 'exit=7'] })).status).toBe(7);
    expect((await run(bytes(), { args: ['/hello.wasm', 'exit=0'] })).status).toBe(0);
    expect((await run(bytes(), { args: ['/hello.wasm', 'exit=255'] })).status).toBe(255);
    // 256 would wrap to 0, a success, as a process status.
    expect((await run(bytes(), { args: ['/hello.wasm', 'exit=256'] })).status).toBe(1);
  });

  it('reads a file through the preopened root', async () => {
    const r = await run(bytes(), { args: ['/hello.wasm', 'cat=/greeting.txt', 'exit=3'] });
    expect(r.status).toBe(3);
    expect(r.stdout).toMatch(/arg: cat=\/greeting\.txt\narg: exit=3\nfile contents\n$/);
  });

  it('cannot reach a file outside the preopen, by .. or through a symlink', async () => {
    for (const path of ['/../secret.txt', '/abs-link', '/rel-link', '../../secret.txt']) {
      const r = await run(bytes(), { args: ['/hello.wasm', `cat=${path}`] });
      expect(r.status).toBe(2);
      expect(r.stdout + r.stderr).not.toContain('SECRET');
      expect(r.stderr).toMatch(/^cat: cannot open/);
    }
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
    expect(r.status).toBe(TRAP_STATUS);
    expect(r.status).toBe(134);
    expect(r.stderr).toBe('wasm trap: wasm `unreachable` instruction executed\n');
  });
});

describe('runCoreModule traps', () => {
  const trapping = async (body: string): Promise<Result> => {
    const source = `(module (memory (export "memory") 1)
      (func $f (export "f") (param i32) (result i32) ${body})
      (func (export "_start") (drop (call $f (i32.const 0)))))`;
    return run(await compileWat(source, '/trap.wat'), {});
  };

  it('words an integer division by zero as wasmtime does', async () => {
    const r = await trapping('(i32.div_s (i32.const 1) (local.get 0))');
    expect(r).toEqual({ status: 134, stdout: '', stderr: 'wasm trap: integer divide by zero\n' });
  });

  it('counts a stack overflow as a trap', async () => {
    const r = await trapping('(call $f (i32.add (local.get 0) (i32.const 1)))');
    expect(r).toEqual({ status: 134, stdout: '', stderr: 'wasm trap: call stack exhausted\n' });
  });
});

describe('prepareCoreModule', () => {
  it('rejects a module without _start', async () => {
    const bytes = await compileWat('(module (memory (export "memory") 1))', '/lib.wat');
    await expect(prepareCoreModule(bytes, { args: ['/lib.wasm'], env: [], preopens: {} }))
      .rejects.toThrow(/^\/lib\.wasm: module has no _start export \(not a WASI command\)$/);
  });

  it('rejects imports that are not WASI', async () => {
    const source = `(module (import "env" "f" (func)) (memory (export "memory") 1)
      (func (export "_start")))`;
    const bytes = await compileWat(source, '/env.wat');
    await expect(
      prepareCoreModule(bytes, { args: ['/x.wasm'], env: [], preopens: {}, file: '/env.wasm' }),
    ).rejects.toThrow('/env.wasm: module imports "env" "f", which is not WASI');
  });

  it('rejects a truncated module on one line', async () => {
    const bytes = modules.wat as Uint8Array;
    const err = await prepareCoreModule(bytes.subarray(0, 40), {
      args: ['/cut.wasm'],
      env: [],
      preopens: {},
    }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/^\/cut\.wasm: invalid WebAssembly module: /);
    expect((err as Error).message).not.toContain('\n');
  });

  it('checks the preopens when the guest starts, not before', async () => {
    const missing = join(dir, 'not-there');
    const runner = await prepareCoreModule(modules.wat as Uint8Array, {
      args: ['/hello.wasm'],
      env: [],
      preopens: { '/': missing },
    });
    await expect(runner()).rejects.toThrow(`/hello.wasm: preopen / -> ${missing}: ENOENT`);
  });

  it('gives a runner that can be called again', async () => {
    const out = openSync(join(dir, 'twice.txt'), 'w');
    try {
      const opts = { args: ['/hello.wasm', 'exit=4'], env: [], preopens: {}, stdout: out };
      const runner = await prepareCoreModule(modules.wat as Uint8Array, opts);
      expect(await runner()).toBe(4);
      expect(await runner()).toBe(4);
    } finally {
      closeSync(out);
    }
    const text = readFileSync(join(dir, 'twice.txt'), 'utf8');
    expect(text.match(/hello from wasm/g)).toHaveLength(2);
  });
});

describe('node:wasi ExperimentalWarning', () => {
  // In a fresh Node process: in this one another test may have loaded node:wasi already.
  it('is silenced while other warnings still print', async () => {
    const script = join(dir, 'warn.mjs');
    const bundle = join(dir, 'core-bundle.mjs');
    await build({
      entryPoints: [join(import.meta.dirname, '../../src/handlers/wasm/core.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      outfile: bundle,
      logLevel: 'silent',
    });
    await writeFile(
      script,
      `import { runCoreModule } from ${JSON.stringify(bundle)};
       import { readFileSync } from 'node:fs';
       const bytes = readFileSync(${JSON.stringify(join(dir, 'hello.wasm'))});
       const opts = { args: ['/h.wasm', 'exit=5'], env: [], preopens: {} };
       const status = await runCoreModule(bytes, opts);
       process.emitWarning('still visible', 'CustomWarning');
       process.exitCode = status;`,
    );
    const child = await promisify(execFile)(process.execPath, [script]).catch(
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    expect(child).toMatchObject({ code: 5 });
    const { stdout, stderr } = child as { stdout: string; stderr: string };
    expect(stdout).toContain('hello from wasm');
    expect(stderr).not.toContain('ExperimentalWarning');
    expect(stderr).toContain('CustomWarning: still visible');
  }, 30_000);
});
