/**
 * The client side of the agent protocol: request frames as PROTOCOL.md lays them out, one
 * write per turn of the event loop, and answers matched to requests in order however the
 * socket cuts them.
 */
import { Duplex } from 'node:stream';

import { describe, expect, it } from 'vitest';

import { encodeReply } from '../../src/core/engine/start-server.js';
import { AgentSys } from '../../src/core/sys/agent.js';
import { Channel, encode } from '../../src/core/sys/channel.js';
import { Resolve, SysError } from '../../src/core/sys/sys.js';

/** A socket that records what is written and delivers what the test pushes. */
class FakeSocket extends Duplex {
  readonly writes: Buffer[] = [];

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.writes.push(Buffer.from(chunk));
    done();
  }

  override _read(): void {}

  /** Everything written, as request frames: [op, frame]. */
  frames(): Array<[number, Buffer]> {
    const all = Buffer.concat(this.writes);
    const frames: Array<[number, Buffer]> = [];
    for (let at = 0; at < all.length;) {
      const end = at + 4 + all.readUInt32LE(at);
      frames.push([all.readUInt32LE(at + 4), all.subarray(at, end)]);
      at = end;
    }
    return frames;
  }
}

function reply(ret: bigint, errno = 0, payload = Buffer.alloc(0)): Buffer {
  return encodeReply(ret, errno, payload);
}

const turn = () => new Promise((done) => setImmediate(done));

describe('encode', () => {
  it('lays a request out as PROTOCOL.md says: header, then typed arguments', () => {
    const bytes = new Uint8Array([1, 2, 3]);
    const frame = encode(11, [-1, 2 ** 40 + 7, -(2 ** 40), 1n << 62n, -2n, 'é/x', bytes]);

    const expected: Buffer[] = [];
    const head = Buffer.alloc(12);
    head.writeUInt32LE(11, 4);
    head.writeUInt32LE(7, 8);
    expected.push(head);
    for (const n of [-1n, 2n ** 40n + 7n, -(2n ** 40n), 1n << 62n, -2n]) {
      const field = Buffer.alloc(12);
      field.writeBigInt64LE(n, 4);
      expected.push(field);
    }
    for (const data of [Buffer.from('é/x'), Buffer.from(bytes)]) {
      const field = Buffer.alloc(8);
      field.writeUInt32LE(1, 0);
      field.writeUInt32LE(data.length, 4);
      expected.push(field, data);
    }
    const whole = Buffer.concat(expected);
    whole.writeUInt32LE(whole.length - 4, 0);
    expect(frame.equals(whole)).toBe(true);
  });

  it('refuses a number that is no integer, as before', () => {
    expect(() => encode(53, [1.5])).toThrow(RangeError);
  });
});

describe('Channel', () => {
  it('writes the requests of one turn together, in order', async () => {
    const socket = new FakeSocket();
    const sys = new AgentSys(new Channel(socket));
    // Pipelined requests made one after the other, as the rootfs code makes them.
    await sys.mkdirAll('/a', 0o755, Resolve.InRoot);
    await sys.mount('proc', '/proc', 'proc', 0xe, '', Resolve.InRoot);
    await sys.chdir('/');
    expect(socket.writes).toHaveLength(0);
    await turn();
    expect(socket.writes).toHaveLength(1);
    expect(socket.frames().map(([op]) => op)).toEqual([13, 11, 24]);
  });

  it('matches answers to requests in order, however the socket cuts them', async () => {
    const socket = new FakeSocket();
    const channel = new Channel(socket);
    const answers = [1n, 2n, 3n, 4n].map((n) => channel.request(53, [0], `umask ${n}`));
    answers[2].catch(() => undefined); // awaited below; this keeps it from being "unhandled"
    const payload = Buffer.from('payload');
    const stream = Buffer.concat([reply(10n), reply(20n, 0, payload), reply(-1n, 2), reply(40n)]);
    // One byte at a time, then the rest in a single chunk.
    for (const byte of stream.subarray(0, 30)) socket.push(Buffer.from([byte]));
    socket.push(stream.subarray(30));

    expect(await answers[0]).toEqual({ ret: 10n, payload: Buffer.alloc(0) });
    expect(await answers[1]).toEqual({ ret: 20n, payload });
    await expect(answers[2]).rejects.toThrow(SysError);
    await expect(answers[2]).rejects.toMatchObject({ code: 'ENOENT', message: /umask 3/ });
    expect((await answers[3]).ret).toBe(40n);
  });

  it('sends raw bytes behind the requests queued before them', async () => {
    const socket = new FakeSocket();
    const channel = new Channel(socket);
    void channel.request(60, ['/node'], 'exec', true);
    channel.send(Buffer.from('plan'));
    await turn();
    expect(socket.writes).toHaveLength(1);
    const written = socket.writes[0];
    expect(written.subarray(written.length - 4).toString()).toBe('plan');
    expect(written.readUInt32LE(4)).toBe(60);
  });

  it('writes what is queued before it lets go of the socket', () => {
    const socket = new FakeSocket();
    const channel = new Channel(socket);
    void channel.request(42, [7], 'close 7').catch(() => undefined);
    channel.release();
    expect(socket.frames().map(([op]) => op)).toEqual([42]);
  });

  it('settles the pending requests at EOF: EXEC as success, the rest as failures', async () => {
    const socket = new FakeSocket();
    const channel = new Channel(socket);
    const other = channel.request(21, ['/', 0], 'access /');
    other.catch(() => undefined);
    const exec = channel.request(60, ['/bin/true'], 'exec', true);
    await turn();
    socket.push(null);
    await expect(other).rejects.toThrow(/exited without answering/);
    expect((await exec).ret).toBe(0n);
    await expect(channel.request(21, ['/', 0], 'access /')).rejects.toThrow(/has exited/);
  });
});
