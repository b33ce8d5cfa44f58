import { describe, expect, it } from 'vitest';

import { type AgentSteps, execInAgent } from '../../src/core/lifecycle/exec.js';
import { planJoins } from '../../src/core/namespaces/join.js';
import { buildExecProcess, type ExecFlags } from '../../src/core/process/from-flags.js';
import { defaultSpec } from '../../src/core/spec/template.js';
import type { Spec } from '../../src/core/spec/types.js';
import { RecordingSys, statFile } from '../../src/core/sys/recording.js';
import { ForkMode } from '../../src/core/sys/sys.js';

const ENOENT = 2;

function flags(changes: Partial<ExecFlags> = {}): ExecFlags {
  return {
    args: ['sh', '-c', 'exit 5'], env: [], tty: false, additionalGids: [], caps: [],
    noNewPrivs: false, ...changes,
  };
}

interface Run {
  sys: RecordingSys;
  events: string[];
  error?: Error;
}

/** execInAgent against a RecordingSys; `events` interleaves the callbacks with the calls. */
async function run(spec: Spec, changes: Partial<AgentSteps> = {}, sys = new RecordingSys()) {
  sys.stats.set('/bin/sh', statFile());
  const events: string[] = [];
  const result: Run = { sys, events };
  const proc = buildExecProcess(spec, { flags: flags() });
  try {
    await execInAgent(sys, {
      proxy: false,
      joins: planJoins(spec, 42, { same: () => false }),
      mode: ForkMode.Wait,
      spec: { ...spec, process: proc },
      context: { lastCap: 40, home: '/root' },
      closeFrom: 3,
      onForked: (pid) => events.push(`forked ${pid} after ${sys.calls.length} calls`),
      joinCgroup: async (pid) => {
        events.push(`join cgroup ${pid}`);
      },
      step: () => undefined,
      ...changes,
    });
  } catch (err) {
    result.error = err as Error;
  }
  return result;
}

describe('execInAgent', () => {
  it('joins the namespaces, user first and mount last, forks, sets the process up', async () => {
    const spec = defaultSpec({ rootless: false });
    spec.linux!.namespaces!.push({ type: 'user' });
    const { sys, events, error } = await run(spec);
    expect(error).toBeUndefined();
    expect(sys.calls.slice(0, 7)).toEqual([
      'setns /proc/42/ns/user 0x10000000',
      'setns /proc/42/ns/pid 0x20000000',
      'setns /proc/42/ns/net 0x40000000',
      'setns /proc/42/ns/ipc 0x8000000',
      'setns /proc/42/ns/uts 0x4000000',
      'setns /proc/42/ns/mnt 0x20000',
      'fork wait',
    ]);
    expect(events).toEqual(['forked 4242 after 7 calls', 'join cgroup 4242']);
    expect(sys.calls).toContain('setrlimit RLIMIT_NOFILE 1024 1024');
    expect(sys.calls).toContain('chdir /');
    expect(sys.calls.at(-1)).toMatch(/^exec \/bin\/sh/);
  });

  it('execs directly, with the config env, HOME and the closeFrom given', async () => {
    const { sys } = await run(defaultSpec({ rootless: false }), { closeFrom: 5 });
    const exec = sys.calls.at(-1) ?? '';
    expect(exec).toContain('argv=["sh","-c","exit 5"]');
    expect(exec).toContain(
      'env=["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","TERM=xterm",'
        + '"HOME=/root"]',
    );
    expect(exec).toContain('closeFrom=5');
    expect(sys.calls.some((c) => c.startsWith('waitStart'))).toBe(false);
  });

  it('connects to the console socket before any namespace, for the console', async () => {
    const spec = defaultSpec({ rootless: false });
    const proc = buildExecProcess(spec, { flags: flags({ tty: true }) });
    const { sys, error } = await run(spec, {
      consoleSocket: '/run/cs.sock', mode: ForkMode.Detach, spec: { ...spec, process: proc },
    });
    expect(error).toBeUndefined();
    expect(sys.calls[0]).toBe('connectUnix /run/cs.sock');
    expect(sys.calls).toContain('fork detach');
    expect(sys.calls).toContain('console 10 0x0');
  });

  it('hands the pty to the waiting first process for a foreground terminal', async () => {
    const spec = defaultSpec({ rootless: false });
    const proc = buildExecProcess(spec, { flags: flags({ tty: true }) });
    const { sys, error } = await run(spec, {
      proxy: true, mode: ForkMode.Proxy, spec: { ...spec, process: proc },
    });
    expect(error).toBeUndefined();
    expect(sys.calls).toContain('fork proxy');
    expect(sys.calls).toContain('console -1 0x0');
  });

  it('reports a missing program before the exec, as runc words it', async () => {
    const spec = defaultSpec({ rootless: false });
    const sys = new RecordingSys();
    const { error } = await run(spec, {
      spec: { ...spec, process: buildExecProcess(spec, { flags: flags({ args: ['nosuch'] }) }) },
    }, sys);
    expect(error?.message).toBe('exec: "nosuch": executable file not found in $PATH');
    expect(sys.calls.some((c) => c.startsWith('exec '))).toBe(false);
  });

  it('fails when the cgroup cannot be joined, without exec', async () => {
    const { sys, error } = await run(defaultSpec({ rootless: false }), {
      joinCgroup: async () => {
        throw new Error('write /sys/fs/cgroup/pids/x/cgroup.procs: no such file or directory');
      },
    });
    expect(error?.message).toBe(
      'join cgroup of pid 4242: write /sys/fs/cgroup/pids/x/cgroup.procs: '
        + 'no such file or directory',
    );
    expect(sys.calls.some((c) => c.startsWith('exec '))).toBe(false);
  });

  it('passes a failed setns on', async () => {
    const sys = new RecordingSys().failOn('setns /proc/42/ns/net', ENOENT);
    const { error, events } = await run(defaultSpec({ rootless: false }), {}, sys);
    expect(error?.message).toMatch(/setns \/proc\/42\/ns\/net/);
    expect(events).toEqual([]);
  });
});
