/**
 * The agent's framing (native/PROTOCOL.md) with raw frames: batches of pipelined requests
 * written at once, frames cut in pieces or larger than the agent's buffer, malformed and
 * oversized frames, and the ops after which the socket belongs to someone else (FORK, EXEC,
 * WAIT_START). Needs no root: only umask, files in a scratch dir and fork.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';

import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { encode } from '../../src/core/sys/channel.js';
import { agentPath } from '../../src/core/sys/spawn.js';

const UMASK = 53;
const FORK = 3;
const WRITE_FILE = 19;
const STAT = 20;
const LISTEN_UNIX = 40;
const DUP2 = 44;
const EXEC = 60;
const WAIT_START = 61;
const EINVAL = 22;
const E2BIG = 7;
const ENOSYS = 38;
const EPROTO = 71;
const ECANCELED = 125;

const dir = mkdtempSync(join(tmpdir(), 'hako-agent-protocol-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Answer {
  ret: bigint;
  errno: number;
  payload: Buffer;
}

/** One end of a control socket, read as the bytes arrive. */
class Peer {
  private data = Buffer.alloc(0);
  private ended = false;
  private wake: () => void = () => undefined;

  constructor(readonly socket: Duplex) {
    socket.on('data', (chunk: Buffer) => {
      this.data = Buffer.concat([this.data, chunk]);
      this.wake();
    });
    const end = () => {
      this.ended = true;
      this.wake();
    };
    socket.on('end', end);
    socket.on('close', end);
    socket.on('error', end);
  }

  /** Writes all the frames with one write. */
  send(...frames: Buffer[]): void {
    this.socket.write(Buffer.concat(frames));
  }

  /** The next n bytes; fewer only at EOF. */
  async take(n: number): Promise<Buffer> {
    while (this.data.length < n && !this.ended) {
      await new Promise<void>((done) => { this.wake = done; });
    }
    const taken = this.data.subarray(0, n);
    this.data = this.data.subarray(taken.length);
    return taken;
  }

  async answers(count: number): Promise<Answer[]> {
    const answers: Answer[] = [];
    for (let i = 0; i < count; i++) {
      const head = await this.take(4);
      if (head.length < 4) throw new Error(`EOF after ${i} of ${count} answers`);
      const frame = await this.take(head.readUInt32LE(0));
      answers.push({
        ret: frame.readBigInt64LE(0),
        errno: frame.readInt32LE(8),
        payload: frame.subarray(12),
      });
    }
    return answers;
  }

  /** Everything up to EOF. */
  async rest(): Promise<Buffer> {
    return this.take(Number.MAX_SAFE_INTEGER);
  }
}

