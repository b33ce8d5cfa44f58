import { describe, expect, it } from 'vitest';

import { listenFdsOf, withListenFds } from '../../src/core/lifecycle/listen-fds.js';
import type { Spec } from '../../src/core/spec/types.js';

describe('listenFdsOf', () => {
  it('counts the sockets only when LISTEN_PID is this process', () => {
    expect(listenFdsOf({ LISTEN_FDS: '2', LISTEN_PID: '42' }, 42)).toBe(2);
    expect(listenFdsOf({ LISTEN_FDS: '2', LISTEN_PID: '41' }, 42)).toBe(0);
    expect(listenFdsOf({ LISTEN_FDS: 'x', LISTEN_PID: '42' }, 42)).toBe(0);
    expect(listenFdsOf({}, 42)).toBe(0);
  });

  it('gives the process LISTEN_FDS and LISTEN_PID=1 in place of its own', () => {
    const spec = {
      ociVersion: '1.2.0', root: { path: 'rootfs' },
      process: { cwd: '/', args: ['sh'], user: { uid: 0, gid: 0 }, env: ['A=1', 'LISTEN_PID=9'] },
    } as Spec;
    expect(withListenFds(spec, 3).process?.env).toEqual(['A=1', 'LISTEN_FDS=3', 'LISTEN_PID=1']);
    expect(withListenFds(spec, 0)).toBe(spec);
  });
});
