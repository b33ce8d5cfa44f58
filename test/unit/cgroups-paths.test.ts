import { describe, expect, it } from 'vitest';

import {
  type CgroupLayout, parseCgroupsPath, parseProcCgroup, resolveCgroupDirs,
} from '../../src/core/cgroups/index.js';

const HYBRID: CgroupLayout = {
  kind: 'hybrid',
  v1: new Map([
    ['cpu', '/cg/cpu,cpuacct'],
    ['cpuacct', '/cg/cpu,cpuacct'],
    ['memory', '/cg/memory'],
    ['name=systemd', '/cg/systemd'],
  ]),
  v2: '/cg/unified',
};

const SELF = [
  '9:name=systemd:/user.slice/session-1.scope',
  '4:memory:/process_api/abc',
  '2:cpu,cpuacct:/',
  '0::/user.slice/session-1.scope',
].join('\n');

describe('parseCgroupsPath', () => {
  it('defaults to /hako/<id>', () => {
    expect(parseCgroupsPath('c1')).toEqual({ relative: false, path: 'hako/c1' });
    expect(parseCgroupsPath('c1', '')).toEqual({ relative: false, path: 'hako/c1' });
  });

  it('keeps absolute and relative paths apart and normalises them', () => {
    expect(parseCgroupsPath('x', '/a//b/./c/')).toEqual({ relative: false, path: 'a/b/c' });
    expect(parseCgroupsPath('x', 'a/b')).toEqual({ relative: true, path: 'a/b' });
    expect(parseCgroupsPath('x', '/a/../b')).toEqual({ relative: false, path: 'b' });
  });

  it('rejects .. that leaves the hierarchy or the caller', () => {
    expect(() => parseCgroupsPath('x', '/../etc')).toThrow(
      'cgroupsPath "/../etc": ".." leaves the hierarchy root',
    );
    expect(() => parseCgroupsPath('x', 'a/../../b')).toThrow(`".." leaves the caller's cgroup`);
  });

  it('rejects the root cgroup and the caller own cgroup', () => {
    expect(() => parseCgroupsPath('x', '/')).toThrow('names the root cgroup');
    expect(() => parseCgroupsPath('x', '.')).toThrow("names the caller's own cgroup");
  });

  it('rejects a container id that cannot name a cgroup', () => {
    expect(() => parseCgroupsPath('a/b')).toThrow('container id "a/b" cannot name a cgroup');
  });

  it('explains that the systemd driver is not supported', () => {
    for (const path of ['system.slice:hako:c1', ':hako:c1', 'machine.slice::c1']) {
      expect(() => parseCgroupsPath('c1', path)).toThrow(
        'the systemd cgroup driver (slice:prefix:name) is not supported',
      );
    }
    // A path with slashes and colons is a cgroupfs path, not systemd's form.
    expect(parseCgroupsPath('c1', '/a:b:c/d').path).toBe('a:b:c/d');
  });
});

describe('parseProcCgroup', () => {
  it('splits comounted controllers and finds the v2 path', () => {
    const own = parseProcCgroup(SELF);
    expect(own.v1.get('cpu')).toBe('/');
    expect(own.v1.get('cpuacct')).toBe('/');
    expect(own.v1.get('memory')).toBe('/process_api/abc');
    expect(own.v1.get('name=systemd')).toBe('/user.slice/session-1.scope');
    expect(own.v2).toBe('/user.slice/session-1.scope');
  });

  it('keeps colons inside a path', () => {
    expect(parseProcCgroup('0::/a:b').v2).toBe('/a:b');
  });
});

describe('resolveCgroupDirs', () => {
  it('joins an absolute path to every mountpoint', () => {
    const dirs = resolveCgroupDirs(HYBRID, parseCgroupsPath('c1', '/hako/c1'));
    expect(dirs).toEqual({
      v1: {
        cpu: '/cg/cpu,cpuacct/hako/c1',
        cpuacct: '/cg/cpu,cpuacct/hako/c1',
        memory: '/cg/memory/hako/c1',
        'name=systemd': '/cg/systemd/hako/c1',
      },
      v2: '/cg/unified/hako/c1',
    });
  });

  it("places a relative path under the caller's own cgroup in each hierarchy", () => {
    const dirs = resolveCgroupDirs(HYBRID, parseCgroupsPath('c1', 'box/c1'), SELF);
    expect(dirs.v1.memory).toBe('/cg/memory/process_api/abc/box/c1');
    expect(dirs.v1.cpu).toBe('/cg/cpu,cpuacct/box/c1');
    expect(dirs.v1['name=systemd']).toBe('/cg/systemd/user.slice/session-1.scope/box/c1');
    expect(dirs.v2).toBe('/cg/unified/user.slice/session-1.scope/box/c1');
  });

  it('strips the mounted subtree from the caller path (bind mount, cgroup namespace)', () => {
    const layout: CgroupLayout = {
      kind: 'v2',
      v1: new Map(),
      v2: '/sys/fs/cgroup',
      mountRoots: new Map([['/sys/fs/cgroup', '/kubepods/pod1']]),
    };
    const own = '0::/kubepods/pod1/ctr';
    const dirs = resolveCgroupDirs(layout, parseCgroupsPath('c1', 'sub'), own);
    expect(dirs.v2).toBe('/sys/fs/cgroup/ctr/sub');
    expect(() => resolveCgroupDirs(layout, parseCgroupsPath('c1', 'sub'), '0::/elsewhere'))
      .toThrow('outside the mounted subtree /kubepods/pod1');
  });

  it('fails when the caller is not in a hierarchy a relative path needs', () => {
    expect(() => resolveCgroupDirs(HYBRID, parseCgroupsPath('c1', 'x'), '0::/')).toThrow(
      'the caller has no cpu cgroup',
    );
  });
});
