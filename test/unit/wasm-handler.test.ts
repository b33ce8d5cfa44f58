/**
 * The wasm handler as the engine uses it (finding the module, preopens, preparing it) and
 * the choice `create` makes before anything exists, including the wasmtime config.
 */
import { describe, expect, it } from 'vitest';

import { chooseHandler, withWasmtime } from '../../src/core/lifecycle/handler.js';
import { defaultSpec } from '../../src/core/spec/template.js';
import type { Spec } from '../../src/core/spec/types.js';
import {
  type ReadResult, checkModule, locateModule, preopensFor, prepareWasm,
} from '../../src/handlers/wasm/handler.js';

const ENOENT = { errno: 2, message: 'no such file or directory' };

function files(map: Record<string, string | Uint8Array>) {
  const read: string[] = [];
  const readFile = (path: string): ReadResult => {
    read.push(path);
    const found = map[path];
    return found === undefined ? ENOENT : { bytes: Buffer.from(found) };
  };
  return { read, readFile };
}

const workload = (args: string[], f: ReturnType<typeof files>, env: string[] = []) => ({
  args, env, cwd: '/app', cacheDir: '/nonexistent', readFile: f.readFile,
});

describe('locateModule', () => {
  it('takes a name with a slash relative to the cwd', () => {
    const f = files({ '/lib/m.wasm': 'x' });
    expect(locateModule(workload(['../lib/m.wasm'], f)).path).toBe('/lib/m.wasm');
  });

  it('searches a bare name in the PATH of the environment, in order', () => {
    const f = files({ '/b/m.wasm': 'b', '/c/m.wasm': 'c' });
    const found = locateModule(workload(['m.wasm'], f, ['PATH=/a:/b:/c']));
    expect(found.path).toBe('/b/m.wasm');
    expect(f.read).toEqual(['/a/m.wasm', '/b/m.wasm']);
  });

  it('words failures as a missing program is worded', () => {
    expect(() => locateModule(workload(['/m.wasm'], files({}))))
      .toThrow('exec: "/m.wasm": stat /m.wasm: no such file or directory');
    expect(() => locateModule(workload(['m.wasm'], files({}))))
      .toThrow('exec: "m.wasm": executable file not found in $PATH');
    const denied = { ...files({}), readFile: () => ({ errno: 13, message: 'permission denied' }) };
    expect(() => locateModule(workload(['/d'], denied))).toThrow('exec: "/d": permission denied');
  });
});

describe('preparing a workload', () => {
  it('preopens / and, for a core module, the cwd as "."', () => {
    expect(preopensFor('/')).toEqual({ '/': '/' });
    expect(preopensFor('/app/')).toEqual({ '/': '/', '.': '/app' });
    expect(Object.keys(preopensFor('/app'))).toEqual(['/', '.']);
  });

  it('compiles WebAssembly text and runs it to its proc_exit status', async () => {
    const wat = `(module
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 1)
      (func (export "_start") (call $exit (i32.const 42))))`;
    // Run here, the guest's / and . are the host's: cwd / keeps it to one existing preopen.
    const prepared = await prepareWasm({ ...workload(['/m.wat'], files({ '/m.wat': wat })),
      cwd: '/' });
    expect(prepared.kind).toBe('wat');
    expect(await prepared.run()).toBe(42);
  });

  it('checks a module on the host without compiling it', () => {
    const component = Uint8Array.from([0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0]);
    const checked = checkModule(workload(['/c.wasm'], files({ '/c.wasm': component })));
    expect(checked.kind).toBe('component');
    expect(() => checkModule(workload(['/c.wasm'], files({ '/c.wasm': 'text' }))))
      .toThrow('/c.wasm: not a WebAssembly binary (bad magic)');
  });

  it('rejects what is not WebAssembly with the module\'s name', async () => {
    await expect(prepareWasm(workload(['/m.wasm'], files({ '/m.wasm': 'hello' }))))
      .rejects.toThrow('/m.wasm: not a WebAssembly binary (bad magic)');
  });
});

describe('chooseHandler', () => {
  const spec = (annotations: Record<string, string>, args = ['/m.wasm']): Spec => {
    const s = defaultSpec({ rootless: false });
    s.annotations = annotations;
    s.process!.args = args;
    s.process!.terminal = false;
    return s;
  };

  it('runs wasm in the engine and everything else as before', () => {
    expect(chooseHandler(spec({ 'run.oci.handler': 'wasm' }))).toMatchObject(
      { name: 'wasm', engine: true });
    const linux = spec({});
    expect(chooseHandler(linux)).toEqual({ name: 'linux', engine: false, spec: linux });
  });

  it('refuses a terminal for wasm', () => {
    const s = spec({ 'run.oci.handler': 'wasm' });
    s.process!.terminal = true;
    expect(() => chooseHandler(s)).toThrow('process.terminal: the wasm handler has no terminal');
  });

  it('says why wasmtime cannot run when its CLI is not on PATH', () => {
    expect(() => chooseHandler(spec({ 'run.oci.handler': 'wasmtime' }), { PATH: '/nowhere' }))
      .toThrow('handler "wasmtime" needs the wasmtime CLI, which was not found in PATH');
  });

  it('binds the wasmtime CLI into /dev and turns args into its command line', () => {
    const s = spec({});
    s.process!.args = ['/m.wasm', 'x'];
    s.process!.env = ['A=1'];
    s.process!.cwd = '/app';
    const out = withWasmtime(s, '/opt/bin/wasmtime');
    expect(out.mounts!.at(-1)).toEqual({ destination: '/dev/.hako-wasmtime', type: 'bind',
      source: '/opt/bin/wasmtime', options: ['bind', 'ro', 'nosuid', 'nodev'] });
    expect(out.process!.args).toEqual(['/dev/.hako-wasmtime', 'run', '--dir', '/::/', '--env',
      'A=1', '-S', 'cwd=/app', '--argv0', '/m.wasm', '--', '/m.wasm', 'x']);
    expect(s.process!.args).toEqual(['/m.wasm', 'x']);

    s.mounts = s.mounts!.filter((m) => m.destination !== '/dev');
    expect(() => withWasmtime(s, '/opt/bin/wasmtime')).toThrow('needs a tmpfs mounted on /dev');
  });
});
