import { describe, expect, it } from 'vitest';

import { HakoError } from '../../src/core/errors.js';
import {
  CAPABILITIES, capMask, capNames, CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS,
  CLONE_NEWPID, CLONE_NEWTIME, CLONE_NEWUSER, CLONE_NEWUTS, DEVICE_TYPES, isCapability,
  isNamespaceType, isRlimit, makedev, NAMESPACES, RLIM_INFINITY, rlimitValue, RLIMITS,
  S_IFBLK, S_IFCHR, S_IFIFO,
} from '../../src/core/spec/linux.js';

describe('capabilities', () => {
  it('numbers capabilities as linux/capability.h does', () => {
    expect(CAPABILITIES.CAP_CHOWN).toBe(0);
    expect(CAPABILITIES.CAP_KILL).toBe(5);
    expect(CAPABILITIES.CAP_NET_BIND_SERVICE).toBe(10);
    expect(CAPABILITIES.CAP_SYS_ADMIN).toBe(21);
    expect(CAPABILITIES.CAP_AUDIT_WRITE).toBe(29);
    expect(CAPABILITIES.CAP_CHECKPOINT_RESTORE).toBe(40);
    expect(Object.values(CAPABILITIES)).toEqual([...Array(41).keys()]);
  });

  it('builds masks', () => {
    expect(capMask([])).toBe(0n);
    expect(capMask(['CAP_CHOWN'])).toBe(1n);
    // runc spec's default set: bits 5, 10 and 29.
    expect(capMask(['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE']))
      .toBe((1n << 5n) | (1n << 10n) | (1n << 29n));
    expect(capMask(['CAP_KILL', 'CAP_KILL'])).toBe(1n << 5n);
    // Past bit 31: the upper half of capset(2)'s data.
    expect(capMask(['CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_CHECKPOINT_RESTORE']))
      .toBe((1n << 31n) | (1n << 32n) | (1n << 40n));
    expect(capMask(Object.keys(CAPABILITIES))).toBe((1n << 41n) - 1n);
  });

  it('rejects unknown names, including Object.prototype members', () => {
    expect(() => capMask(['CAP_FOO'])).toThrow(HakoError);
    expect(() => capMask(['CAP_FOO'])).toThrow('capabilities: unknown capability "CAP_FOO"');
    expect(() => capMask(['toString'])).toThrow('unknown capability "toString"');
    expect(isCapability('constructor')).toBe(false);
    expect(isCapability('CAP_BPF')).toBe(true);
  });

  it('names the bits of a mask', () => {
    expect(capNames((1n << 5n) | (1n << 40n))).toEqual(['CAP_KILL', 'CAP_CHECKPOINT_RESTORE']);
  });
});

describe('namespaces', () => {
  it('maps spec types to clone flags and /proc names', () => {
    expect(NAMESPACES.pid).toEqual({ flag: CLONE_NEWPID, procName: 'pid' });
    expect(NAMESPACES.network).toEqual({ flag: CLONE_NEWNET, procName: 'net' });
    expect(NAMESPACES.mount).toEqual({ flag: CLONE_NEWNS, procName: 'mnt' });
    expect(NAMESPACES.ipc).toEqual({ flag: CLONE_NEWIPC, procName: 'ipc' });
    expect(NAMESPACES.uts).toEqual({ flag: CLONE_NEWUTS, procName: 'uts' });
    expect(NAMESPACES.user).toEqual({ flag: CLONE_NEWUSER, procName: 'user' });
    expect(NAMESPACES.cgroup).toEqual({ flag: CLONE_NEWCGROUP, procName: 'cgroup' });
    expect(NAMESPACES.time).toEqual({ flag: CLONE_NEWTIME, procName: 'time' });
  });

  it('has the kernel flag values', () => {
    expect([CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWTIME])
      .toEqual([0x20000, 0x10000000, 0x20000000, 0x40000000, 0x80]);
  });

  it('knows the spec type names only', () => {
    expect(isNamespaceType('network')).toBe(true);
    expect(isNamespaceType('net')).toBe(false);
    expect(isNamespaceType('toString')).toBe(false);
  });
});

describe('rlimits', () => {
  it('numbers resources as setrlimit(2) does', () => {
    expect(RLIMITS.RLIMIT_NOFILE).toBe(7);
    expect(RLIMITS.RLIMIT_NPROC).toBe(6);
    expect(RLIMITS.RLIMIT_RTTIME).toBe(15);
    expect(isRlimit('RLIMIT_MEMLOCK')).toBe(true);
    expect(isRlimit('NOFILE')).toBe(false);
  });

  it('converts JSON numbers to 64-bit limits, mapping rounded 2^64-1 to infinity', () => {
    expect(rlimitValue(1024)).toBe(1024n);
    expect(rlimitValue(JSON.parse('18446744073709551615'))).toBe(RLIM_INFINITY);
  });
});

describe('devices', () => {
  it('maps device types to file types', () => {
    expect(DEVICE_TYPES.c).toBe(S_IFCHR);
    expect(DEVICE_TYPES.u).toBe(S_IFCHR);
    expect(DEVICE_TYPES.b).toBe(S_IFBLK);
    expect(DEVICE_TYPES.p).toBe(S_IFIFO);
  });

  it('encodes dev_t like glibc makedev', () => {
    expect(makedev(1, 3)).toBe(0x103n);
    expect(makedev(136, 0)).toBe(0x8800n);
    // Values printed by a C program calling glibc's makedev on this machine.
    expect(makedev(259, 65536)).toBe(0x10010300n);
    expect(makedev(4096, 3)).toBe(0x100000000003n);
  });
});
