/**
 * What the wasm integration tests share: the fixtures built once from source into a
 * directory, bundles whose rootfs holds them, and the leftovers check extended to the Node
 * engine (which the agent-only check in lifecycle-helpers.ts does not recognise).
 */
import {
  chmodSync, copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { compileWat } from '../../src/handlers/wasm/wat.js';
import type { Spec } from '../../src/core/spec/types.js';
import {
  HELLO_WAT, buildBareComponent, buildC, buildComponent, buildWat,
} from '../fixtures/wasm/build.js';
import { afterAll, beforeAll } from 'vitest';

import { Scratch } from './helpers.js';
import { cmdline, isLive, leftovers } from './lifecycle-helpers.js';

export interface WasmFixtures {
  dir: string;
  /** clang-built core module (hello.c). */
  c: string;
  /** wabt-built core module (hello.wat). */
  wat: string;
  /** hello.wat as text. */
  watText: string;
  /** The C module wrapped as a wasi:cli/command component. */
  component: string;
  /** A component of another world: exports `hello`, no wasi:cli/run. */
  reactor: string;
  /** A core module without `_start`. */
  noStart: string;
}

let built: Promise<WasmFixtures> | undefined;

export function wasmFixtures(): Promise<WasmFixtures> {
  built ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hako-wasm-fx-'));
    const c = await buildC(dir);
    const wat = await buildWat(dir);
    const component = await buildComponent(c, dir);
    const noStart = join(dir, 'no-start.wasm');
    writeFileSync(noStart, await compileWat(
      '(module (memory (export "memory") 1) (func (export "hello") (result i32) i32.const 1))',
      'no-start.wat',
    ));
    const reactor = await buildBareComponent(noStart, dir, 'reactor.component.wasm');
    return { dir, c, wat, watText: HELLO_WAT, component, reactor, noStart };
  })();
  return built;
}

/** Removes the fixtures' directory: call from the test file's afterAll. */
export async function removeWasmFixtures(): Promise<void> {
  if (!built) return;
  const { dir } = await built.catch(() => ({ dir: '' }));
  if (dir) rmSync(dir, { recursive: true, force: true });
  built = undefined;
}

/** A bundle whose rootfs holds `files` (container path → host file) and runs `args` as wasm. */
export function wasmBundle(
  scratch: Scratch,
  files: Record<string, string>,
  args: string[],
  edit: (spec: Spec) => void = () => {},
): string {
  const bundle = scratch.bundle((spec) => {
    spec.process!.args = args;
    spec.process!.env = [...(spec.process!.env ?? []), 'HELLO=world'];
    spec.annotations = { 'run.oci.handler': 'wasm' };
    spec.hostname = 'wasmbox';
    edit(spec);
  });
  const rootfs = join(bundle, 'rootfs');
  // As in any image (the template is a 0700 mkdtemp directory).
  chmodSync(rootfs, 0o755);
  for (const [inside, host] of Object.entries(files)) copyFileSync(host, join(rootfs, inside));
  writeFileSync(join(rootfs, 'etc', 'hostname'), CONTAINER_HOSTNAME_FILE);
  return bundle;
}

/** What the rootfs's /etc/hostname holds: not the host's, not the UTS hostname. */
export const CONTAINER_HOSTNAME_FILE = 'container-hostname-file\n';

/** Live engine processes of container `id` (in its cgroup), or among `pids`. */
export function enginesOf(id: string, pids: number[] = []): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => cmdline(pid).some((arg) => arg.endsWith('engine.cjs')) && isLive(pid))
    .filter((pid) => pids.includes(pid) || readOr(`/proc/${pid}/cgroup`)
      .split('\n').some((line) => line.endsWith(`/hako/${id}`)));
}

/** Everything a failed or finished wasm container could leave: leftovers() plus engines. */
export function wasmLeftovers(scratch: Scratch, id: string, bundle: string): string[] {
  return [
    ...leftovers(scratch, id, bundle),
    ...enginesOf(id).map((pid) => `engine ${pid} ${cmdline(pid).join(' ')}`),
  ];
}

/** A field of /proc/<pid>/status, e.g. "CapEff". */
export function statusField(pid: number | string, field: string): string {
  const match = new RegExp(`^${field}:\\s*(.*)$`, 'm').exec(readOr(`/proc/${pid}/status`));
  return match?.[1] ?? '';
}

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

export interface WasmSuite {
  scratch: Scratch;
  fx: WasmFixtures;
}

/**
 * The hooks every wasm test file needs: a Scratch and the fixtures built from source, both
 * removed after the file. The fields are set once `beforeAll` has run.
 */
export function wasmSuite(): WasmSuite {
  const suite = {} as WasmSuite;
  beforeAll(async () => {
    suite.scratch = new Scratch();
    suite.fx = await wasmFixtures();
  });
  afterAll(async () => {
    suite.scratch.cleanup();
    await removeWasmFixtures();
  });
  return suite;
}
