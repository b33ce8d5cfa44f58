import { describe, expect, it } from 'vitest';

import { detectLayout } from '../../src/core/cgroups/index.js';

// This development machine: v1 controllers, a name=systemd hierarchy, an empty cgroup2.
const HYBRID = `
25 1 252:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;

// A systemd distribution of the v1 era: comounted controllers, optional fields, and the
// same hierarchy mounted twice (the second is a bind mount and must not win).
const V1_COMOUNTED = [
  '26 25 0:23 / /sys/fs/cgroup/systemd rw,nosuid shared:9 - cgroup cgroup ' +
    'rw,xattr,release_agent=/lib/systemd/systemd-cgroups-agent,name=systemd',
  '27 25 0:24 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:10 - cgroup cgroup rw,cpu,cpuacct',
  '28 25 0:25 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid shared:11 master:3 - cgroup cgroup ' +
    'rw,net_cls,net_prio',
  '29 25 0:26 / /sys/fs/cgroup/memory rw,nosuid shared:12 - cgroup cgroup rw,memory',
  '30 25 0:27 / /sys/fs/cgroup/cpuset rw,nosuid shared:13 - cgroup cgroup rw,cpuset,clone_children',
  '90 88 0:26 / /var/lib/other/memory rw - cgroup cgroup rw,memory',
].join('\n');

const V2 = `
25 1 252:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw
`;

describe('detectLayout', () => {
  it('finds a hybrid layout with a named hierarchy', () => {
    const layout = detectLayout(HYBRID);
    expect(layout.kind).toBe('hybrid');
    expect(layout.v2).toBe('/sys/fs/cgroup/unified');
    expect(layout.v1.get('cpu')).toBe('/sys/fs/cgroup/cpu');
    expect(layout.v1.get('cpuacct')).toBe('/sys/fs/cgroup/cpuacct');
    expect(layout.v1.get('name=systemd')).toBe('/sys/fs/cgroup/systemd');
    expect([...layout.v1.keys()].sort()).toEqual(
      ['cpu', 'cpuacct', 'cpuset', 'memory', 'name=systemd', 'pids'],
    );
  });

  it('maps comounted controllers to one mountpoint and ignores mount options', () => {
    const layout = detectLayout(V1_COMOUNTED);
    expect(layout.kind).toBe('v1');
    expect(layout.v2).toBeUndefined();
    expect(layout.v1.get('cpu')).toBe('/sys/fs/cgroup/cpu,cpuacct');
    expect(layout.v1.get('cpuacct')).toBe('/sys/fs/cgroup/cpu,cpuacct');
    expect(layout.v1.get('net_prio')).toBe('/sys/fs/cgroup/net_cls,net_prio');
    expect(layout.v1.get('memory')).toBe('/sys/fs/cgroup/memory');
    expect(layout.v1.get('name=systemd')).toBe('/sys/fs/cgroup/systemd');
    expect(layout.v1.has('xattr')).toBe(false);
    expect(layout.v1.has('clone_children')).toBe(false);
    expect([...layout.v1.keys()].some((k) => k.startsWith('release_agent'))).toBe(false);
  });

  it('finds a pure v2 layout', () => {
    const layout = detectLayout(V2);
    expect(layout).toMatchObject({ kind: 'v2', v2: '/sys/fs/cgroup' });
    expect(layout.v1.size).toBe(0);
  });

  it('calls cgroup2 with only a named v1 hierarchy v2', () => {
    const text = `${V2}\n50 35 0:40 / /run/systemd-v1 rw - cgroup cgroup rw,name=legacy\n`;
    const layout = detectLayout(text);
    expect(layout.kind).toBe('v2');
    expect(layout.v1.get('name=legacy')).toBe('/run/systemd-v1');
  });

  it('records mount roots and decodes escaped mountpoints', () => {
    const text = '60 1 0:30 /docker/abc /sys/fs/cgroup/my\\040dir rw - cgroup2 cgroup2 rw';
    const layout = detectLayout(text);
    expect(layout.v2).toBe('/sys/fs/cgroup/my dir');
    expect(layout.mountRoots?.get('/sys/fs/cgroup/my dir')).toBe('/docker/abc');
  });

  it('fails clearly without any cgroup mount', () => {
    expect(() => detectLayout('25 1 252:0 / / rw - ext4 /dev/vda rw\n')).toThrow(
      'cgroups: no cgroup hierarchy is mounted',
    );
  });

  it('reads /proc/self/mountinfo by default', () => {
    expect(['v1', 'hybrid', 'v2']).toContain(detectLayout().kind);
  });
});
