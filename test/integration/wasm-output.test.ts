/**
 * A wasm guest's output and the descriptors it goes through. The container's stdout and
 * stderr are open files shared with the caller (a shell, conmon, the containerd shim): every
 * byte the guest writes must arrive however slowly the caller reads, and the engine must not
 * make those files non-blocking (O_NONBLOCK belongs to the open file, so the caller would get
 * EAGAIN too, and so would the guest: node:wasi drops what it cannot write).
 */
import { type ChildProcess, type StdioOptions, execFileSync, spawn } from 'node:child_process';
import { closeSync, constants, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { constants as os } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { HAKO } from './helpers.js';
import { waitFor } from './lifecycle-helpers.js';
import { wasmBundle, wasmLeftovers, wasmSuite } from './wasm-helpers.js';

const suite = wasmSuite();
const { signals } = os;

/** Many times a pipe's 64 KiB, so that a reader that waits leaves the guest blocked. */
const OUTPUT_BYTES = 1_500_000;

/** The flag in /proc/<pid>/fdinfo/<fd>, where flags are printed in octal. */
const O_NONBLOCK = 0o4000;

/** How long the slow reader lets the guest fill the pipe before it reads anything. */
const READER_DELAY_MS = 1000;

interface Pipe {
  read: number;
  write: number;
}

/**
 * A pipe whose two ends this test holds, both blocking, as a shell makes one: a FIFO opened
 * once for each end (Node's own child pipes are socket pairs).
 */
function makePipe(): Pipe {
  const path = join(suite.scratch.dir, `fifo-${process.pid}-${Math.random()}`);
  execFileSync('mkfifo', [path]);
  // Opening a FIFO's read end waits for a writer unless O_NONBLOCK: open it so first, then the
  // write end, then a blocking read end, and drop the first.
  const probe = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const write = openSync(path, constants.O_WRONLY);
  const read = openSync(path, constants.O_RDONLY);
  closeSync(probe);
  rmSync(path);
  return { read, write };
}

/** Whether descriptor `fd` of process `pid` (this one unless given) is O_NONBLOCK. */
function isNonBlocking(fd: number, pid: number | 'self' = 'self'): boolean {
  const info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
  const flags = /^flags:\s*([0-7]+)$/m.exec(info)?.[1];
  if (flags === undefined) throw new Error(`no flags in /proc/${pid}/fdinfo/${fd}`);
  return (parseInt(flags, 8) & O_NONBLOCK) !== 0;
}

/** Lines with their number, so that a lost stretch shows where it was. */
function bigFile(): { path: string; text: string } {
  const lines: string[] = [];
  for (let n = 0, size = 0; size < OUTPUT_BYTES; n++) {
    const line = `line ${String(n).padStart(7, '0')} ${'x'.repeat(60)}\n`;
    lines.push(line);
    size += line.length;
  }
  const path = join(suite.scratch.dir, 'big.txt');
  const text = lines.join('');
  writeFileSync(path, text);
  return { path, text };
}

function header(args: string[]): string {
  return `hello from wasm\n${args.map((a) => `arg: ${a}\n`).join('')}env: HELLO=world\n`;
}

function exited(child: ChildProcess): Promise<number> {
  return new Promise((done) => child.on('exit', (code, signal) => {
    done(code ?? 128 + (signal ? signals[signal] : 0));
  }));
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

function hakoSpawn(args: string[], stdio: StdioOptions): ChildProcess {
  return spawn(HAKO, ['--root', suite.scratch.root, ...args], {
    stdio,
    env: { ...process.env, HAKO_WASM_CACHE: join(suite.scratch.dir, 'cache') },
  });
}

/** `cat` from `fd` into `file`, started after `delayMs`: a reader that is slow to begin. */
async function slowReader(fd: number, file: string, delayMs: number): Promise<number> {
  const out = openSync(file, 'w');
  await sleep(delayMs);
  const child = spawn('cat', [], { stdio: [fd, out, 'inherit'] });
  closeSync(out);
  closeSync(fd);
  return exited(child);
}

type Arrangement = 'stdout and stderr in one pipe' | 'stdout alone a pipe' | 'a file';

/**
 * `hako run` of a guest that copies `big` to its stdout, with the container's stdio arranged
 * as named; returns what arrived and the statuses. The test's copies of the pipe are closed
 * once `hako run` has them, so `cat` ends when the container does.
 */
async function runCopying(module: string, arrangement: Arrangement, big: string) {
  const args = ['/copy.wasm', 'cat=/big.txt'];
  const bundle = wasmBundle(suite.scratch, { 'copy.wasm': module, 'big.txt': big }, args);
  const id = suite.scratch.id('out');
  const received = join(suite.scratch.dir, `${id}.received`);
  const errors = join(suite.scratch.dir, `${id}.stderr`);

  let status: Promise<number>;
  let read: Promise<number> = Promise.resolve(0);
  if (arrangement === 'a file') {
    const out = openSync(received, 'w');
    status = exited(hakoSpawn(['run', '--bundle', bundle, id], ['ignore', out, out]));
    closeSync(out);
  } else {
    const pipe = makePipe();
    const err = arrangement === 'stdout alone a pipe' ? openSync(errors, 'w') : pipe.write;
    status = exited(hakoSpawn(['run', '--bundle', bundle, id], ['ignore', pipe.write, err]));
    closeSync(pipe.write);
    if (err !== pipe.write) closeSync(err);
    read = slowReader(pipe.read, received, READER_DELAY_MS);
  }
  const result = { status: await status, reader: await read };
  return { ...result, id, bundle, args, output: readFileSync(received, 'utf8') };
}

describe('a guest that writes more than a pipe holds', () => {
  const arrangements: Arrangement[] = [
    'stdout and stderr in one pipe', 'stdout alone a pipe', 'a file',
  ];

  it.each(arrangements)('loses nothing, a core module, %s', async (arrangement) => {
    const big = bigFile();
    const r = await runCopying(suite.fx.c, arrangement, big.path);
    expect(r.output.length).toBe(header(r.args).length + big.text.length);
    expect(r.output === header(r.args) + big.text).toBe(true);
    expect(r.status).toBe(0);
    expect(r.reader).toBe(0);
    expect(wasmLeftovers(suite.scratch, r.id, r.bundle)).toEqual([]);
  });

  it('loses nothing, a component, stdout and stderr in one pipe', async () => {
    const big = bigFile();
    const r = await runCopying(suite.fx.component, 'stdout and stderr in one pipe', big.path);
    expect(r.output.length).toBe(header(r.args).length + big.text.length);
    expect(r.output === header(r.args) + big.text).toBe(true);
    expect(r.status).toBe(0);
  });

  // Another process holding the same pipe may make it non-blocking at any time (any Node
  // program that uses process.stdout on a pipe does): the guest must wait, not drop.
  it.each([['a core module', 'c'], ['a component', 'component']] as const)(
    'loses nothing, %s, when another holder of the pipe makes it non-blocking', async (_, kind) => {
      const big = bigFile();
      const args = ['/copy.wasm', 'cat=/big.txt'];
      const files = { 'copy.wasm': suite.fx[kind], 'big.txt': big.path };
      const bundle = wasmBundle(suite.scratch, files, args);
      const id = suite.scratch.id('out');
      const received = join(suite.scratch.dir, `${id}.received`);
      const pipe = makePipe();
      const status = exited(hakoSpawn(['run', '--bundle', bundle, id],
        ['ignore', pipe.write, pipe.write]));
      // With nobody reading, the guest fills the pipe and waits.
      await waitFor(() => statusIs(id, 'running'), `${id} to run`);
      await sleep(200);
      // Touching process.stdout makes Node set O_NONBLOCK on the pipe; it stays set while the
      // process lives (Node puts the flags back when it exits, which SIGKILL skips).
      const other = spawn(process.execPath, ['-e', 'process.stdout; setTimeout(() => {}, 5000)'],
        { stdio: ['ignore', pipe.write, 'inherit'] });
      closeSync(pipe.write);
      await waitFor(() => isNonBlocking(1, other.pid as number), 'the other to set O_NONBLOCK');
      const read = slowReader(pipe.read, received, 0);

      expect(await status).toBe(0);
      other.kill('SIGKILL');
      expect(await read).toBe(0);
      const output = readFileSync(received, 'utf8');
      expect(output.length).toBe(header(args).length + big.text.length);
      expect(output === header(args) + big.text).toBe(true);
    });
});

/** A guest that echoes its stdin, its stdout read slowly from a pipe this test holds. */
function catGuest(kind: 'c' | 'component') {
  const out = makePipe();
  const input = makePipe();
  const args = ['/cat.wasm', 'cat=-'];
  const bundle = wasmBundle(suite.scratch, { 'cat.wasm': suite.fx[kind] }, args);
  const id = suite.scratch.id('flags');
  const received = join(suite.scratch.dir, `${id}.received`);
  const reader = slowReader(out.read, received, 0);
  return { out, input, args, bundle, id, received, reader };
}

describe('the caller\'s descriptors', () => {
  // create + start, as conmon and the containerd shim run a container: no `hako run` around
  // the engine whose own exit would put the flags back.
  it.each([['a core module', 'c'], ['a component', 'component']] as const)(
    'stay blocking while %s runs and after it is killed', async (_name, kind) => {
      const { out, input, args, bundle, id, received, reader } = catGuest(kind);

      const created = exited(hakoSpawn(['create', '--bundle', bundle, id],
        [input.read, out.write, out.write]));
      closeSync(input.read);
      expect(await created).toBe(0);
      expect(await exited(hakoSpawn(['start', id], 'ignore'))).toBe(0);
      // The guest has started and waits on its stdin, which this test holds open.
      await waitFor(() => readFileSync(received, 'utf8') === header(args), 'the guest to run');
      expect(isNonBlocking(out.write), 'stdout while the guest runs').toBe(false);
      expect(isNonBlocking(input.write), 'stdin while the guest runs').toBe(false);

      expect(await exited(hakoSpawn(['kill', id, 'KILL'], 'ignore'))).toBe(0);
      await waitFor(() => statusIs(id, 'stopped'), `${id} to stop`);
      expect(isNonBlocking(out.write), 'stdout after the guest was killed').toBe(false);

      expect(await exited(hakoSpawn(['delete', id], 'ignore'))).toBe(0);
      closeSync(out.write);
      closeSync(input.write);
      expect(await reader).toBe(0);
      expect(wasmLeftovers(suite.scratch, id, bundle)).toEqual([]);
    });

  // `hako run`: the guest's stdout and stderr are the caller's, through the CLI.
  it.each([['a core module', 'c'], ['a component', 'component']] as const)(
    'stay blocking while `hako run` runs %s and after it exits', async (_name, kind) => {
      const { out, input, args, bundle, id, received, reader } = catGuest(kind);

      const status = exited(hakoSpawn(['run', '--bundle', bundle, id],
        [input.read, out.write, out.write]));
      closeSync(input.read);
      await waitFor(() => readFileSync(received, 'utf8') === header(args), 'the guest to run');
      expect(isNonBlocking(out.write), 'stdout while the guest runs').toBe(false);
      expect(isNonBlocking(input.write), 'stdin while the guest runs').toBe(false);

      writeFileSync(input.write, 'the end\n');
      closeSync(input.write);
      expect(await status).toBe(0);
      expect(isNonBlocking(out.write), 'stdout after the run').toBe(false);
      closeSync(out.write);
      expect(await reader).toBe(0);
      expect(readFileSync(received, 'utf8')).toBe(`${header(args)}the end\n`);
      expect(wasmLeftovers(suite.scratch, id, bundle)).toEqual([]);
    });
});

function statusIs(id: string, status: string): boolean {
  const r = suite.scratch.hako(['state', id]);
  return r.status === 0 && (JSON.parse(r.stdout) as { status: string }).status === status;
}
