/**
 * What `hako create` and the Node engine say to each other over the agent's control socket.
 *
 * create asks the agent to EXEC the engine, keeping a duplicate of the control socket open
 * across the exec, and writes the plan right behind the EXEC request: the agent never takes
 * bytes past an EXEC frame off the socket, so the plan stays there for the engine. The engine
 * then answers the EXEC request itself, in the agent's answer format (native/PROTOCOL.md),
 * once the container is ready to start:
 *
 *   create -> engine   u32 length, then the plan as JSON
 *   engine -> create   u32 length, i64 ret, i32 errno = 0, payload
 *                      ret 0: ready, payload empty; ret -1: failed, payload = the error line
 *
 * An EXEC the agent could not perform is answered by the agent, with its errno, as usual.
 */
import { readSync, writeSync } from 'node:fs';

import type { RootfsHandoff } from '../rootfs/index.js';
import type { Spec } from '../spec/types.js';

export interface EnginePlan {
  /** The handler the engine runs: "wasm", or a plugin's name. */
  handler: string;
  /** The plugin module that exports the handler, on the host; none for "wasm". */
  pluginPath?: string;
  /** The container id. */
  id?: string;
  /** The container's config.json. */
  spec: Spec;
  /** The agent's part of the rootfs setup, for the engine to finish after its pivot_root. */
  rootfs: RootfsHandoff;
  /** The listening start socket, as numbered in the engine. */
  startFd: number;
  /** Where a failure of the workload's run is written for `hako state` (handler-error). */
  errorFd?: number;
  /** Where transpiled components are cached (HAKO_WASM_CACHE as `create` saw it). */
  cacheDir: string;
  /** /proc/sys/kernel/cap_last_cap of the host. */
  lastCap: number;
  /** linux.seccomp as BPF, base64, when it goes in during setup (no noNewPrivileges). */
  seccomp?: { program: string; flags: number };
}

/** `engine.cjs --transpile <cacheDir> <name>`: fill the transpile cache from stdin, exit. */
export const TRANSPILE_FLAG = '--transpile';

const MAX_PLAN = 64 << 20;

export function encodePlan(plan: EnginePlan): Buffer {
  const body = Buffer.from(JSON.stringify(plan));
  const head = Buffer.alloc(4);
  head.writeUInt32LE(body.length, 0);
  return Buffer.concat([head, body]);
}

/** Reads the plan from the control socket, blocking: nothing else is going on yet. */
export function readPlan(fd: number): EnginePlan {
  const length = readFull(fd, 4).readUInt32LE(0);
  if (length > MAX_PLAN) throw new Error(`engine plan: ${length} bytes is too long`);
  return JSON.parse(readFull(fd, length).toString()) as EnginePlan;
}

/** The answer to create's EXEC request: ready (no message) or failed with a message. */
export function encodeAnswer(failure?: string): Buffer {
  const payload = Buffer.from(failure ?? '');
  const frame = Buffer.alloc(16 + payload.length);
  frame.writeUInt32LE(12 + payload.length, 0);
  frame.writeBigInt64LE(failure === undefined ? 0n : -1n, 4);
  frame.writeInt32LE(0, 12);
  payload.copy(frame, 16);
  return frame;
}

export function writeAnswer(fd: number, failure?: string): void {
  const frame = encodeAnswer(failure);
  for (let done = 0; done < frame.length;) {
    done += retrying(() => writeSync(fd, frame, done, frame.length - done));
  }
}

/** The message of an answer create received: undefined when the engine is ready. */
export function answerFailure(ret: bigint, payload: Buffer): string | undefined {
  if (ret >= 0n) return undefined;
  return payload.toString() || 'the engine failed without saying why';
}

function readFull(fd: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  for (let done = 0; done < length;) {
    const n = retrying(() => readSync(fd, buf, done, length - done, null));
    if (n === 0) throw new Error('engine plan: the control socket closed early');
    done += n;
  }
  return buf;
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/** The socket may have been left non-blocking: wait out EAGAIN. */
function retrying(op: () => number): number {
  for (;;) {
    try {
      return op();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}
