/**
 * tmpcopyup (what podman asks for with --tmpfs and --read-only): the tmpfs starts with the
 * files of the image directory it covers, with their owners and modes, and writes to it stay
 * in the tmpfs.
 */
import { readFileSync, symlinkSync, writeFileSync, mkdirSync, chownSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { Scratch } from './helpers.js';

const scratch = new Scratch();
afterAll(() => scratch.cleanup());

describe('tmpcopyup', () => {
  it('copies the covered directory into the new tmpfs', () => {
    let rootfs = '';
    const bundle = scratch.bundle((spec) => {
      spec.mounts!.push({
        destination: '/data', type: 'tmpfs', source: 'tmpfs',
        options: ['nosuid', 'nodev', 'tmpcopyup', 'size=1m'],
      });
      spec.process!.args = ['sh', '-c', [
        'grep " /data " /proc/self/mountinfo | cut -d" " -f9',
        'cat /data/greeting',
        'stat -c "%u:%g %a" /data/sub/owned',
        'readlink /data/link',
        'echo new > /data/greeting && cat /data/greeting',
      ].join('; ')];
    });
    rootfs = join(bundle, 'rootfs');
    mkdirSync(join(rootfs, 'data/sub'), { recursive: true });
    writeFileSync(join(rootfs, 'data/greeting'), 'from the image\n');
    writeFileSync(join(rootfs, 'data/sub/owned'), 'x', { mode: 0o640 });
    chownSync(join(rootfs, 'data/sub/owned'), 1000, 1000);
    symlinkSync('/etc/passwd', join(rootfs, 'data/link'));

    const result = scratch.hako(['run', '--bundle', bundle, scratch.id('copyup')]);
    expect(result.stderr).toBe('');
    expect(result.stdout.split('\n')).toEqual([
      'tmpfs', 'from the image', '1000:1000 640', '/etc/passwd', 'new', '',
    ]);
    expect(result.status).toBe(0);
    // The write went to the tmpfs, not to the image.
    expect(readFileSync(join(rootfs, 'data/greeting'), 'utf8')).toBe('from the image\n');
  });

  it('is refused on anything but a tmpfs', () => {
    const result = scratch.run(['true'], (spec) => {
      spec.mounts!.push({ destination: '/x', type: 'proc', source: 'proc', options: ['tmpcopyup'] });
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('tmpcopyup applies to tmpfs mounts only');
  });
});
