/** What a failed create reports when the kernel's OOM killer ended its init. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import type { CgroupHandle } from '../../src/core/cgroups/index.js';
import { HakoError } from '../../src/core/errors.js';
import { explainOomKill } from '../../src/core/lifecycle/create-undo.js';
import type { Spec } from '../../src/core/spec/types.js';

const dir = mkdtempSync(join(tmpdir(), 'hako-oom-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A v1 memory cgroup whose memory.oom_control counts `kills`. */
function cgroupWith(kills: number): CgroupHandle {
  const memory = mkdtempSync(join(dir, 'memory-'));
  writeFileSync(join(memory, 'memory.oom_control'),
    `oom_kill_disable 0\nunder_oom 0\noom_kill ${kills}\n`);
  return { kind: 'v1', v1: { memory }, created: [], unenforced: [] } as unknown as CgroupHandle;
}

const spec = { linux: { resources: { memory: { limit: 4096 } } } } as Spec;
const agentGone = new Error('mount tmpfs on /dev: the agent exited without answering');

describe('explainOomKill', () => {
  it('names the OOM killer and the limit when the agent vanished after an OOM kill', () => {
    const explained = explainOomKill(agentGone, cgroupWith(1), spec) as Error;
    expect(explained).toBeInstanceOf(HakoError);
    expect(explained.message).toBe("the kernel's OOM killer ended the container's init during " +
      'setup: linux.resources.memory.limit 4096 is too small (mount tmpfs on /dev: the agent ' +
      'exited without answering)');
  });

  it('leaves the error alone without an OOM kill, or when hako already worded it', () => {
    expect(explainOomKill(agentGone, cgroupWith(0), spec)).toBe(agentGone);
    const worded = new HakoError('the wasm engine exited before it was ready (...)');
    expect(explainOomKill(worded, cgroupWith(2), spec)).toBe(worded);
  });
});
