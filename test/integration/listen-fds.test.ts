/**
 * Socket activation: a listening socket handed to hako as fd 3 with LISTEN_FDS=1 and
 * LISTEN_PID set to hako's pid reaches the container's process, which sees LISTEN_FDS=1 and
 * LISTEN_PID=1, as runc does it.
 */
import { spawnSync } from 'node:child_process';

import { afterAll, describe, expect, it } from 'vitest';

import { HAKO, Scratch } from './helpers.js';

const scratch = new Scratch();
afterAll(() => scratch.cleanup());

// A shell opens fd 3 on a file and execs hako with LISTEN_PID set to its own pid: after exec
// the pid is hako's (the launcher execs node in turn).
function runActivated(bundle: string, id: string, listenPid: string): string {
  const script = `exec 3>"$1/activation.out"; LISTEN_FDS=1 LISTEN_PID=${listenPid} ` +
    `exec "$2" --root "$3" run --bundle "$4" "$5"`;
  const result = spawnSync('/bin/sh', ['-c', script, 'sh', scratch.dir, HAKO, scratch.root,
    bundle, id], { encoding: 'utf8', env: { PATH: process.env.PATH } });
  expect(result.stderr).toBe('');
  return result.stdout;
}

describe('LISTEN_FDS', () => {
  it('passes the activation descriptors and variables when LISTEN_PID names hako', () => {
    const bundle = scratch.bundle((spec) => {
      spec.process!.args = ['sh', '-c',
        'echo "LISTEN_FDS=$LISTEN_FDS LISTEN_PID=$LISTEN_PID"; echo through-3 >&3; ls /proc/self/fd | tr "\\n" " "'];
    });
    const out = runActivated(bundle, scratch.id('act'), '$$');
    expect(out).toBe('LISTEN_FDS=1 LISTEN_PID=1\n0 1 2 3 4 ');
    expect(spawnSync('cat', [`${scratch.dir}/activation.out`], { encoding: 'utf8' }).stdout)
      .toBe('through-3\n');
  });

  it('ignores them when LISTEN_PID names another process', () => {
    const bundle = scratch.bundle((spec) => {
      spec.process!.args = ['sh', '-c', 'echo "[$LISTEN_FDS]"; ls /proc/self/fd | tr "\\n" " "'];
    });
    const out = runActivated(bundle, scratch.id('act'), '1');
    expect(out).toBe('[]\n0 1 2 3 ');
  });
});
