/**
 * `wasi:io/streams` for a component's stdio, on plain file descriptors.
 *
 * preview2-shim's own stdout goes through `process.stdout`, and its stdin through a read
 * loop on its worker thread; neither can be pointed at another descriptor, and writes queued
 * on `process.stdout` can be lost if the engine exits right after the guest. These streams
 * write and read synchronously, so the guest's output is on the descriptor when `run`
 * returns. They subclass the shim's classes because the generated bindings check
 * `instanceof` on every stream they are handed.
 */

import { readSync, writeSync } from 'node:fs';

/** The parts of preview2-shim's `io` and `clocks` modules used here. */
export interface ShimIo {
  streams: { InputStream: new () => object; OutputStream: new () => object };
  error: { Error: new (message: string) => object };
}

export interface Pollable {
  block(): void;
}

export interface ShimClocks {
  monotonicClock: { subscribeDuration(ns: bigint): Pollable };
}

/** What a guest may write per check-write; the WASI spec asks for at least 4096. */
const WRITE_BUDGET = 1n << 20n;
const READ_CHUNK = 1 << 16;

const pause = new Int32Array(new SharedArrayBuffer(4));

export function fdStreamClasses(io: ShimIo, clocks: ShimClocks) {
  // Descriptors of files and terminals are always ready; a duration of zero is a pollable
  // that is ready at once, made by the shim, which only accepts its own pollables.
  const ready = (): Pollable => clocks.monotonicClock.subscribeDuration(0n);
  const failed = (e: unknown) => streamError(io, e);

  class FdOutputStream extends io.streams.OutputStream {
    constructor(private readonly fd: number) {
      super();
    }
    checkWrite(): bigint {
      return WRITE_BUDGET;
    }
    write(buf: Uint8Array): void {
      writeAll(this.fd, buf, failed);
    }
    blockingWriteAndFlush(buf: Uint8Array): void {
      writeAll(this.fd, buf, failed);
    }
    flush(): void {}
    blockingFlush(): void {}
    writeZeroes(len: bigint): void {
      writeAll(this.fd, new Uint8Array(Number(len)), failed);
    }
    blockingWriteZeroesAndFlush(len: bigint): void {
      this.writeZeroes(len);
    }
    splice(src: { blockingRead(len: bigint): Uint8Array }, len: bigint): bigint {
      const data = src.blockingRead(len);
      writeAll(this.fd, data, failed);
      return BigInt(data.length);
    }
    blockingSplice(src: { blockingRead(len: bigint): Uint8Array }, len: bigint): bigint {
      return this.splice(src, len);
    }
    subscribe(): Pollable {
      return ready();
    }
  }

  class FdInputStream extends io.streams.InputStream {
    constructor(private readonly fd: number) {
      super();
    }
    // No non-blocking read on a descriptor from Node: `read` waits, as `blockingRead` does.
    read(len: bigint): Uint8Array {
      return this.blockingRead(len);
    }
    blockingRead(len: bigint): Uint8Array {
      const buf = new Uint8Array(Math.min(Number(len), READ_CHUNK));
      if (buf.length === 0) {
        return buf;
      }
      const n = retrying(() => readSync(this.fd, buf, 0, buf.length, null), failed);
      if (n === 0) {
        throw { tag: 'closed' };
      }
      return buf.subarray(0, n);
    }
    skip(len: bigint): bigint {
      return BigInt(this.blockingRead(len).length);
    }
    blockingSkip(len: bigint): bigint {
      return this.skip(len);
    }
    subscribe(): Pollable {
      return ready();
    }
  }

  return { FdInputStream, FdOutputStream };
}

function writeAll(fd: number, buf: Uint8Array, failed: (e: unknown) => unknown): void {
  let done = 0;
  while (done < buf.length) {
    done += retrying(() => writeSync(fd, buf, done, buf.length - done), failed);
  }
}

/** Runs a read or write, waiting out EAGAIN: the descriptor may be non-blocking. */
function retrying(op: () => number, failed: (e: unknown) => unknown): number {
  for (;;) {
    try {
      return op();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') {
        throw failed(e);
      }
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

/** A stream-error as the bindings expect it thrown: `closed` or `last-operation-failed`. */
function streamError(io: ShimIo, e: unknown): unknown {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EPIPE' || code === 'EBADF') {
    return { tag: 'closed' };
  }
  const message = e instanceof Error ? e.message : String(e);
  return { tag: 'last-operation-failed', val: new io.error.Error(message) };
}
