/**
 * Choosing the handler on a real `create`, the wasmtime handler, and workloads that cannot
 * run: each fails with one line and leaves nothing behind (state dir, cgroup, mount, engine).
 */
import { chmodSync, copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import type { Spec } from '../../src/core/spec/types.js';
import {
  wasmBundle, wasmLeftovers, wasmSuite,
} from './wasm-helpers.js';

const suite = wasmSuite();

function run(bundle: string, env: NodeJS.ProcessEnv = process.env) {
  const id = suite.scratch.id('w');
  const cache = join(suite.scratch.dir, 'cache');
  const result = suite.scratch.hako(['run', '--bundle', bundle, id], {
    env: { ...env, HAKO_WASM_CACHE: cache },
  });
  return { ...result, id, bundle };
}

/** The error line of a failed `run` (runc's text log format: msg="..."). */
function errorLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines, stderr).toHaveLength(1);
  const match = /msg="(.*)"$/.exec(lines[0]);
  return (match?.[1] ?? lines[0]).replaceAll('\\"', '"');
}

describe('modules that cannot run', () => {
  const cases: [string, (rootfs: string) => void, string, string?][] = [
    ['not wasm', (r) => writeFileSync(join(r, 'm.wasm'), 'hello\n'),
      '/m.wasm: not a WebAssembly binary (bad magic)'],
    ['text that is not WebAssembly text', (r) => writeFileSync(join(r, 'm.wat'), 'hello world\n'),
      '/m.wat:1:1: invalid WebAssembly text: unexpected token "hello", expected a module field ' +
      'or a module. (and 1 more)', '/m.wat'],
    ['truncated', (r) => writeFileSync(join(r, 'm.wasm'), Buffer.from([0, 0x61, 0x73, 0x6d, 1])),
      '/m.wasm: truncated WebAssembly header (5 of 8 bytes)'],
    ['no _start', (r) => copyFileSync(suite.fx.noStart, join(r, 'm.wasm')),
      '/m.wasm: module has no _start export (not a WASI command)'],
    ['a component of another world', (r) => copyFileSync(suite.fx.reactor, join(r, 'm.wasm')),
      '/m.wasm: component does not export wasi:cli/run (not a WASI command; it exports nothing)'],
    ['missing', () => undefined,
      'exec: "/m.wasm": stat /m.wasm: no such file or directory'],
    ['a directory', (r) => mkdirSync(join(r, 'm.wasm')),
      'exec: "/m.wasm": permission denied'],
    ['a symlink out of the rootfs', (r) => symlinkSync(suite.fx.c, join(r, 'm.wasm')),
      'exec: "/m.wasm": stat /m.wasm: no such file or directory'],
  ];

  for (const [what, make, message, entry = '/m.wasm'] of cases) {
    it(`fails for a module that is ${what}, leaving nothing`, () => {
      const bundle = wasmBundle(suite.scratch, {}, [entry]);
      make(join(bundle, 'rootfs'));
      const r = run(bundle);
      expect(r.status).toBe(1);
      expect(errorLine(r.stderr)).toBe(message);
      expect(r.stdout).toBe('');
      expect(wasmLeftovers(suite.scratch, r.id, bundle)).toEqual([]);
    });
  }

  it('names the memory limit when the engine is killed before it is ready', () => {
    const bundle = wasmBundle(suite.scratch, { 'hello.wasm': suite.fx.c }, ['/hello.wasm'], (spec) => {
      spec.linux!.resources = { ...spec.linux!.resources, memory: { limit: 4 << 20 } };
    });
    const r = run(bundle);
    expect(r.status).toBe(1);
    expect(errorLine(r.stderr)).toBe('the wasm engine exited before it was ready ' +
      '(linux.resources.memory.limit is 4194304 bytes; the Node engine alone takes about ' +
      '12 MiB of it for a core module, 26 MiB for a component)');
    expect(wasmLeftovers(suite.scratch, r.id, bundle)).toEqual([]);
  });
});