const children: ChildProcess[] = [];
const pids: number[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const pid of pids.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

function startAgent(): Peer {
  const child = spawn(agentPath(), ['3'], {
    stdio: ['ignore', 'ignore', 'inherit', 'pipe'], env: {},
  });
  children.push(child);
  return new Peer(child.stdio[3] as Duplex);
}

const umask = (mask: number) => encode(UMASK, [mask]);
const errnos = (answers: Answer[]) => answers.map((a) => a.errno);

describe('the agent protocol', () => {
  it('serves a batch written at once in order, one answer per request', async () => {
    const agent = startAgent();
    const masks = Array.from({ length: 400 }, (_, i) => (i * 7) % 0o777);
    agent.send(...masks.map(umask));
    const answers = await agent.answers(masks.length);
    // Each UMASK answers the mask the one before it set.
    expect(errnos(answers).every((errno) => errno === 0)).toBe(true);
    expect(answers.slice(1).map((a) => Number(a.ret))).toEqual(masks.slice(0, -1));
  });

  it('fails sticky inside a batch: malformed frame, unknown op, wrong arguments', async () => {
    const malformed = Buffer.from([3, 0, 0, 0, 1, 2, 3]);
    const cases: Array<[Buffer, number]> = [
      [malformed, EPROTO],
      [encode(99, []), ENOSYS],
      [encode(UMASK, ['022']), EINVAL],
    ];
    for (const [bad, errno] of cases) {
      const agent = startAgent();
      agent.send(umask(0o22), bad, umask(0o33), encode(STAT, ['/', 0]));
      expect(errnos(await agent.answers(4))).toEqual([0, errno, ECANCELED, ECANCELED]);
    }
  });

  it('reads a frame larger than its buffer, and one that arrives in pieces', async () => {
    const agent = startAgent();
    const file = join(dir, 'big');
    writeFileSync(file, '');
    const data = 'x'.repeat(300_000);
    agent.send(umask(0o22), encode(WRITE_FILE, [file, data, 0]), umask(0o33));
    expect(errnos(await agent.answers(3))).toEqual([0, 0, 0]);
    expect(readFileSync(file, 'utf8')).toBe(data);

    const cut = encode(WRITE_FILE, [file, 'in pieces', 0]);
    agent.send(umask(0o44), cut.subarray(0, 2));
    await new Promise((done) => setTimeout(done, 20));
    agent.send(cut.subarray(2, 10));
    await new Promise((done) => setTimeout(done, 20));
    agent.send(cut.subarray(10), umask(0o55));
    const answers = await agent.answers(3);
    expect(errnos(answers)).toEqual([0, 0, 0]);
    expect(answers.map((a) => Number(a.ret))).toEqual([0o33, 0, 0o44]);
    expect(readFileSync(file, 'utf8')).toBe('in pieces');
  });

  it('reads and drops a frame over 16 MiB, answers E2BIG, and finds the next frame', async () => {
    const agent = startAgent();
    const head = Buffer.alloc(4);
    head.writeUInt32LE((16 << 20) + 1);
    agent.send(head, Buffer.alloc((16 << 20) + 1), umask(0o22));
    expect(errnos(await agent.answers(2))).toEqual([E2BIG, ECANCELED]);
  });

  it('answers each request once across FORK, the pipelined ones by the child', async () => {
    const agent = startAgent();
    agent.send(umask(0o22), encode(FORK, [0]), umask(0o33), umask(0o44));
    const answers = await agent.answers(4);
    pids.push(Number(answers[1].ret));
    expect(errnos(answers)).toEqual([0, 0, 0, 0]);
    expect(answers[1].ret).toBeGreaterThan(0n);
    expect(answers.slice(2).map((a) => Number(a.ret))).toEqual([0o22, 0o33]);

    // Nothing more: no answer was sent twice by parent and child.
    agent.send(umask(0o55));
    const [next] = await agent.answers(1);
    expect(Number(next.ret)).toBe(0o44);
    agent.socket.end();
    expect((await agent.rest()).length).toBe(0);
  });

  it('leaves what follows EXEC in the socket for the program it runs', async () => {
    const agent = startAgent();
    // Behind EXEC, bytes that look like a request (hako's engine plan is framed too).
    const behind = Buffer.concat([umask(0o22), Buffer.from('plan')]);
    const argv = Buffer.from(['cat', '-'].map((s) => `${s}\0`).join(''));
    agent.send(
      encode(DUP2, [3, 0]),
      encode(DUP2, [3, 1]),
      encode(EXEC, ['/bin/cat', argv, Buffer.alloc(0), 3, Buffer.alloc(0), 0]),
      behind,
    );
    expect(await agent.answers(2)).toMatchObject([{ ret: 0n, errno: 0 }, { ret: 1n, errno: 0 }]);
    // cat copies what it reads back, until EOF.
    agent.socket.end();
    expect((await agent.rest()).equals(behind)).toBe(true);
  });

  it('takes nothing after WAIT_START from the connection it closes', async () => {
    const agent = startAgent();
    const path = join(dir, 'start.sock');
    agent.send(umask(0o27), encode(LISTEN_UNIX, [path]));
    const [, listening] = await agent.answers(2);
    expect(listening.errno).toBe(0);

    agent.send(encode(WAIT_START, [Number(listening.ret)]), umask(0o11));
    expect(errnos(await agent.answers(1))).toEqual([0]);
    expect((await agent.rest()).length).toBe(0);

    // The first UMASK on the new connection finds the mask set before WAIT_START.
    const start = new Peer(connect(path));
    start.send(umask(0o22), umask(0o33));
    const after = await start.answers(2);
    expect(after.map((a) => Number(a.ret))).toEqual([0o27, 0o22]);
    start.socket.end();
  });
});
