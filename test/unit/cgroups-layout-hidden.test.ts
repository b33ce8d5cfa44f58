import { describe, expect, it } from 'vitest';

import { detectLayout } from '../../src/core/cgroups/index.js';

// The hybrid host, as its mountinfo lists it: the root mount after /sys, as on this machine.
const HYBRID_HOST = [
  '23 27 0:22 / /sys rw,relatime - sysfs sysfs rw',
  '27 1 254:0 / / rw,relatime - ext4 /dev/vda rw',
  '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
  '32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu',
  '35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
  '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
];

describe('detectLayout with mounts hidden under later ones', () => {
  it('keeps a hybrid host hybrid (ancestors listed later hide nothing)', () => {
    const layout = detectLayout(HYBRID_HOST.join('\n'));
    expect(layout.kind).toBe('hybrid');
    expect(layout.v1.get('memory')).toBe('/sys/fs/cgroup/memory');
    expect(layout.v2).toBe('/sys/fs/cgroup/unified');
  });

  it('cgroup2 mounted over /sys/fs/cgroup in a private mount namespace: v2', () => {
    const over = '90 31 0:38 / /sys/fs/cgroup rw,relatime - cgroup2 none rw';
    const layout = detectLayout([...HYBRID_HOST, over].join('\n'));
    expect(layout.kind).toBe('v2');
    expect(layout.v2).toBe('/sys/fs/cgroup');
    expect(layout.v1.size).toBe(0);
  });

  it('a tmpfs over one v1 hierarchy hides only that one', () => {
    const over = '91 31 0:50 / /sys/fs/cgroup/memory rw - tmpfs tmpfs rw';
    const layout = detectLayout([...HYBRID_HOST, over].join('\n'));
    expect(layout.v1.has('memory')).toBe(false);
    expect(layout.v1.get('cpu')).toBe('/sys/fs/cgroup/cpu');
  });

  it('a mount is not hidden by its own parent, even one listed after it', () => {
    // mountinfo order can put a parent after its child (the root mount after /sys above).
    const text = [
      '96 95 0:32 / /mnt/cg/memory rw - cgroup cgroup rw,memory',
      '95 27 0:60 / /mnt/cg rw - tmpfs tmpfs rw',
    ].join('\n');
    expect(detectLayout(text).v1.get('memory')).toBe('/mnt/cg/memory');
  });
});
