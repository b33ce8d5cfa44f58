import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { detectWasm, detectWasmFile } from '../../src/handlers/wasm/detect.js';

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

const MODULE = bytes(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00);
const COMPONENT = bytes(0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00);

describe('detectWasm', () => {
  it('recognises a core module and a component by version and layer', () => {
    expect(detectWasm(MODULE, '/m.wasm')).toBe('module');
    expect(detectWasm(COMPONENT, '/c.wasm')).toBe('component');
  });

  it('looks at the first 8 bytes only', () => {
    const longer = new Uint8Array(64);
    longer.set(MODULE);
    longer.fill(0xff, 8);
    expect(detectWasm(longer, '/m.wasm')).toBe('module');
  });

  it('recognises WebAssembly text', () => {
    expect(detectWasm(text('(module (func))'), '/a.wat')).toBe('wat');
    expect(detectWasm(text('  \n(module'), '/a.wat')).toBe('wat');
    expect(detectWasm(text(';; a comment\n(module)'), '/a.wat')).toBe('wat');
    expect(detectWasm(text('(; block ;) (module)'), '/a.wat')).toBe('wat');
    expect(detectWasm(text('(component)'), '/a.wat')).toBe('wat');
    expect(detectWasm(text('\uFEFF(module)'), '/a.wat')).toBe('wat');
    expect(detectWasm(text('(mod'), '/a.wat')).toBe('wat');
  });

  it('takes a .wat file that does not start like text for text, for wabt to judge', () => {
    expect(detectWasm(text('hello world\n'), '/hello.wat')).toBe('wat');
    expect(detectWasm(text('(func)'), 'bin/f.wat')).toBe('wat');
    expect(detectWasm(MODULE, '/m.wat')).toBe('module');
    expect(() => detectWasm(text('hello world\n'), '/hello.wasm')).toThrow('bad magic');
    expect(() => detectWasm(bytes(), '/e.wat'))
      .toThrow('/e.wat: empty file (not WebAssembly text)');
  });

  it('rejects anything else with a one-line bad magic error naming the file', () => {
    const elf = bytes(0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00);
    expect(() => detectWasm(elf, '/hello.wasm')).toThrow(
      /^\/hello\.wasm: not a WebAssembly binary \(bad magic\)$/,
    );
    expect(() => detectWasm(text('#!/bin/sh\n'), '/x')).toThrow('x: not a WebAssembly binary');
    expect(() => detectWasm(text('(modules'), '/x')).toThrow('bad magic');
    expect(() => detectWasm(text('(foo)'), '/x')).toThrow('bad magic');
    expect(() => detectWasm(text('   \n'), '/x')).toThrow('bad magic');
  });

  it('says when the header is truncated or the file is empty', () => {
    expect(() => detectWasm(bytes(0x00, 0x61, 0x73, 0x6d, 0x01), '/t.wasm')).toThrow(
      '/t.wasm: truncated WebAssembly header (5 of 8 bytes)',
    );
    expect(() => detectWasm(bytes(0x00, 0x61), '/t.wasm')).toThrow('(2 of 8 bytes)');
    expect(() => detectWasm(bytes(), '/e.wasm')).toThrow('/e.wasm: empty file');
  });

  it('names unknown versions', () => {
    const v2 = bytes(0x00, 0x61, 0x73, 0x6d, 0x02, 0x00, 0x00, 0x00);
    expect(() => detectWasm(v2, '/v.wasm')).toThrow(
      '/v.wasm: unsupported WebAssembly core module version 0x0002',
    );
    const oldComponent = bytes(0x00, 0x61, 0x73, 0x6d, 0x0c, 0x00, 0x01, 0x00);
    expect(() => detectWasm(oldComponent, '/c.wasm')).toThrow('component encoding 0x000c');
  });
});

describe('detectWasmFile', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hako-detect-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the header from a file and names the file in errors', async () => {
    const path = join(dir, 'c.wasm');
    await writeFile(path, Buffer.concat([COMPONENT, Buffer.alloc(100)]));
    await expect(detectWasmFile(path)).resolves.toBe('component');

    const short = join(dir, 'short.wasm');
    await writeFile(short, bytes(0x00, 0x61, 0x73));
    await expect(detectWasmFile(short, '/short.wasm')).rejects.toThrow(
      '/short.wasm: truncated WebAssembly header (3 of 8 bytes)',
    );
    await expect(detectWasmFile(join(dir, 'none'), '/none.wasm')).rejects.toThrow(
      '/none.wasm: cannot open: ENOENT',
    );
  });
});
