import { readFile } from 'node:fs/promises';

import { describe, expect, it } from 'vitest';

import { detectWasm } from '../../src/handlers/wasm/detect.js';
import { compileWat } from '../../src/handlers/wasm/wat.js';
import { HELLO_WAT } from '../fixtures/wasm/build.js';

describe('compileWat', () => {
  it('compiles the hello fixture to a valid WASI command module', async () => {
    const bytes = await compileWat(await readFile(HELLO_WAT, 'utf8'), '/hello.wat');
    expect(detectWasm(bytes, '/hello.wasm')).toBe('module');
    const module = await WebAssembly.compile(bytes);
    const exports = WebAssembly.Module.exports(module).map((e) => `${e.kind}:${e.name}`);
    expect(exports).toEqual(expect.arrayContaining(['function:_start', 'memory:memory']));
    const imports = WebAssembly.Module.imports(module).map((i) => i.module);
    expect(new Set(imports)).toEqual(new Set(['wasi_snapshot_preview1']));
  });

  it('accepts bytes as well as a string', async () => {
    const bytes = await compileWat(new TextEncoder().encode('(module)'), '/empty.wat');
    expect(Array.from(bytes.subarray(0, 8))).toEqual([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
  });

  it('reports a syntax error on one line with its position', async () => {
    const source = '(module\n  (func (i32.foo)))';
    const err = await compileWat(source, '/bad.wat').catch((e: Error) => e);
    expect((err as Error).message).toBe(
      '/bad.wat:2:10: invalid WebAssembly text: unexpected token "i32.foo", expected an instr.',
    );
  });

  it('names the first token of a file that is not WebAssembly text at all', async () => {
    await expect(compileWat('hello world\n', '/hello.wat')).rejects.toThrow(
      /^\/hello\.wat:1:1: invalid WebAssembly text: unexpected token "hello", expected a module /,
    );
  });

  it('reports a validation error and how many more there are', async () => {
    const err = await compileWat('(module (func (i32.add)))', '/v.wat').catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(
      /^\/v\.wat:1:16: invalid WebAssembly text: type mismatch in i32\.add.* \(and 1 more\)$/,
    );
    expect((err as Error).message).not.toContain('\n');
  });

  it('says plainly that the component text format is not supported', async () => {
    await expect(compileWat(';; c\n(component)', '/c.wat')).rejects.toThrow(
      '/c.wat: the component text format is not supported',
    );
  });
});
