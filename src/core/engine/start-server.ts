/**
 * The engine's side of `hako start`. `start` talks to a waiting container the same way
 * whatever runs in it: it connects to the start socket and sends agent requests
 * (native/PROTOCOL.md), SPAWN_WAIT for each startContainer hook, then EXEC. The engine
 * answers those two: a hook runs as the agent would run it, inside the container, and EXEC
 * means "go": its seccomp filter (the one that waits for the last step, with
 * noNewPrivileges) is installed on every thread, the connection is closed, which `start`
 * reads as a successful exec, and the caller runs the workload.
 */
import { spawnSync } from 'node:child_process';
import { type Socket, createServer } from 'node:net';
import { constants } from 'node:os';

import type { Sys } from '../sys/sys.js';

export const OP_EXEC = 60;
export const OP_SPAWN_WAIT = 62;

const ENOSYS = 38;
const ETIMEDOUT = 110;
const STDERR_LIMIT = 4096;

export type RequestArg = bigint | Buffer;

export interface Request {
  op: number;
  args: RequestArg[];
}

/** Takes the complete request frames off the front of `buffer`; `rest` is what remains. */
export function parseRequests(buffer: Buffer): { requests: Request[]; rest: Buffer } {
  const requests: Request[] = [];
  let at = 0;
  while (buffer.length - at >= 4) {
    const length = buffer.readUInt32LE(at);
    if (buffer.length - at - 4 < length) break;
    requests.push(parseFrame(buffer.subarray(at + 4, at + 4 + length)));
    at += 4 + length;
  }
  return { requests, rest: buffer.subarray(at) };
}

function parseFrame(frame: Buffer): Request {
  const op = frame.readUInt32LE(0);
  const nargs = frame.readUInt32LE(4);
  const args: RequestArg[] = [];
  let at = 8;
  for (let i = 0; i < nargs; i++) {
    const type = frame.readUInt32LE(at);
    if (type === 0) {
      args.push(frame.readBigInt64LE(at + 4));
      at += 12;
    } else {
      const n = frame.readUInt32LE(at + 4);
      args.push(frame.subarray(at + 8, at + 8 + n));
      at += 8 + n;
    }
  }
  return { op, args };
}

export function encodeReply(ret: bigint, errno: number, payload: Buffer = Buffer.alloc(0)) {
  const frame = Buffer.alloc(16 + payload.length);
  frame.writeUInt32LE(12 + payload.length, 0);
  frame.writeBigInt64LE(ret, 4);
  frame.writeInt32LE(errno, 12);
  payload.copy(frame, 16);
  return frame;
}

/**
 * Listens on the inherited start socket, serves the one connection `start` makes, and
 * resolves once EXEC has been answered. A failed EXEC (the filter was refused) is answered
 * with its errno and rejects: the process is of no further use, as the agent's would be.
 */
export function waitForStart(startFd: number, sys: Sys): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer({ pauseOnConnect: false }, (socket) => {
      server.close();
      serveStart(socket, sys).then(resolve, reject);
    });
    server.on('error', reject);
    server.listen({ fd: startFd });
  });
}

/** Serves `start`'s requests on its connection until EXEC; resolves once EXEC succeeded. */
export async function serveStart(socket: Socket, sys: Sys): Promise<void> {
  return exec(socket, sys, await untilExec(socket));
}

/**
 * Answers requests until EXEC arrives and returns it. Not a `for await` over the socket:
 * leaving that loop destroys the socket, and the answer to a failed EXEC would be lost, which
 * `start` would take for success.
 */
function untilExec(socket: Socket): Promise<Request> {
  return new Promise((resolve, reject) => {
    let buffered: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      const { requests, rest } = parseRequests(buffered);
      buffered = rest;
      for (const request of requests) {
        if (request.op === OP_EXEC) {
          socket.off('data', onData);
          socket.pause();
          resolve(request);
          return;
        }
        socket.write(request.op === OP_SPAWN_WAIT ? spawnWait(request) : encodeReply(-1n, ENOSYS));
      }
    };
    socket.on('data', onData);
    socket.once('end', () => reject(new Error('start: the connection closed before EXEC')));
    socket.once('error', reject);
  });
}

async function exec(socket: Socket, sys: Sys, request: Request): Promise<void> {
  const program = request.args[4];
  const flags = Number(request.args[5] ?? 0n);
  if (Buffer.isBuffer(program) && program.length > 0) {
    try {
      await sys.seccomp(program, flags);
    } catch (err) {
      const errno = (err as { errno?: number }).errno ?? ENOSYS;
      await new Promise<void>((done) => socket.end(encodeReply(-1n, errno), done));
      throw err;
    }
  }
  await new Promise<void>((done) => socket.end(done));
  socket.destroy();
}

/** A hook inside the container, with the agent's conventions (PROTOCOL.md, SPAWN_WAIT). */
function spawnWait(request: Request): Buffer {
  const [path, argv, env, stdin, timeout] = request.args;
  if (!Buffer.isBuffer(path) || !Buffer.isBuffer(argv) || !Buffer.isBuffer(env)
    || !Buffer.isBuffer(stdin) || typeof timeout !== 'bigint') {
    return encodeReply(-1n, 22 /* EINVAL */);
  }
  const file = path.toString();
  const args = nulList(argv);
  const result = spawnSync(file, args.slice(1), {
    argv0: args[0] ?? file,
    env: envObject(nulList(env)),
    input: stdin,
    stdio: ['pipe', 'ignore', 'pipe'],
    timeout: timeout > 0n ? Number(timeout) : undefined,
    killSignal: 'SIGKILL',
    maxBuffer: 16 << 20,
  });

  const code = (result.error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ETIMEDOUT') return encodeReply(-1n, ETIMEDOUT);
  if (result.error) {
    return encodeReply(127n, 0, Buffer.from(`${file}: ${result.error.message}\n`));
  }
  const signal = result.signal ? (constants.signals as Record<string, number>)[result.signal] : 0;
  const status = result.status ?? 128 + (signal ?? 0);
  const stderr = Buffer.from(result.stderr ?? Buffer.alloc(0)).subarray(0, STDERR_LIMIT);
  return encodeReply(BigInt(status), 0, stderr);
}

function nulList(bytes: Buffer): string[] {
  return bytes.toString().split('\0').slice(0, -1);
}

function envObject(env: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of env) {
    const eq = entry.indexOf('=');
    if (eq > 0) out[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return out;
}
