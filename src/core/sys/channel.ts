/**
 * The client side of the agent protocol (native/PROTOCOL.md): frames requests, matches
 * answers to them in order, and turns a failed answer into a SysError.
 */
import type { Duplex } from 'node:stream';
import { getSystemErrorMap } from 'node:util';

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

/** Formats an errno the way every hako error shows it: `no such file or directory (ENOENT)`. */
export function errnoText(errno: number): { code: string; text: string } {
  const entry = getSystemErrorMap().get(-errno);
  if (!entry) return { code: `E${errno}`, text: `errno ${errno}` };
  return { code: entry[0], text: `${entry[1]} (${entry[0]})` };
}

export class Channel {
  private readonly pending: Pending[] = [];
  private buffered: Buffer = Buffer.alloc(0);
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
      this.socket.write(frame);
    });
  }

  /** Stops reading: the process may exit while the agent goes on. */
  release(): void {
    this.socket.removeAllListeners('data');
    this.socket.destroy();
    this.closed = true;
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    while (this.buffered.length >= 4) {
      const length = this.buffered.readUInt32LE(0);
      if (this.buffered.length < 4 + length) return;
      const frame = this.buffered.subarray(4, 4 + length);
      this.buffered = this.buffered.subarray(4 + length);
      this.settle(frame);
    }
  }

  private settle(frame: Buffer): void {
    const waiting = this.pending.shift();
    if (!waiting || frame.length < ANSWER_HEADER) return;
    const ret = frame.readBigInt64LE(0);
    const errno = frame.readInt32LE(8);
    const payload = frame.subarray(ANSWER_HEADER);
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

function encode(op: number, args: Arg[]): Buffer {
  const parts: Buffer[] = [];
  const head = Buffer.alloc(12);
  head.writeUInt32LE(op, 4);
  head.writeUInt32LE(args.length, 8);
  parts.push(head);
  for (const arg of args) {
    if (typeof arg === 'number' || typeof arg === 'bigint') {
      const field = Buffer.alloc(12);
      field.writeUInt32LE(0, 0);
      field.writeBigInt64LE(BigInt.asIntN(64, BigInt(arg)), 4);
      parts.push(field);
      continue;
    }
    const bytes = typeof arg === 'string' ? Buffer.from(arg) : Buffer.from(arg);
    const field = Buffer.alloc(8);
    field.writeUInt32LE(1, 0);
    field.writeUInt32LE(bytes.length, 4);
    parts.push(field, bytes);
  }
  const frame = Buffer.concat(parts);
  frame.writeUInt32LE(frame.length - 4, 0);
  return frame;
}

/** argv and env travel as one bytes argument: each string followed by a NUL. */
export function nulList(items: string[]): Buffer {
  return Buffer.from(items.map((item) => `${item}\0`).join(''));
}
