/**
 * The client side of the agent protocol (native/PROTOCOL.md): frames requests, matches
 * answers to them in order, and turns a failed answer into a SysError.
 *
 * A container's setup is some hundred requests, most of them pipelined (agent.ts). The frames
 * one turn of the event loop makes are queued and written together, once that turn's
 * JavaScript has run (process.nextTick runs after the promise continuations the requests were
 * made in): one write and one read per batch instead of one per request, on both sides.
 */
import type { Duplex } from 'node:stream';

import { systemError } from './failure.js';
import { SysError } from './sys.js';

export type Arg = number | bigint | string | Uint8Array;

export interface Answer {
  ret: bigint;
  payload: Buffer;
}

interface Pending {
  describe: string;
  resolve: (answer: Answer) => void;
  reject: (err: Error) => void;
  /** EXEC succeeds by closing the channel without an answer. */
  eofIsSuccess: boolean;
}

const ANSWER_HEADER = 12;
const EMPTY = Buffer.alloc(0);

/** Formats an errno the way every hako error shows it: `no such file or directory (ENOENT)`. */
export function errnoText(errno: number): { code: string; text: string } {
  const entry = systemError(errno);
  if (!entry) return { code: `E${errno}`, text: `errno ${errno}` };
  return { code: entry[0], text: `${entry[1]} (${entry[0]})` };
}

export class Channel {
  private readonly pending: Pending[] = [];
  /** Frames (and raw bytes) not yet written, in order; written by writeQueued. */
  private queued: Uint8Array[] = [];
  private queuedBytes = 0;
  /** The start of an answer that has not fully arrived, in the pieces it came in. */
  private partial: Buffer[] = [];
  private partialBytes = 0;
  /** How many bytes `partial` must hold before it is worth joining: the whole answer. */
  private partialWanted = 0;
  private closed = false;

  constructor(private readonly socket: Duplex) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.onClose());
    socket.on('close', () => this.onClose());
    // An EPIPE or ECONNRESET means the agent is gone; the pending requests learn it in onClose.
    socket.on('error', () => this.onClose());
  }

  /** Sends one request; the promise settles with its answer. Requests are pipelined. */
  request(op: number, args: Arg[], describe: string, eofIsSuccess = false): Promise<Answer> {
    if (this.closed) {
      return Promise.reject(new Error(`${describe}: the agent has exited`));
    }
    const frame = encode(op, args);
    return new Promise<Answer>((resolve, reject) => {
      this.pending.push({ describe, resolve, reject, eofIsSuccess });
      this.enqueue(frame);
    });
  }

  /**
   * Sends bytes that are no request, right behind the requests sent so far: the agent leaves
   * what follows an EXEC in the socket for the program it execs (the engine's plan).
   */
  send(bytes: Uint8Array): void {
    if (!this.closed) this.enqueue(bytes);
  }

  /** Stops reading: the process may exit while the agent goes on. */
  release(): void {
    this.writeQueued();
    this.socket.removeAllListeners('data');
    this.socket.destroy();
    this.closed = true;
  }

  private enqueue(bytes: Uint8Array): void {
    if (this.queued.length === 0) process.nextTick(() => this.writeQueued());
    this.queued.push(bytes);
    this.queuedBytes += bytes.length;
  }

  private writeQueued(): void {
    const queued = this.queued;
    if (queued.length === 0) return;
    const total = this.queuedBytes;
    this.queued = [];
    this.queuedBytes = 0;
    // Closed: the agent is gone, and onClose has settled every pending request.
    if (this.closed) return;
    this.socket.write(queued.length === 1 ? queued[0] : Buffer.concat(queued, total));
  }

  /**
   * A chunk holds any number of answers, the last maybe cut short. The cut answer's pieces
   * are kept apart and joined once, when all of it is there.
   */
  private onData(chunk: Buffer): void {
    let data = chunk;
    if (this.partial.length > 0) {
      this.partial.push(chunk);
      this.partialBytes += chunk.length;
      if (this.partialBytes < this.partialWanted) return;
      data = Buffer.concat(this.partial, this.partialBytes);
      this.partial = [];
    }

    let at = 0;
    while (data.length - at >= 4) {
      const end = at + 4 + data.readUInt32LE(at);
      if (end > data.length) break;
      this.settle(data.subarray(at + 4, end));
      at = end;
    }
    if (at < data.length) {
      this.partial = [data.subarray(at)];
      this.partialBytes = data.length - at;
      this.partialWanted = this.partialBytes < 4 ? 4 : 4 + data.readUInt32LE(at);
    }
  }

  private settle(frame: Buffer): void {
    const waiting = this.pending.shift();
    if (!waiting || frame.length < ANSWER_HEADER) return;
    const ret = frame.readBigInt64LE(0);
    const errno = frame.readInt32LE(8);
    const payload = frame.length > ANSWER_HEADER ? frame.subarray(ANSWER_HEADER) : EMPTY;
    if (errno === 0) {
      waiting.resolve({ ret, payload });
      return;
    }
    const { code, text } = errnoText(errno);
    waiting.reject(new SysError(waiting.describe, errno, code, text));
  }

  private onClose(): void {
    if (this.closed && this.pending.length === 0) return;
    this.closed = true;
    for (const waiting of this.pending.splice(0)) {
      if (waiting.eofIsSuccess) waiting.resolve({ ret: 0n, payload: Buffer.alloc(0) });
      else waiting.reject(new Error(`${waiting.describe}: the agent exited without answering`));
    }
  }
}

/** One request frame (PROTOCOL.md, Framing), sized first and written into one buffer. */
export function encode(op: number, args: Arg[]): Buffer {
  let size = 12;
  for (const arg of args) {
    if (typeof arg === 'number' || typeof arg === 'bigint') size += 12;
    else size += 8 + (typeof arg === 'string' ? Buffer.byteLength(arg) : arg.byteLength);
  }

  const frame = Buffer.allocUnsafe(size);
  frame.writeUInt32LE(size - 4, 0);
  frame.writeUInt32LE(op, 4);
  frame.writeUInt32LE(args.length, 8);
  let at = 12;
  for (const arg of args) {
    if (typeof arg === 'number' || typeof arg === 'bigint') {
      frame.writeUInt32LE(0, at);
      writeI64(frame, arg, at + 4);
      at += 12;
      continue;
    }
    let n: number;
    if (typeof arg === 'string') {
      n = frame.write(arg, at + 8);
    } else {
      frame.set(arg, at + 8);
      n = arg.byteLength;
    }
    frame.writeUInt32LE(1, at);
    frame.writeUInt32LE(n, at + 4);
    at += 8 + n;
  }
  return frame;
}

/** An i64 field; integers a double holds exactly go without a BigInt. */
function writeI64(frame: Buffer, value: number | bigint, at: number): void {
  if (typeof value === 'number' && Number.isSafeInteger(value)) {
    // The low half modulo 2^32, the high half floored: -1 is all ones, as in two's complement.
    frame.writeUInt32LE(value >>> 0, at);
    frame.writeInt32LE(Math.floor(value / 2 ** 32), at + 4);
    return;
  }
  frame.writeBigInt64LE(BigInt.asIntN(64, BigInt(value)), at);
}

/** argv and env travel as one bytes argument: each string followed by a NUL. */
export function nulList(items: string[]): Buffer {
  return Buffer.from(items.map((item) => `${item}\0`).join(''));
}
