/**
 * The engine's two conversations: with `hako create` over the control socket (the plan in,
 * the answer to EXEC out) and with `hako start` over the start socket (SPAWN_WAIT, EXEC),
 * the latter driven by the real client, AgentSys, as `start` uses it.
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { type Server, type Socket, connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import {
  type EnginePlan, answerFailure, encodeAnswer, encodePlan, readPlan,
} from '../../src/core/engine/handoff.js';
import { serveStart } from '../../src/core/engine/start-server.js';
import { defaultSpec } from '../../src/core/spec/template.js';
import { AgentSys } from '../../src/core/sys/agent.js';
import { Channel } from '../../src/core/sys/channel.js';
import { RecordingSys } from '../../src/core/sys/recording.js';

const dir = mkdtempSync(join(tmpdir(), 'hako-engine-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the handoff between create and the engine', () => {
  it('reads back the plan create wrote', () => {
    const plan: EnginePlan = {
      handler: 'wasm',
      spec: defaultSpec({ rootless: false }),
      rootfs: { rootfs: '/b/rootfs', userns: false, noPivot: false, mounted: [] },
      startFd: 7,
      cacheDir: '/var/cache/hako/wasm',
      lastCap: 40,
      seccomp: { program: 'AAAA', flags: 0 },
    };
    const file = join(dir, 'plan');
    writeFileSync(file, Buffer.concat([encodePlan(plan), Buffer.from('not for the engine')]));
    const fd = openSync(file, 'r');
    try {
      expect(readPlan(fd)).toEqual(plan);
    } finally {
      closeSync(fd);
    }
  });

  it('answers EXEC in the agent\'s answer format', () => {
    const ready = encodeAnswer();
    expect(ready.readUInt32LE(0)).toBe(12);
    expect(ready.readBigInt64LE(4)).toBe(0n);
    expect(ready.readInt32LE(12)).toBe(0);
    expect(answerFailure(ready.readBigInt64LE(4), ready.subarray(16))).toBeUndefined();

    const failed = encodeAnswer('/m.wasm: not a WebAssembly binary (bad magic)');
    expect(failed.readUInt32LE(0)).toBe(failed.length - 4);
    expect(answerFailure(failed.readBigInt64LE(4), failed.subarray(16)))
      .toBe('/m.wasm: not a WebAssembly binary (bad magic)');
  });
});

describe('the start connection', () => {
  let count = 0;

  /** A start socket served by the engine's code, and AgentSys connected to it as `start`. */
  async function startPair(sys: RecordingSys) {
    const path = join(dir, `start-${++count}.sock`);
    let served!: Promise<void>;
    const server: Server = createServer((socket: Socket) => {
      server.close();
      served = serveStart(socket, sys);
      served.catch(() => undefined); // the test awaits it when it cares
    });
    await new Promise<void>((done) => server.listen(path, done));
    const socket = connect(path);
    await new Promise((done) => socket.once('connect', done));
    await new Promise((done) => setTimeout(done, 10));
    return { client: new AgentSys(new Channel(socket)), served: () => served };
  }

  it('runs startContainer hooks as SPAWN_WAIT asks, then treats EXEC as go', async () => {
    const sys = new RecordingSys();
    const { client, served } = await startPair(sys);

    const script = 'read x; echo "$0:$x:$V" >&2; exit 3';
    const hook = await client.spawnWait('/bin/sh', ['hook', '-c', script], ['V=v'], 'input\n', 0);
    expect(hook).toEqual({ status: 3, stderr: 'hook:input:v\n' });
    const missing = await client.spawnWait('/no/such/hook', ['x'], [], '', 0);
    expect(missing.status).toBe(127);
    expect(missing.stderr).toContain('/no/such/hook');

    const program = new Uint8Array(8);
    await client.exec({ path: '/m.wasm', argv: ['/m.wasm'], env: [], closeFrom: 3,
      seccomp: { program, flags: 4 } });
    await served();
    expect(sys.calls).toEqual(['seccomp 8 bytes flags=0x4']);
  });

  it('answers a timed-out hook with ETIMEDOUT', async () => {
    const { client } = await startPair(new RecordingSys());
    await expect(client.spawnWait('/bin/sleep', ['sleep', '5'], [], '', 50))
      .rejects.toThrow(/ETIMEDOUT/);
  });

  it('fails EXEC with the errno when the filter is refused', async () => {
    const sys = new RecordingSys();
    sys.failOn('seccomp', 22);
    const { client, served } = await startPair(sys);
    const exec = client.exec({ path: '/m.wasm', argv: ['/m.wasm'], env: [], closeFrom: 3,
      seccomp: { program: new Uint8Array(8), flags: 0 } });
    await expect(exec).rejects.toThrow(/EINVAL/);
    await expect(served()).rejects.toThrow();
  });
});
