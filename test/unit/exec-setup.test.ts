import { describe, expect, it } from 'vitest';

import { execRequest, originalTail } from '../../src/cli/commands/exec.js';
import { parseSubCgroupPaths, subCgroupHandle } from '../../src/core/cgroups/sub-cgroup.js';
import type { CgroupHandle } from '../../src/core/cgroups/types.js';
import { checkLsmLabels, checkTerminal } from '../../src/core/lifecycle/exec-checks.js';
import { planJoins } from '../../src/core/namespaces/join.js';
import {
  CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUSER, CLONE_NEWUTS,
} from '../../src/core/spec/linux.js';
import type { Spec } from '../../src/core/spec/types.js';

function specWith(types: string[], paths: Record<string, string> = {}): Spec {
  return {
    ociVersion: '1.2.0',
    linux: {
      namespaces: types.map((type) => ({ type, ...(paths[type] && { path: paths[type] }) })),
    },
  } as Spec;
}

describe('planJoins', () => {
  const never = () => false;

  it("enters every namespace type of the config through the init's ns files", () => {
    const spec = specWith(['pid', 'network', 'mount', 'uts', 'user']);
    expect(planJoins(spec, 42, { same: never })).toEqual([
      { type: 'user', path: '/proc/42/ns/user', flag: CLONE_NEWUSER },
      { type: 'pid', path: '/proc/42/ns/pid', flag: CLONE_NEWPID },
      { type: 'network', path: '/proc/42/ns/net', flag: CLONE_NEWNET },
      { type: 'uts', path: '/proc/42/ns/uts', flag: CLONE_NEWUTS },
      // Last: after it, the host's /proc/42 is out of reach.
      { type: 'mount', path: '/proc/42/ns/mnt', flag: CLONE_NEWNS },
    ]);
  });

  it('joins a namespace the config joined by path through the init as well', () => {
    const spec = specWith(['network', 'mount'], { network: '/var/run/netns/x' });
    expect(planJoins(spec, 7, { same: never }).map((j) => j.path))
      .toEqual(['/proc/7/ns/net', '/proc/7/ns/mnt']);
  });

  it("leaves out the host's namespaces and those this process is already in", () => {
    const spec = specWith(['user', 'network', 'mount']);
    const same = (theirs: string) => theirs.endsWith('/user') || theirs.endsWith('/net');
    expect(planJoins(spec, 9, { same }).map((j) => j.type)).toEqual(['mount']);
    expect(planJoins(specWith([]), 9, { same: never })).toEqual([]);
  });
});

describe('--cgroup', () => {
  const handle: CgroupHandle = {
    kind: 'hybrid',
    v1: {
      cpu: '/sys/fs/cgroup/cpu,cpuacct/hako/c',
      cpuacct: '/sys/fs/cgroup/cpu,cpuacct/hako/c',
      pids: '/sys/fs/cgroup/pids/hako/c',
      memory: '/sys/fs/cgroup/memory/hako/c',
    },
    v2: '/sys/fs/cgroup/unified/hako/c',
    created: ['/sys/fs/cgroup/pids/hako/c'],
    unenforced: [],
  };

  it('parses a plain path and controller:path arguments as runc does', () => {
    expect([...parseSubCgroupPaths(['sub'])]).toEqual([['', 'sub']]);
    expect([...parseSubCgroupPaths(['cpu,pids:a', 'memory:b'])])
      .toEqual([['cpu', 'a'], ['pids', 'a'], ['memory', 'b']]);
    expect(() => parseSubCgroupPaths(['a', 'b'])).toThrow('(missing <controller>: prefix)');
    expect(() => parseSubCgroupPaths([':a'])).toThrow('(empty <controller> prefix)');
    expect(() => parseSubCgroupPaths(['pids:a', 'pids:b'])).toThrow('specified multiple times');
  });

  it('moves every hierarchy for a plain path', () => {
    const sub = subCgroupHandle(handle, parseSubCgroupPaths(['s']));
    expect(sub.v1.pids).toBe('/sys/fs/cgroup/pids/hako/c/s');
    expect(sub.v1.cpu).toBe('/sys/fs/cgroup/cpu,cpuacct/hako/c/s');
    expect(sub.v2).toBe('/sys/fs/cgroup/unified/hako/c/s');
    // Nothing of the sub-cgroup belongs to the exec: it is never removed by it.
    expect(sub.created).toEqual([]);
  });

  it('moves only the named controllers, and those mounted with them', () => {
    const sub = subCgroupHandle(handle, parseSubCgroupPaths(['cpu:s']));
    expect(sub.v1.cpu).toBe('/sys/fs/cgroup/cpu,cpuacct/hako/c/s');
    expect(sub.v1.cpuacct).toBe('/sys/fs/cgroup/cpu,cpuacct/hako/c/s');
    expect(sub.v1.pids).toBe(handle.v1.pids);
    expect(sub.v2).toBe(handle.v2);
    expect(() => subCgroupHandle(handle, parseSubCgroupPaths(['cpu:a', 'cpuacct:b'])))
      .toThrow(/shares .* with another controller/);
  });

  it('refuses paths that leave the container and unknown controllers', () => {
    expect(() => subCgroupHandle(handle, parseSubCgroupPaths(['../other'])))
      .toThrow('../other is not a sub cgroup path');
    expect(() => subCgroupHandle(handle, parseSubCgroupPaths(['rdma:x'])))
      .toThrow('unknown controller rdma');
    expect(subCgroupHandle(handle, parseSubCgroupPaths(['/a/b'])).v1.pids)
      .toBe('/sys/fs/cgroup/pids/hako/c/a/b');
  });
});

