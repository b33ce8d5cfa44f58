import { describe, expect, it } from 'vitest';

import {
  MOUNT_ATTR__ATIME, MOUNT_ATTR_NOATIME, MOUNT_ATTR_NODEV, MOUNT_ATTR_NOSUID, MOUNT_ATTR_RDONLY,
  MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_PRIVATE, MS_RDONLY, MS_REC, MS_RELATIME,
  MS_SHARED, MS_SLAVE, MS_STRICTATIME, MS_UNBINDABLE,
} from '../../src/core/spec/linux.js';
import { isKnownMountOption, parseMountOptions } from '../../src/core/spec/mount-options.js';

describe('parseMountOptions', () => {
  it('returns an empty result for no options', () => {
    expect(parseMountOptions([])).toEqual({
      flags: 0,
      clearFlags: 0,
      propagation: [],
      data: [],
      recursiveAttrs: { attrSet: 0, attrClr: 0 },
      bind: false,
      recursive: false,
      extensions: { tmpcopyup: false, idmap: false, ridmap: false },
    });
  });

  it('splits runc spec /dev/pts options into flags and data', () => {
    const o = parseMountOptions(
      ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    );
    expect(o.flags).toBe(MS_NOSUID | MS_NOEXEC);
    expect(o.data).toEqual(['newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5']);
    expect(o.data.join(',')).toBe('newinstance,ptmxmode=0666,mode=0620,gid=5');
  });

  it('handles the tmpfs /dev options', () => {
    const o = parseMountOptions(['nosuid', 'strictatime', 'mode=755', 'size=65536k']);
    expect(o.flags).toBe(MS_NOSUID | MS_STRICTATIME);
    expect(o.data).toEqual(['mode=755', 'size=65536k']);
  });

  it('maps each flag option to its MS_ bit', () => {
    const cases: Array<[string, number]> = [
      ['ro', 0x1], ['nosuid', 0x2], ['nodev', 0x4], ['noexec', 0x8], ['sync', 0x10],
      ['remount', 0x20], ['mand', 0x40], ['dirsync', 0x80], ['noatime', 0x400],
      ['nodiratime', 0x800], ['bind', 0x1000], ['rbind', 0x1000 | 0x4000], ['silent', 0x8000],
      ['relatime', 0x200000], ['strictatime', 0x1000000], ['lazytime', 0x2000000],
    ];
    for (const [option, flag] of cases) {
      expect(parseMountOptions([option]).flags, option).toBe(flag);
    }
  });

  it('records the flags that clearing options turn off', () => {
    const cases: Array<[string, number]> = [
      ['rw', 0x1], ['suid', 0x2], ['dev', 0x4], ['exec', 0x8], ['async', 0x10],
      ['nomand', 0x40], ['atime', 0x400], ['diratime', 0x800], ['loud', 0x8000],
      ['norelatime', 0x200000], ['nostrictatime', 0x1000000], ['nolazytime', 0x2000000],
    ];
    for (const [option, flag] of cases) {
      const o = parseMountOptions([option]);
      expect(o.flags, option).toBe(0);
      expect(o.clearFlags, option).toBe(flag);
    }
  });

  it('lets a later option override an earlier one', () => {
    const rw = parseMountOptions(['ro', 'nodev', 'rw']);
    expect(rw.flags).toBe(MS_NODEV);
    expect(rw.clearFlags).toBe(MS_RDONLY);

    const ro = parseMountOptions(['rw', 'ro']);
    expect(ro.flags).toBe(MS_RDONLY);
    expect(ro.clearFlags).toBe(0);
  });

  it('marks bind and rbind mounts', () => {
    const bind = parseMountOptions(['bind', 'ro']);
    expect(bind.bind).toBe(true);
    expect(bind.recursive).toBe(false);
    expect(bind.flags).toBe(MS_BIND | MS_RDONLY);

    const rbind = parseMountOptions(['rbind', 'nosuid', 'noexec', 'nodev', 'ro']);
    expect(rbind.bind).toBe(true);
    expect(rbind.recursive).toBe(true);
    expect(rbind.flags).toBe(MS_BIND | MS_REC | MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY);
  });

  it('collects propagation options in order, apart from flags', () => {
    const o = parseMountOptions(['rbind', 'rprivate', 'shared', 'rslave', 'unbindable']);
    expect(o.propagation).toEqual([
      MS_PRIVATE | MS_REC, MS_SHARED, MS_SLAVE | MS_REC, MS_UNBINDABLE,
    ]);
    expect(o.flags).toBe(MS_BIND | MS_REC);
    expect(parseMountOptions(['private', 'rshared', 'slave', 'runbindable']).propagation)
      .toEqual([MS_PRIVATE, MS_SHARED | MS_REC, MS_SLAVE, MS_UNBINDABLE | MS_REC]);
  });

  it('turns r* options into mount_setattr attributes', () => {
    const o = parseMountOptions(['rbind', 'rro', 'rnosuid', 'rnodev']);
    expect(o.recursiveAttrs).toEqual({
      attrSet: MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
      attrClr: 0,
    });
    expect(o.flags).toBe(MS_BIND | MS_REC);

    const clear = parseMountOptions(['rro', 'rrw', 'rsuid']);
    expect(clear.recursiveAttrs).toEqual({
      attrSet: 0,
      attrClr: MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID,
    });
  });

  it('clears the whole access-time field when an atime attribute is set', () => {
    expect(parseMountOptions(['rnoatime']).recursiveAttrs).toEqual({
      attrSet: MOUNT_ATTR_NOATIME,
      attrClr: MOUNT_ATTR__ATIME,
    });
    // MOUNT_ATTR_RELATIME is 0: choosing it is clearing the field.
    expect(parseMountOptions(['rrelatime']).recursiveAttrs).toEqual({
      attrSet: 0,
      attrClr: MOUNT_ATTR__ATIME,
    });
  });

  it('recognises extensions', () => {
    expect(parseMountOptions(['tmpcopyup']).extensions)
      .toEqual({ tmpcopyup: true, idmap: false, ridmap: false });
    expect(parseMountOptions(['bind', 'idmap']).extensions.idmap).toBe(true);
    expect(parseMountOptions(['rbind', 'ridmap']).extensions.ridmap).toBe(true);
    expect(parseMountOptions(['tmpcopyup', 'idmap']).data).toEqual([]);
  });

  it('drops "defaults" and passes anything unknown as data, in order', () => {
    const o = parseMountOptions(['defaults', 'size=1m', 'nr_inodes=10', 'uid=0', 'x-custom']);
    expect(o.flags).toBe(0);
    expect(o.data).toEqual(['size=1m', 'nr_inodes=10', 'uid=0', 'x-custom']);
  });

  it('keeps the cgroup mount of runc spec as flags only', () => {
    const o = parseMountOptions(['nosuid', 'noexec', 'nodev', 'relatime', 'ro']);
    expect(o.flags).toBe(MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RELATIME | MS_RDONLY);
    expect(o.data).toEqual([]);
  });
});

describe('isKnownMountOption', () => {
  it('tells interpreted options from filesystem data', () => {
    for (const option of ['ro', 'rbind', 'rprivate', 'rro', 'tmpcopyup', 'idmap', 'defaults']) {
      expect(isKnownMountOption(option), option).toBe(true);
    }
    for (const option of ['mode=755', 'newinstance', 'size=1m']) {
      expect(isKnownMountOption(option), option).toBe(false);
    }
  });
});
