/**
 * hako's own process.stdout and process.stderr, for the CLI and the engine: on a pipe or a
 * socket they write synchronously and leave the descriptor's flags alone.
 *
 * Node makes these streams libuv handles when they are pipes or sockets, and libuv puts the
 * descriptor in non-blocking mode (uv_pipe_open sets O_NONBLOCK, whatever the caller asks).
 * That flag belongs to the open file description, which the caller shares: a shell with
 * `2>&1 | reader`, conmon, the containerd shim, and the container's workload. In the wasm
 * engine the workload runs in this very process, so node:wasi's fd_write then fails with
 * EAGAIN as soon as the reader falls behind, and wasi-libc drops that output; the caller's own
 * writes fail alike. Not touching the streams is not enough: Node creates process.stderr by
 * itself when any net.Socket is destroyed (Socket#_destroy compares the socket with it), and
 * the engine destroys the `start` connection right before the guest runs. So the getters are
 * replaced: a terminal or a file still gets Node's stream (a terminal is reopened by libuv,
 * a file is written synchronously, neither changes the caller's flags).
 *
 * stdin is left to Node: the engine never reads process.stdin (the guest reads descriptor 0
 * directly), the CLI only for `update -`, and a replacement would have to read without
 * blocking the event loop.
 */
import { fstatSync, writeSync } from 'node:fs';
import { Writable } from 'node:stream';

/** What Atomics.wait sleeps on; made on first use (no SharedArrayBuffer in a snapshot). */
let pause: Int32Array | undefined;

/** Installs the getters; call first thing, before anything touches the streams. */
export function keepStdioBlocking(): void {
  replaceStream('stdout', 1);
  replaceStream('stderr', 2);
}

function replaceStream(name: 'stdout' | 'stderr', fd: number): void {
  const nodeGetter = Object.getOwnPropertyDescriptor(process, name)?.get;
  if (nodeGetter === undefined) return;
  let stream: NodeJS.WriteStream | undefined;
  Object.defineProperty(process, name, {
    configurable: true,
    enumerable: true,
    get: () => {
      stream ??= isPipeOrSocket(fd) ? syncStream(fd) : nodeGetter.call(process);
      return stream;
    },
  });
}

function isPipeOrSocket(fd: number): boolean {
  try {
    const stat = fstatSync(fd);
    return stat.isFIFO() || stat.isSocket();
  } catch {
    // Closed: Node's getter makes its stand-in for a missing descriptor.
    return false;
  }
}

/**
 * A Writable on `fd` whose writes return once the bytes are in the pipe. A reader that has gone
 * away shows as the stream's 'error' (EPIPE), as it does with Node's own stream.
 */
function syncStream(fd: number): NodeJS.WriteStream {
  const stream = new Writable({
    decodeStrings: true,
    write(chunk: Buffer, _encoding, done) {
      try {
        writeFully(fd, chunk);
        done();
      } catch (err) {
        done(err as Error);
      }
    },
  });
  return Object.assign(stream, { fd, isTTY: false }) as unknown as NodeJS.WriteStream;
}

/**
 * Writes all of `bytes` to `fd`. EAGAIN is waited out rather than returned: the descriptor may
 * have been made non-blocking by someone else holding the same pipe.
 */
function writeFully(fd: number, bytes: Uint8Array): void {
  for (let done = 0; done < bytes.length;) {
    try {
      done += writeSync(fd, bytes, done, bytes.length - done);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      pause ??= new Int32Array(new SharedArrayBuffer(4));
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}
