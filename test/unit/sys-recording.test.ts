import { describe, expect, it } from 'vitest';

import { RLIM_INFINITY } from '../../src/core/spec/linux.js';
import { RecordingSys, statFile } from '../../src/core/sys/recording.js';
import { ForkMode, Resolve, SysError } from '../../src/core/sys/sys.js';

describe('RecordingSys', () => {
  it('writes each call as one line', async () => {
    const sys = new RecordingSys();
    expect(await sys.forkInit(ForkMode.Detach)).toBe(4242);
    await sys.mount('proc', '/proc', 'proc', 0xe, '', Resolve.InRoot);
    await sys.mount('', '/', '', 0x84000, '', Resolve.Plain);
    await sys.setrlimit(7, 1024n, RLIM_INFINITY);
    await sys.prctl(8, 1n);
    await sys.writeFile('/proc/sys/a', 'x y', Resolve.InRoot);
    expect(sys.calls).toEqual([
      'fork detach',
      'mount proc on /proc type proc flags=0xe in-root',
      'mount none on / flags=0x84000',
      'setrlimit RLIMIT_NOFILE 1024 unlimited',
      'prctl PR_SET_KEEPCAPS 1',
      'writeFile /proc/sys/a "x y" in-root',
    ]);
  });

  it('answers stat and access from its tables', async () => {
    const sys = new RecordingSys();
    sys.stats.set('/bin/sh', statFile()).set('/loop', 40);
    expect(await sys.stat('/bin/sh', Resolve.Plain)).toEqual(statFile());
    expect(await sys.stat('/none', Resolve.Plain)).toBeNull();
    await expect(sys.stat('/loop', Resolve.Plain)).rejects.toMatchObject({ code: 'ELOOP' });
    expect(await sys.access('/bin/sh', 1)).toBe(0);
    expect(await sys.access('/none', 1)).toBe(2);
  });

  it('fails the chosen call and refuses the rest, as the agent does', async () => {
    const sys = new RecordingSys().failOn('mkdirAll /a', 13);
    await expect(sys.mkdirAll('/a/b', 0o755, Resolve.InRoot)).rejects.toThrow(SysError);
    await expect(sys.chdir('/')).rejects.toMatchObject({ errno: 125, code: 'ECANCELED' });
    expect(sys.calls).toEqual(['mkdirAll /a/b 0755 in-root', 'chdir /']);
  });

  it('does not make a failed query sticky', async () => {
    const sys = new RecordingSys().failOn('stat /x', 13);
    await expect(sys.stat('/x', Resolve.Plain)).rejects.toMatchObject({ code: 'EACCES' });
    await sys.chdir('/');
    expect(sys.calls).toEqual(['stat /x', 'chdir /']);
  });
});
