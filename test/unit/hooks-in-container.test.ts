import { describe, expect, it } from 'vitest';

import { HakoError } from '../../src/core/errors.js';
import { runHooksInContainer } from '../../src/core/hooks/in-container.js';
import { RecordingSys } from '../../src/core/sys/recording.js';

const ETIMEDOUT = 110;
const EPIPE = 32;
const state = { id: 'c1', pid: 7, status: 'creating' };

describe('runHooksInContainer', () => {
  it('runs each hook through the agent with its args, env and timeout in ms', async () => {
    const sys = new RecordingSys();
    await runHooksInContainer(sys, [
      { path: '/bin/a', args: ['a', '-x'], env: ['K=v'], timeout: 2 },
      { path: '/bin/b' },
    ], state, 'createContainer');
    expect(sys.calls).toEqual([
      'spawnWait /bin/a ["a","-x"] timeout=2000ms',
      'spawnWait /bin/b ["/bin/b"] timeout=0ms',
    ]);
  });

  it('does nothing without hooks', async () => {
    const sys = new RecordingSys();
    await runHooksInContainer(sys, undefined, state, 'startContainer');
    expect(sys.calls).toEqual([]);
  });

  it('names the hook, its status and the last line of its stderr', async () => {
    const sys = new RecordingSys();
    sys.spawnResult = { status: 3, stderr: 'first\nlast words\n' };
    await expect(runHooksInContainer(sys, [{ path: '/bin/a' }], state, 'startContainer'))
      .rejects.toThrow(
        new HakoError('startContainer hook /bin/a: exited with status 3: last words'),
      );
  });

  it('says "timed out" for a hook the agent killed at its deadline', async () => {
    const sys = new RecordingSys().failOn('spawnWait /bin/slow', ETIMEDOUT);
    const hooks = [{ path: '/bin/slow', timeout: 1 }];
    const run = runHooksInContainer(sys, hooks, state, 'createContainer');
    await expect(run).rejects.toThrow(
      new HakoError('createContainer hook /bin/slow: timed out after 1 s'),
    );
  });

  it('names the hook for any other failure of the agent', async () => {
    const sys = new RecordingSys().failOn('spawnWait /bin/a', EPIPE);
    const run = runHooksInContainer(sys, [{ path: '/bin/a' }], state, 'createContainer');
    await expect(run).rejects.toThrow(/^createContainer hook \/bin\/a: broken pipe \(EPIPE\)$/);
  });
});
