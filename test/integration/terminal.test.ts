// process.terminal: the pty made in the container's devpts, its master handed over a
// --console-socket (as conmon and containerd receive it) or kept by `hako run`, which then
// proxies it, in a real terminal driven through tmux.
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { HAKO, REPO, Scratch } from './helpers.js';

const RECEIVER = join(REPO, 'test', 'integration', 'console-receiver.py');
const SIZE = { height: 33, width: 111 };

let scratch: Scratch;

beforeAll(() => {
  scratch = new Scratch();
});

afterAll(() => {
  scratch.cleanup();
});

/** A bundle whose process has a terminal of SIZE and runs `args`. */
function terminalBundle(args: string[]): string {
  return scratch.bundle((spec) => {
    spec.process!.terminal = true;
    spec.process!.consoleSize = SIZE;
    spec.process!.args = args;
  });
}

/** Lines of a child's stdout, as they come. */
class Lines {
  private text = '';
  private closed = false;

  constructor(child: ChildProcessWithoutNullStreams) {
    child.stdout.on('data', (chunk: Buffer) => (this.text += chunk.toString()));
    child.on('close', () => (this.closed = true));
  }

  get all(): string {
    return this.text;
  }

  async until(pattern: RegExp, ms = 10_000): Promise<RegExpMatchArray> {
    for (const deadline = Date.now() + ms; Date.now() < deadline;) {
      const match = this.text.match(pattern);
      if (match) return match;
      if (this.closed) break;
      await sleep(20);
    }
    throw new Error(`no ${pattern} in: ${JSON.stringify(this.text)}`);
  }

  async closedWithin(ms: number): Promise<boolean> {
    for (const deadline = Date.now() + ms; !this.closed && Date.now() < deadline;) await sleep(20);
    return this.closed;
  }
}

/** `hako create`, asynchronously: when it exits, and when its stdout and stderr reach EOF. */
async function createTimed(args: string[]) {
  const child = spawn(HAKO, ['--root', scratch.root, 'create', ...args]);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ status: number | null; at: number }>((resolve) => {
    child.on('exit', (status) => resolve({ status, at: Date.now() }));
  });
  const closed = new Promise<number>((resolve) => child.on('close', () => resolve(Date.now())));
  const exit = await exited;
  // If the container kept create's stdout or stderr, EOF would come only when it exits.
  const eofAt = await Promise.race([closed, sleep(5_000).then(() => Infinity)]);
  return { status: exit.status, stderr, eofDelayMs: eofAt - exit.at };
}

describe('--console-socket', () => {
  it('sends one pty master before create exits; the container has only the pty', async () => {
    const bundle = terminalBundle(['sh']);
    const socket = join(scratch.dir, 'console.sock');
    const pidFile = join(scratch.dir, 'console.pid');
    const id = scratch.id('console');
    const receiver = spawn('python3', [RECEIVER, socket]);
    const out = new Lines(receiver);
    try {
      await out.until(/^listening\n/);

      // The receiver has not accepted yet: containerd accepts only after create returns.
      const created = await createTimed([
        '--bundle', bundle, '--console-socket', socket, '--pid-file', pidFile, id,
      ]);
      expect(created.stderr).toBe('');
      expect(created.status).toBe(0);
      expect(created.eofDelayMs).toBeLessThan(1_000);

      const pid = Number(readFileSync(pidFile, 'utf8'));
      // With a terminal the waiting init's stdio is the pty only (create's were replaced).
      const stdio = ['0', '1', '2'].map((fd) => [fd, readlinkSync(`/proc/${pid}/fd/${fd}`)]);
      expect(stdio).toEqual([
        ['0', '/dev/pts/0'], ['1', '/dev/pts/0'], ['2', '/dev/pts/0'],
      ]);

      receiver.stdin.write('\n');
      const report = JSON.parse((await out.until(/^\{.*\}$/m))[0]) as Record<string, unknown>;
      expect(report).toEqual({
        name: '/dev/pts/0', fds: 1, cmsgs: 1, truncated: false, more: 0,
      });

      expect(scratch.hako(['start', id]).status).toBe(0);
      receiver.stdin.write('tty; stty size; ls -l /proc/self/fd; exit 3\n');
      expect(await out.closedWithin(10_000)).toBe(true);
      const text = out.all.replaceAll('\r', '');
      expect(text).toMatch(/^\/dev\/pts\/0$/m);
      expect(text).toMatch(new RegExp(`^${SIZE.height} ${SIZE.width}$`, 'm'));
      for (const fd of [0, 1, 2]) expect(text).toMatch(new RegExp(` ${fd} -> /dev/pts/0$`, 'm'));

      expect(JSON.parse(scratch.hako(['state', id]).stdout).status).toBe('stopped');
      expect(scratch.hako(['delete', id]).status).toBe(0);
    } finally {
      receiver.kill('SIGKILL');
    }
  });

  it('refuses a terminal without a socket for create and run -d, leaving nothing', () => {
    const bundle = terminalBundle(['true']);
    for (const command of [['create'], ['run', '-d']]) {
      const id = scratch.id('nosocket');
      const result = scratch.hako([...command, '--bundle', bundle, id]);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('process.terminal is true');
      expect(result.stderr).toContain('--console-socket');
      expect(existsSync(join(scratch.root, id))).toBe(false);
    }
  });
});

