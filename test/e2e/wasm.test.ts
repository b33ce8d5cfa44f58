/**
 * WebAssembly workloads through podman and containerd: the caller only adds crun's
 * annotations (`run.oci.handler`, `module.wasm.image/variant`) and hako's wasm handler runs
 * the module or component in the container. The fixtures are built from test/fixtures/wasm.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { compileWat } from '../../src/handlers/wasm/wat.js';
import { buildComponent, buildWat } from '../fixtures/wasm/build.js';
import { Containerd } from './containerd-env.js';
import { IMAGE, PodmanEnv } from './podman-env.js';

const podman = new PodmanEnv();
const containerd = new Containerd();
const fixtures = mkdtempSync(join(tmpdir(), 'hako-e2e-wasm-'));

beforeAll(async () => {
  const module = await buildWat(fixtures);
  const component = await buildComponent(module, fixtures);
  // A guest that computes for ever and never calls WASI.
  const spin = join(fixtures, 'spin.wasm');
  writeFileSync(spin, await compileWat(
    '(module (memory (export "memory") 1) (func (export "_start") (loop br 0)))', 'spin.wat'));
  const extra = { '/hello.wasm': module, '/hello.component.wasm': component, '/spin.wasm': spin };
  podman.setup(extra);
  await containerd.start(extra);
}, 180_000);

afterAll(async () => {
  try {
    podman.cleanup();
  } finally {
    await containerd.stop();
    rmSync(fixtures, { recursive: true, force: true });
  }
}, 120_000);

const WASM = ['--annotation', 'run.oci.handler=wasm'];

describe('podman', () => {
  it('runs a core module with run.oci.handler=wasm: args, env, exit status', () => {
    const out = podman.run(['--rm', ...WASM, '--env', 'HELLO=there', IMAGE,
      '/hello.wasm', 'exit=3']);
    expect(out.stderr).toBe('');
    expect(out.stdout).toBe('hello from wasm\narg: /hello.wasm\narg: exit=3\nenv: HELLO=there\n');
    expect(out.status).toBe(3);
  });

  it('passes stdin with -i', () => {
    const out = podman.run(['--rm', '-i', ...WASM, IMAGE, '/hello.wasm', 'cat=-'],
      { input: 'piped in\n' });
    expect(out.stdout).toBe('hello from wasm\narg: /hello.wasm\narg: cat=-\npiped in\n');
    expect(out.status).toBe(0);
  });

  it('runs a component; a trap in a module exits 134', () => {
    const component = podman.run(['--rm', ...WASM, IMAGE, '/hello.component.wasm']);
    expect(component.stdout).toBe('hello from wasm\narg: /hello.component.wasm\n');
    expect(component.status).toBe(0);

    const trap = podman.run(['--rm', ...WASM, IMAGE, '/hello.wasm', 'trap']);
    expect(trap.stderr).toMatch(/trap/);
    expect(trap.status).toBe(134);
  });

  it('stop ends a guest that computes with SIGTERM: exit code 143, no SIGKILL', () => {
    const started = podman.run(['-d', '--name', 'spinning', ...WASM, IMAGE, '/spin.wasm']);
    expect(started.status, started.stderr).toBe(0);
    expect(podman.inspect('spinning', '{{.State.Status}}')).toBe('running');

    const began = performance.now();
    const stop = podman.podman(['stop', '--time', '10', 'spinning']);
    const ms = performance.now() - began;
    expect(stop.stderr).toBe('');
    expect(stop.status).toBe(0);
    // podman would wait the whole 10 s and send SIGKILL (exit code 137) to a guest it missed.
    expect(ms).toBeLessThan(5000);
    expect(podman.inspect('spinning', '{{.State.Status}} {{.State.ExitCode}}')).toBe('exited 143');
    podman.ok(['rm', 'spinning']);
  });

  it('compat-smart picks wasm for a .wasm entrypoint and Linux otherwise', () => {
    const smart = ['--annotation', 'module.wasm.image/variant=compat-smart'];
    const wasm = podman.run(['--rm', ...smart, IMAGE, '/hello.wasm']);
    expect(wasm.stdout).toBe('hello from wasm\narg: /hello.wasm\n');
    const native = podman.run(['--rm', ...smart, IMAGE, 'sh', '-c', 'echo native']);
    expect(native.stdout).toBe('native\n');
  });

  it('a missing module fails the create with hako\'s message and 127', () => {
    const out = podman.run(['--rm', ...WASM, IMAGE, '/missing.wasm']);
    expect(out.status).toBe(127);
    expect(out.stderr).toMatch(/^Error: (\S*\/)?hako: .*\/missing\.wasm.*no such file/m);
  });
});

describe('containerd', () => {
  it('ctr run --annotation run.oci.handler=wasm runs the module', () => {
    const out = containerd.run(['--rm', ...WASM, '--env', 'HELLO=ctr', IMAGE, 'wasm-once',
      '/hello.wasm', 'exit=5']);
    expect(out.stderr).toBe('');
    expect(out.stdout).toBe('hello from wasm\narg: /hello.wasm\narg: exit=5\nenv: HELLO=ctr\n');
    expect(out.status).toBe(5);
  });
});
