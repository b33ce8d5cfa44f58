/**
 * WebAssembly workloads in the sandbox (the wasm handler: the agent mounts, then execs the
 * Node engine, which pivots, drops privileges and runs the guest in-process), seen from the
 * guest's output and from the host's /proc.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync, closeSync, existsSync, openSync, readFileSync, readdirSync, writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { capMask } from '../../src/core/spec/linux.js';
import type { LinuxSeccomp, Spec } from '../../src/core/spec/types.js';
import { nsOf } from './config-helpers.js';
import { HAKO, Scratch } from './helpers.js';
import { isLive, stateOf, waitFor } from './lifecycle-helpers.js';
import {
  CONTAINER_HOSTNAME_FILE, type WasmFixtures, removeWasmFixtures, statusField, wasmBundle,
  wasmFixtures, wasmLeftovers,
} from './wasm-helpers.js';

let scratch: Scratch;
let fx: WasmFixtures;
let cacheDir: string;

beforeAll(async () => {
  scratch = new Scratch();
  fx = await wasmFixtures();
  cacheDir = join(scratch.dir, 'wasm-cache');
});
afterAll(async () => {
  scratch.cleanup();
  await removeWasmFixtures();
});

const env = () => ({ ...process.env, HAKO_WASM_CACHE: cacheDir });

/** `hako run` of a wasm bundle; the container is deleted by `run`. */
function runWasm(files: Record<string, string>, args: string[], edit?: (spec: Spec) => void) {
  const bundle = wasmBundle(scratch, files, args, edit);
  const id = scratch.id('wasm');
  const result = scratch.hako(['run', '--bundle', bundle, id], { env: env() });
  return { ...result, id, bundle };
}

describe('core modules', () => {
  it('passes args (args[0] kept), env and the proc_exit status', () => {
    const r = runWasm({ 'hello.wasm': fx.c }, ['/hello.wasm', 'two words', 'exit=7']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      'hello from wasm\narg: /hello.wasm\narg: two words\narg: exit=7\nenv: HELLO=world\n',
    );
    expect(r.status).toBe(7);
    expect(wasmLeftovers(scratch, r.id, r.bundle)).toEqual([]);
  });

  it('finds a bare module name in PATH and compiles .wat with wabt', () => {
    const r = runWasm({ 'bin/hello.wat': fx.watText }, ['hello.wat', 'exit=3']);
    expect(r.stdout).toContain('hello from wasm\narg: hello.wat\n');
    expect(r.status).toBe(3);
  });

  it('reaches the container root only', () => {
    const hostOnly = join(scratch.dir, 'host-only.txt');
    writeFileSync(hostOnly, 'secret of the host\n');
    const r = runWasm({ 'hello.wasm': fx.c }, [
      '/hello.wasm', 'cat=/etc/hostname', 'cat=/../../../etc/hostname', `cat=${hostOnly}`,
    ]);
    // /etc/hostname twice, the container's file (not the host's, not the UTS name), and
    // the host's file is not there at all.
    expect(r.stdout.split('env: HELLO=world\n')[1]).toBe(
      `${CONTAINER_HOSTNAME_FILE}${CONTAINER_HOSTNAME_FILE}`,
    );
    expect(r.stderr).toMatch(/cat: cannot open .*host-only\.txt: No such file or directory/);
    expect(r.status).toBe(2);
  });

  it('resolves relative paths from process.cwd', () => {
    const r = runWasm({ 'hello.wasm': fx.c }, ['../hello.wasm', 'cat=hostname'], (spec) => {
      spec.process!.cwd = '/etc';
    });
    expect(r.stderr).toBe('');
    expect(r.stdout.endsWith(`env: HELLO=world\n${CONTAINER_HOSTNAME_FILE}`)).toBe(true);
    expect(r.status).toBe(0);
  });

  it('turns a trap into status 134 and one line', () => {
    const r = runWasm({ 'hello.wasm': fx.c }, ['/hello.wasm', 'trap']);
    expect(r.status).toBe(134);
    expect(r.stderr).toBe('wasm trap: wasm `unreachable` instruction executed\n');
  });
});

describe('components', () => {
  it('runs a wasi:cli/command component, exit status from wasi:cli/exit, cached', () => {
    const ok = runWasm({ 'hello.wasm': fx.component }, ['/hello.wasm', 'cat=/etc/hostname']);
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toBe(
      'hello from wasm\narg: /hello.wasm\narg: cat=/etc/hostname\nenv: HELLO=world\n' +
        CONTAINER_HOSTNAME_FILE,
    );
    expect(ok.status).toBe(0);
    expect(readdirSync(cacheDir).filter((name) => /^[0-9a-f]{64}$/.test(name))).toHaveLength(1);

    // The preview1 adapter reports any non-zero proc_exit as wasi:cli/exit's error: 1.
    const failed = runWasm({ 'hello.wasm': fx.component }, ['/hello.wasm', 'exit=7']);
    expect(failed.status).toBe(1);
    expect(wasmLeftovers(scratch, failed.id, failed.bundle)).toEqual([]);
  });
});