describe('run without --console-socket', () => {
  it('proxies the pty for a stdin that is not a terminal, as runc does', () => {
    const bundle = terminalBundle(['sh']);
    const result = scratch.hako(['run', '--bundle', bundle, scratch.id('piped')], {
      input: 'tty; stty size; echo piped; exit 4\n',
    });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(4);
    // consoleSize stays: there is no terminal to take the size from. ONLCR is off, as runc
    // sets it, so the output has plain line ends.
    expect(result.stdout).toMatch(/^\/dev\/pts\/0\n/m);
    expect(result.stdout).toMatch(new RegExp(`^${SIZE.height} ${SIZE.width}\n`, 'm'));
    expect(result.stdout).toMatch(/^piped\n/m);
    expect(result.stdout).not.toContain('\r');
  });

  it('gives an interactive shell in a terminal, with resize, ^C and exit status', async () => {
    const tmux = new Tmux(join(scratch.dir, 'tmux.sock'));
    const bundle = terminalBundle(['sh']);
    const id = scratch.id('tty');
    const hako = `${HAKO} --root ${scratch.root} run --bundle ${bundle} ${id}`;
    try {
      tmux.start(90, 40, `stty -g > before; ${hako}; echo status=$?; stty -g > after; sleep 600`,
        scratch.dir);
      await tmux.until(/^\/ #$/m);

      tmux.type('stty size; tty');
      await tmux.until(/^40 90\n\/dev\/pts\/0$/m);

      tmux.resize(70, 30);
      tmux.type('stty size');
      await tmux.until(/^30 70$/m);

      // Raw mode on the host: ^C is a byte for the container's line discipline, not a
      // signal for hako.
      tmux.type('sleep 100');
      await sleep(300);
      tmux.keys('C-c');
      tmux.type('echo rc=$?');
      await tmux.until(/^rc=130$/m);

      tmux.type('echo hi; exit 3');
      await tmux.until(/^hi\nstatus=3$/m);
      const before = readFileSync(join(scratch.dir, 'before'), 'utf8');
      // The shell creates the file, then stty writes it: wait for the whole line.
      const after = join(scratch.dir, 'after');
      const written = () => existsSync(after) && readFileSync(after, 'utf8').endsWith('\n');
      for (let i = 0; i < 100 && !written(); i++) await sleep(20);
      expect(readFileSync(join(scratch.dir, 'after'), 'utf8')).toBe(before);
      expect(scratch.hako(['list', '-q']).stdout.split('\n')).not.toContain(id);
    } finally {
      tmux.stop();
    }
  });
});

/** A private tmux server with one window, driven like a person at a terminal. */
class Tmux {
  constructor(private readonly socket: string) {}

  private tmux(...args: string[]): string {
    const result = spawnSync('tmux', ['-S', this.socket, ...args], { encoding: 'utf8' });
    if (result.error) throw result.error;
    if (result.status !== 0) throw new Error(`tmux ${args[0]}: ${result.stderr.trim()}`);
    return result.stdout;
  }

  start(width: number, height: number, command: string, cwd: string): void {
    this.tmux('new-session', '-d', '-s', 't', '-c', cwd, '-x', String(width), '-y',
      String(height), command);
  }

  type(line: string): void {
    this.tmux('send-keys', '-t', 't', '-l', line);
    this.tmux('send-keys', '-t', 't', 'Enter');
  }

  keys(...keys: string[]): void {
    this.tmux('send-keys', '-t', 't', ...keys);
  }

  resize(width: number, height: number): void {
    this.tmux('resize-window', '-t', 't', '-x', String(width), '-y', String(height));
  }

  screen(): string {
    return this.tmux('capture-pane', '-p', '-t', 't', '-S', '-200')
      .split('\n').map((line) => line.trimEnd()).join('\n');
  }

  async until(pattern: RegExp, ms = 10_000): Promise<void> {
    let text = '';
    for (const deadline = Date.now() + ms; Date.now() < deadline; await sleep(50)) {
      text = this.screen();
      if (pattern.test(text)) return;
    }
    throw new Error(`no ${pattern} on the screen:\n${text}`);
  }

  stop(): void {
    spawnSync('tmux', ['-S', this.socket, 'kill-server']);
  }
}
