/**
 * seccomp user notification: a filter with SCMP_ACT_NOTIFY rules hands its listener to the
 * process at linux.seccomp.listenerPath, with the seccomp state runc sends.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import { afterAll, describe, expect, it } from 'vitest';

import { REPO, Scratch } from './helpers.js';

const scratch = new Scratch();
afterAll(() => scratch.cleanup());

describe('seccomp listenerPath', () => {
  it('sends the listener and the state; notified syscalls fail once it is gone', async () => {
    const socketPath = join(scratch.dir, 'seccomp.sock');
    const listener = spawn('python3', [join(REPO, 'test/integration/seccomp-listener.py'),
      socketPath], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines = createInterface({ input: listener.stdout! })[Symbol.asyncIterator]();
    expect((await lines.next()).value).toBe('listening');

    const id = scratch.id('notify');
    const bundle = scratch.bundle((spec) => {
      spec.process!.args = ['sh', '-c', 'mkdir /tmp/d; echo "status $?"'];
      spec.linux!.seccomp = {
        defaultAction: 'SCMP_ACT_ALLOW',
        listenerPath: socketPath,
        listenerMetadata: 'from-the-test',
        syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_NOTIFY' }],
      };
    });
    const run = scratch.hako(['run', '--bundle', bundle, id]);

    const received = JSON.parse(String((await lines.next()).value)) as {
      payload: { fds: string[]; pid: number; metadata: string; state: { id: string } };
      fds: number;
      link: string;
    };
    await once(listener, 'exit');
    expect(received.fds).toBe(1);
    expect(received.link).toBe('anon_inode:seccomp notify');
    expect(received.payload.fds).toEqual(['seccompFd']);
    expect(received.payload.metadata).toBe('from-the-test');
    expect(received.payload.state.id).toBe(id);
    expect(received.payload.pid).toBeGreaterThan(1);

    expect(run.stderr).toMatch(/Function not implemented/);
    expect(run.stdout).toBe('status 1\n');
    expect(run.status).toBe(0);
  });

  it('refuses SCMP_ACT_NOTIFY without a listenerPath', () => {
    const result = scratch.run(['true'], (spec) => {
      spec.linux!.seccomp = {
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }],
      };
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath');
  });
});