describe('checkTerminal', () => {
  it("follows runc's rules for --tty, --detach and --console-socket", () => {
    expect(() => checkTerminal(true, true)).toThrow('cannot allocate tty if hako will detach');
    expect(() => checkTerminal(false, true, '/s')).toThrow('cannot use console socket');
    expect(() => checkTerminal(true, false, '/s')).toThrow('cannot use console socket');
    expect(() => checkTerminal(true, true, '/s')).not.toThrow();
    // A foreground terminal is relayed by hako.
    expect(() => checkTerminal(true, false)).not.toThrow();
    expect(() => checkTerminal(false, false)).not.toThrow();
  });
});

describe('checkLsmLabels', () => {
  it('drops a label with a debug line on a host without that LSM', () => {
    const lines: string[] = [];
    const log = { debug: (m: string) => lines.push(m) };
    const none = { apparmor: false, selinux: false };
    checkLsmLabels({ apparmorProfile: 'p', selinuxLabel: 'l' }, log, none);
    expect(lines).toEqual([
      'exec: apparmor profile "p" ignored: AppArmor is not enabled on this host',
      'exec: selinux label "l" ignored: SELinux is not enabled on this host',
    ]);
  });

  it('refuses to run unconfined on a host that has the LSM', () => {
    const log = { debug: () => undefined };
    expect(() => checkLsmLabels({ apparmorProfile: 'p' }, log, { apparmor: true, selinux: false }))
      .toThrow('apparmor profile "p": hako cannot apply AppArmor profiles');
    expect(() => checkLsmLabels({ selinuxLabel: 'l' }, log, { apparmor: false, selinux: true }))
      .toThrow('selinux label "l": hako cannot apply SELinux labels');
  });
});

describe('the exec command line', () => {
  it('takes the command back from argv as typed', () => {
    const argv = ['node', 'hako', 'exec', 'c1', 'find', '/', '-user', '0'];
    // What commander saw after the Go-style flags were rewritten.
    expect(originalTail(['find', '/', '--user', '0'], argv)).toEqual(['find', '/', '-user', '0']);
    expect(originalTail(['sh', '-c', 'exit 5'], ['n', 'h', 'exec', 'c', 'sh', '-c', 'exit 5']))
      .toEqual(['sh', '-c', 'exit 5']);
    expect(originalTail([], argv)).toEqual([]);
    expect(originalTail(['x'], ['n', 'h', 'y'])).toEqual(['x']);
  });

  it('maps the flags onto the lifecycle options', () => {
    const request = execRequest('c1', ['id'], {
      env: ['A=1'], user: '1:2', additionalGids: ['3'], cap: ['CAP_KILL'], newPrivs: false,
      tty: true, cwd: '/tmp', detach: true, pidFile: '/p', consoleSocket: '/s',
      preserveFds: '2', cgroup: ['pids:x'], ignorePaused: true,
    });
    expect(request).toEqual({
      id: 'c1',
      source: {
        flags: {
          args: ['id'], cwd: '/tmp', env: ['A=1'], tty: true, user: '1:2', additionalGids: ['3'],
          caps: ['CAP_KILL'], noNewPrivs: true, apparmor: undefined, processLabel: undefined,
        },
      },
      detach: true, pidFile: '/p', consoleSocket: '/s', preserveFds: 2, cgroups: ['pids:x'],
      ignorePaused: true,
    });
  });

  it('lets --process win over the command and the flags', () => {
    const request = execRequest('c1', ['ignored'], { process: '/p.json', env: ['A=1'] });
    expect(request.source).toEqual({ processFile: '/p.json' });
    expect(request.preserveFds).toBe(0);
    expect(() => execRequest('c1', [], { preserveFds: 'x' })).toThrow('--preserve-fds');
  });
});
