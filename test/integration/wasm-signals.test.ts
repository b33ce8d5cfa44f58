/**
 * Stop signals and wasm guests. The engine is pid 1 of the container's pid namespace, where
 * the kernel drops every signal the process has no handler for, and a guest that computes
 * never lets a JavaScript handler run: `hako kill <id> TERM` must still end it at once, with
 * the status a killed process has (128 + the signal), as seen by `hako run` and `hako state`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { compileWat } from '../../src/handlers/wasm/wat.js';
import { buildComponent } from '../fixtures/wasm/build.js';
import { HAKO } from './helpers.js';
import { isLive, stateOf, waitFor } from './lifecycle-helpers.js';
import { wasmBundle, wasmLeftovers, wasmSuite } from './wasm-helpers.js';

const suite = wasmSuite();

/** A WASI command that never returns and never calls WASI: `_start` is `(loop br 0)`. */
const SPIN_WAT = '(module (memory (export "memory") 1) (func (export "_start") (loop br 0)))';

/** Far below podman's 10 s before SIGKILL; a stopped guest takes some 100 ms here. */
const PROMPT_MS = 3000;

interface Guest {
  id: string;
  bundle: string;
  pid: number;
  out: string;
  child: ChildProcess;
  exited: Promise<number>;
}

/**
 * `hako run` of `files` with `args`, in the background; resolves once the engine runs the
 * guest. stdin is a pipe this test holds open, so a guest that reads it waits.
 */
async function startGuest(files: Record<string, string>, args: string[], keep = false) {
  const bundle = wasmBundle(suite.scratch, files, args);
  const id = suite.scratch.id('sig');
  const out = join(suite.scratch.dir, `${id}.out`);
  const outFd = openSync(out, 'w');
  const child = spawn(HAKO, ['--root', suite.scratch.root, 'run', ...(keep ? ['--keep'] : []),
    '--bundle', bundle, id], {
    stdio: ['pipe', outFd, outFd],
    env: { ...process.env, HAKO_WASM_CACHE: join(suite.scratch.dir, 'cache') },
  });
  closeSync(outFd);
  const exited = new Promise<number>((done) => child.on('exit', (code, signal) => {
    done(code ?? 128 + (signal ? constants.signals[signal] : 0));
  }));
  await waitFor(() => stateIs(id, 'running'), `${id} to run`, 20_000);
  return { id, bundle, pid: stateOf(suite.scratch, id).pid as number, out, child, exited };
}

function stateIs(id: string, status: string): boolean {
  const r = suite.scratch.hako(['state', id]);
  return r.status === 0 && (JSON.parse(r.stdout) as { status: string }).status === status;
}

/** User plus system CPU time of a process, in clock ticks (fields 14 and 15 of stat). */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** Waits until the guest has computed for a while: it is busy, not blocked. */
async function whileComputing(guest: Guest): Promise<void> {
  const before = cpuTicks(guest.pid);
  await waitFor(() => cpuTicks(guest.pid) >= before + 20, 'the guest to compute');
}

/** `hako kill <id> <signal>`, then the time until `hako run` returned, and its status. */
async function killAndTime(guest: Guest, signal: string) {
  const began = performance.now();
  expect(suite.scratch.hako(['kill', guest.id, signal]).status).toBe(0);
  const timeout = new Promise<number>((done) => setTimeout(() => done(-1), 15_000));
  const status = await Promise.race([guest.exited, timeout]);
  const ms = performance.now() - began;
  guest.child.stdin?.destroy();
  if (status === -1) {
    suite.scratch.hako(['kill', guest.id, 'KILL']);
    await guest.exited;
  }
  return { status, ms };
}

async function spinModule(): Promise<string> {
  const file = join(suite.fx.dir, 'spin.wasm');
  writeFileSync(file, await compileWat(SPIN_WAT, 'spin.wat'));
  return file;
}

describe('a guest that computes', () => {
  it('ends on TERM, INT, HUP and QUIT with 128 + the signal', async () => {
    const module = await spinModule();
    const cases: [string, number][] = [['TERM', 143], ['INT', 130], ['HUP', 129], ['QUIT', 131]];
    for (const [signal, status] of cases) {
      const guest = await startGuest({ 'spin.wasm': module }, ['/spin.wasm']);
      await whileComputing(guest);
      const killed = await killAndTime(guest, signal);
      expect(killed.status, signal).toBe(status);
      expect(killed.ms, signal).toBeLessThan(PROMPT_MS);
      expect(wasmLeftovers(suite.scratch, guest.id, guest.bundle)).toEqual([]);
    }
  });

  it('ends a component on TERM; hako state shows it stopped', async () => {
    const component = await buildComponent(await spinModule(), suite.fx.dir, 'spin.cm.wasm');
    const guest = await startGuest({ 'spin.wasm': component }, ['/spin.wasm'], true);
    await whileComputing(guest);
    const killed = await killAndTime(guest, 'TERM');
    expect(killed.status).toBe(143);
    expect(killed.ms).toBeLessThan(PROMPT_MS);
    expect(isLive(guest.pid)).toBe(false);
    expect(stateOf(suite.scratch, guest.id).status).toBe('stopped');
    expect(suite.scratch.hako(['delete', guest.id]).status).toBe(0);
    expect(wasmLeftovers(suite.scratch, guest.id, guest.bundle)).toEqual([]);
  });
});

describe('a guest that waits in a WASI call', () => {
  // It used to see its read interrupted, take that for the end of stdin and exit 0.
  it('ends on TERM with 143, a module and a component alike', async () => {
    for (const module of [suite.fx.c, suite.fx.component]) {
      const guest = await startGuest({ 'cat.wasm': module }, ['/cat.wasm', 'cat=-']);
      await waitFor(() => readFileSync(guest.out, 'utf8').includes('arg: cat=-\n'),
        'the guest to read its stdin');
      const killed = await killAndTime(guest, 'TERM');
      expect(killed.status).toBe(143);
      expect(killed.ms).toBeLessThan(PROMPT_MS);
      expect(readFileSync(guest.out, 'utf8')).toBe(
        'hello from wasm\narg: /cat.wasm\narg: cat=-\nenv: HELLO=world\n');
    }
  });
});

describe('SIGUSR1', () => {
  it('does not open Node\'s inspector in the container', async () => {
    const guest = await startGuest({ 'spin.wasm': await spinModule() }, ['/spin.wasm']);
    await whileComputing(guest);
    expect(suite.scratch.hako(['kill', guest.id, 'USR1']).status).toBe(0);
    await new Promise((done) => setTimeout(done, 500));
    // /proc/<pid>/net/tcp lists the sockets of the container's network namespace: port 9229
    // is 240D, and state 0A is LISTEN.
    const listening = readFileSync(`/proc/${guest.pid}/net/tcp`, 'utf8')
      .split('\n')
      .filter((line) => / [0-9A-F]{8}:240D [0-9A-F]{8}:0000 0A /.test(line));
    expect(listening).toEqual([]);
    const killed = await killAndTime(guest, 'TERM');
    expect(killed.status).toBe(143);
  });
});
