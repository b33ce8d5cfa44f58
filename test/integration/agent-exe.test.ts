/**
 * The runtime's own binary must not be writable from inside a container: the agent runs in
 * the container's pid namespace, so a container process can reach it as /proc/<pid>/exe.
 */
import { openSync, readlinkSync, writeSync, closeSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { REPO, Scratch } from './helpers.js';

const scratch = new Scratch();
afterAll(() => scratch.cleanup());

describe('the agent binary', () => {
  it('runs from a sealed memory copy that cannot be written', () => {
    const bundle = scratch.bundle((spec) => {
      spec.process!.args = ['sleep', '100'];
    });
    const id = scratch.id('exe');
    const log = join(scratch.dir, `${id}.out`);
    const out = openSync(log, 'w');
    const made = scratch.hako(['create', '--bundle', bundle, id], { stdio: ['ignore', out, out] });
    closeSync(out);
    expect(made.status, readFileSync(log, 'utf8')).toBe(0);

    const state = JSON.parse(scratch.hako(['state', id]).stdout) as { pid: number };
    const exe = readlinkSync(`/proc/${state.pid}/exe`);
    expect(exe).toBe('/memfd:hako-agent (deleted)');

    // The attack keeps a descriptor of the executable and reopens it for writing once
    // nothing executes it any more. The reopen works, but the copy's seals refuse the write,
    // and the installed binary is a different file that is never touched.
    const before = readFileSync(join(REPO, 'dist', 'hako-agent'));
    const kept = openSync(`/proc/${state.pid}/exe`, 'r');
    expect(scratch.hako(['delete', '--force', id]).status).toBe(0);
    const reopened = openSync(`/proc/self/fd/${kept}`, 'r+');
    expect(() => writeSync(reopened, 'overwritten')).toThrow(/EPERM|operation not permitted/i);
    closeSync(reopened);
    closeSync(kept);
    expect(readFileSync(join(REPO, 'dist', 'hako-agent')).equals(before)).toBe(true);
  });
});