describe('in a user namespace', () => {
  it('runs modules and components as an unprivileged host uid', () => {
    // The engine is mapped root: it must be able to reach the scratch dir, the rootfs and
    // the transpile cache (filled by `create`, which is real root) without owning them.
    chmodSync(scratch.dir, 0o711);
    const map = [{ containerID: 0, hostID: 100000, size: 65536 }];
    const userns = (spec: Spec) => {
      spec.linux!.namespaces!.push({ type: 'user' });
      spec.linux!.uidMappings = map;
      spec.linux!.gidMappings = map;
    };
    for (const module of [fx.c, fx.component]) {
      const r = runWasm({ 'hello.wasm': module }, ['/hello.wasm', 'cat=/etc/hostname'], userns);
      expect(r.stderr).toBe('');
      expect(r.stdout.endsWith(`HELLO=world\n${CONTAINER_HOSTNAME_FILE}`)).toBe(true);
      expect(r.status).toBe(0);
    }
  });
});

describe('the sandbox, seen from the host', () => {
  const seccomp: LinuxSeccomp = {
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [{ names: ['mknodat', 'mknod'], action: 'SCMP_ACT_ERRNO' }],
  };

  it('puts the engine in the config\'s pid namespace, cgroup, capabilities, seccomp', async () => {
    const bundle = wasmBundle(scratch, { 'hello.wasm': fx.c }, ['/hello.wasm', 'cat=-'], (s) => {
      s.linux!.seccomp = seccomp;
      s.process!.noNewPrivileges = true;
    });
    const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as Spec;
    const id = scratch.id('sandbox');
    const out = join(scratch.dir, `${id}.out`);
    const outFd = openSync(out, 'w');
    // The guest copies its stdin until EOF: a feeder holds that pipe open until the test
    // writes a line to its FIFO.
    const fifo = join(scratch.dir, `${id}.fifo`);
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const feeder = spawn('/bin/sh', ['-c', 'read -r line < "$0"; echo "$line"', fifo], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const create = spawn(HAKO, ['--root', scratch.root, 'create', '--bundle', bundle, id], {
      stdio: [feeder.stdout!, outFd, outFd], env: env(),
    });
    feeder.stdout!.destroy();
    const created = await new Promise<number>((done) => create.on('exit', (c) => done(c ?? 1)));
    closeSync(outFd);
    expect(created, readFileSync(out, 'utf8')).toBe(0);

    const pid = stateOf(scratch, id).pid as number;
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toContain('engine.cjs');
    expect(nsOf(pid, 'pid')).not.toBe(nsOf('self', 'pid'));
    expect(nsOf(pid, 'mnt')).not.toBe(nsOf('self', 'mnt'));
    expect(readFileSync(`/proc/${pid}/cgroup`, 'utf8')).toMatch(new RegExp(`:/hako/${id}$`, 'm'));
    const mask = capMask(spec.process!.capabilities!.effective!);
    expect(BigInt(`0x${statusField(pid, 'CapEff')}`)).toBe(mask);
    expect(BigInt(`0x${statusField(pid, 'CapBnd')}`)).toBe(
      capMask(spec.process!.capabilities!.bounding!));
    // With noNewPrivileges the filter waits for `start`, as it does for a Linux process.
    expect(statusField(pid, 'Seccomp')).toBe('0');
    expect(statusField(pid, 'NoNewPrivs')).toBe('1');

    expect(scratch.hako(['start', id]).status).toBe(0);
    // Every thread of the engine is filtered (TSYNC), not only the one running the guest.
    const threads = readdirSync(`/proc/${pid}/task`);
    expect(threads.length).toBeGreaterThan(1);
    for (const tid of threads) expect(statusField(`${pid}/task/${tid}`, 'Seccomp')).toBe('2');
    expect(stateOf(scratch, id).status).toBe('running');

    writeFileSync(fifo, 'bye from the host\n');
    await waitFor(() => !isLive(pid), 'the guest to exit');
    const output = readFileSync(out, 'utf8');
    expect(output).toContain('arg: cat=-\nenv: HELLO=world\nbye from the host\n');
    expect(scratch.hako(['delete', id]).status).toBe(0);
    expect(wasmLeftovers(scratch, id, bundle)).toEqual([]);
  });

  it('installs a filter during setup when noNewPrivileges is off', () => {
    const r = runWasm({ 'hello.wasm': fx.c }, ['/hello.wasm', 'exit=5'], (s) => {
      s.linux!.seccomp = seccomp;
      s.process!.noNewPrivileges = false;
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(5);
  });

  it('runs under podman\'s default seccomp profile', () => {
    const profile = '/usr/share/containers/seccomp.json';
    expect(existsSync(profile), `${profile} (package golang-github-containers-common)`)
      .toBe(true);
    const r = runWasm({ 'hello.wasm': fx.component }, ['/hello.wasm', 'exit=0'], (s) => {
      s.linux!.seccomp = JSON.parse(readFileSync(profile, 'utf8')) as LinuxSeccomp;
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
