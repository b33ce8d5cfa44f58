// No wasmtime binary can be installed on the project's machines (no Debian or npm package
// ships one), so only the command line and the PATH lookup are tested, not a run.
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { findWasmtime, wasmtimeArgs } from '../../src/handlers/wasm/wasmtime.js';

describe('wasmtimeArgs', () => {
  it('puts options before the module and the guest arguments after it', () => {
    const args = wasmtimeArgs({
      module: '/app/hello.wasm',
      args: ['/app/hello.wasm', 'exit=3', '--verbose'],
      env: ['PATH=/bin', 'HELLO=a=b', 'EMPTY=', 'NOVALUE', '=x'],
      preopens: { '/': '/', '/data': '/srv/data' },
    });
    expect(args).toEqual([
      'run',
      '--dir', '/::/',
      '--dir', '/srv/data::/data',
      '--env', 'PATH=/bin',
      '--env', 'HELLO=a=b',
      '--env', 'EMPTY=',
      '--argv0', '/app/hello.wasm',
      '--', '/app/hello.wasm', 'exit=3', '--verbose',
    ]);
  });

  it('passes a working directory other than / with -S cwd=', () => {
    const base = { module: 'm.wasm', args: ['m.wasm'], env: [], preopens: {} };
    expect(wasmtimeArgs({ ...base, cwd: '/work' })).toEqual([
      'run', '-S', 'cwd=/work', '--argv0', 'm.wasm', '--', 'm.wasm',
    ]);
    expect(wasmtimeArgs({ ...base, cwd: '/' })).toEqual([
      'run', '--argv0', 'm.wasm', '--', 'm.wasm',
    ]);
  });

  it('omits --argv0 when there are no args', () => {
    expect(wasmtimeArgs({ module: 'm.wasm', args: [], env: [], preopens: {} })).toEqual([
      'run', '--', 'm.wasm',
    ]);
  });

  it('refuses a preopen path that wasmtime would split', () => {
    expect(() =>
      wasmtimeArgs({ module: 'm', args: [], env: [], preopens: { '/d': '/a::b' } }),
    ).toThrow('wasmtime: preopen /d -> /a::b: a path may not contain "::"');
  });
});

describe('findWasmtime', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hako-wasmtime-'));
    for (const sub of ['a', 'b', 'c']) {
      await mkdir(join(dir, sub));
    }
    await writeFile(join(dir, 'b', 'wasmtime'), '#!/bin/sh\n', { mode: 0o644 });
    await writeFile(join(dir, 'c', 'wasmtime'), '#!/bin/sh\n');
    await chmod(join(dir, 'c', 'wasmtime'), 0o755);
    await mkdir(join(dir, 'a', 'wasmtime'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('returns the first executable regular file on PATH', () => {
    const path = ['', 'relative', join(dir, 'a'), join(dir, 'b'), join(dir, 'c')].join(':');
    expect(findWasmtime(path)).toBe(join(dir, 'c', 'wasmtime'));
  });

  it('returns null when there is none', () => {
    expect(findWasmtime(join(dir, 'a'))).toBeNull();
    expect(findWasmtime('')).toBeNull();
    expect(findWasmtime(undefined)).toBeNull();
  });
});