describe('handler selection', () => {
  const args = (a0: string) => [a0, '-c', 'echo linux'];

  function annotated(annotations: Record<string, string>, argv: string[]) {
    const bundle = wasmBundle(suite.scratch, { 'hello.wasm': suite.fx.c, 'bin/hello.wasm': suite.fx.c }, argv,
      (spec: Spec) => { spec.annotations = annotations; });
    return run(bundle);
  }

  it('wasm-smart runs a .wasm entrypoint as wasm and anything else natively', () => {
    expect(annotated({ 'run.oci.handler': 'wasm-smart' }, ['/hello.wasm']).stdout)
      .toContain('hello from wasm');
    expect(annotated({ 'run.oci.handler': 'wasm-smart' }, args('sh')).stdout).toBe('linux\n');
  });

  it('module.wasm.image/variant: compat is wasm, compat-smart checks the entrypoint', () => {
    const variant = 'module.wasm.image/variant';
    expect(annotated({ [variant]: 'compat' }, ['/hello.wasm']).stdout)
      .toContain('hello from wasm');
    expect(annotated({ [variant]: 'compat-smart' }, args('sh')).stdout).toBe('linux\n');
    // run.oci.handler wins: the variant is then ignored.
    expect(annotated({ 'run.oci.handler': 'wasm-smart', [variant]: 'compat' }, args('sh'))
      .stdout).toBe('linux\n');
  });

  it('refuses an unknown handler before creating anything', () => {
    const r = annotated({ 'run.oci.handler': 'nope' }, ['/hello.wasm']);
    expect(r.status).toBe(1);
    expect(errorLine(r.stderr))
      .toBe('run.oci.handler: no handler named "nope" (available: linux, wasm)');
    expect(wasmLeftovers(suite.scratch, r.id, r.bundle)).toEqual([]);
  });
});

describe('the wasmtime handler', () => {
  it('fails create with a clear message when the CLI is not on PATH', () => {
    const bundle = wasmBundle(suite.scratch, { 'hello.wasm': suite.fx.c }, ['/hello.wasm'], (spec) => {
      spec.annotations = { 'run.oci.handler': 'wasmtime' };
    });
    const r = run(bundle, { ...process.env, PATH: '/usr/bin:/bin' });
    expect(r.status).toBe(1);
    expect(errorLine(r.stderr)).toBe(
      'run.oci.handler: handler "wasmtime" needs the wasmtime CLI, which was not found in PATH',
    );
    expect(wasmLeftovers(suite.scratch, r.id, bundle)).toEqual([]);
  });

  it('execs the host CLI, bound read-only into the container, with wasmtime\'s arguments', () => {
    // No wasmtime can be installed here: a script stands in for it. It runs inside the
    // container (the image's /bin/sh), so it shows where it is and what it was given.
    const bin = join(suite.scratch.dir, 'fake-bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'wasmtime'), '#!/bin/sh\necho "$0 $*"\ncat /etc/hostname\n' +
      'touch "$0" 2>/dev/null || echo read-only\nexit 9\n');
    chmodSync(join(bin, 'wasmtime'), 0o755);
    const bundle = wasmBundle(suite.scratch, { 'hello.wasm': suite.fx.c }, ['/hello.wasm', 'a b'], (s) => {
      s.annotations = { 'run.oci.handler': 'wasmtime' };
      s.process!.env = ['PATH=/bin', 'HELLO=world'];
    });
    const r = run(bundle, { ...process.env, PATH: `${bin}:/usr/bin:/bin` });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('/dev/.hako-wasmtime run --dir /::/ --env PATH=/bin ' +
      '--env HELLO=world --argv0 /hello.wasm -- /hello.wasm a b\ncontainer-hostname-file\n' +
      'read-only\n');
    expect(r.status).toBe(9);
  });
});
