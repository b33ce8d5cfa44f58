/**
 * A mount destination that is a dangling symlink in the image: as runc does, the link's
 * target is created inside the rootfs and the mount lands there, never on the host.
 */
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { Scratch } from './helpers.js';

const scratch = new Scratch();
afterAll(() => scratch.cleanup());

describe('mount on a dangling symlink', () => {
  it('creates the target beneath the root and mounts there', () => {
    const hostPath = `/tmp/hako-dangling-${process.pid}`;
    const bundle = scratch.bundle((spec) => {
      spec.mounts!.push(
        { destination: '/abs', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] },
        { destination: '/rel/data', type: 'tmpfs', source: 'tmpfs', options: ['size=2m'] },
      );
      spec.process!.args = ['sh', '-c',
        `grep -E " ${hostPath} | /var/lib/x/data " /proc/self/mountinfo | cut -d" " -f5,9`];
    });
    const rootfs = join(bundle, 'rootfs');
    symlinkSync(hostPath, join(rootfs, 'abs')); // absolute, to a path the host does not have
    mkdirSync(join(rootfs, 'var'));
    symlinkSync('var/lib/x', join(rootfs, 'rel')); // relative, dangling below /var

    const result = scratch.hako(['run', '--bundle', bundle, scratch.id('dangle')]);
    expect(result.stderr).toBe('');
    expect(result.stdout.trim().split('\n').sort()).toEqual(
      [`${hostPath} tmpfs`, '/var/lib/x/data tmpfs'].sort(),
    );
    expect(result.status).toBe(0);
    expect(existsSync(join(rootfs, hostPath))).toBe(true);
    expect(existsSync(join(rootfs, 'var/lib/x/data'))).toBe(true);
    expect(existsSync(hostPath)).toBe(false);
  });
});
