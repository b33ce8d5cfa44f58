// Kernel constants the runtime needs, named as in the kernel headers so they can be looked up
// in man pages. Values are those of Linux on x86_64 and aarch64 (the generic ABI).

import { HakoError } from '../errors.js';
import type { LinuxNamespaceType } from './types.js';

// clone(2) / unshare(2) / setns(2) namespace flags.
export const CLONE_NEWTIME = 0x00000080;
export const CLONE_NEWNS = 0x00020000;
export const CLONE_NEWCGROUP = 0x02000000;
export const CLONE_NEWUTS = 0x04000000;
export const CLONE_NEWIPC = 0x08000000;
export const CLONE_NEWUSER = 0x10000000;
export const CLONE_NEWPID = 0x20000000;
export const CLONE_NEWNET = 0x40000000;

export interface NamespaceInfo {
  /** The CLONE_NEW* flag for unshare(2) and setns(2). */
  flag: number;
  /** The file name under /proc/<pid>/ns/. */
  procName: string;
}

/** Runtime-spec namespace type to kernel flag and /proc/<pid>/ns name. */
export const NAMESPACES: Readonly<Record<LinuxNamespaceType, NamespaceInfo>> = {
  pid: { flag: CLONE_NEWPID, procName: 'pid' },
  network: { flag: CLONE_NEWNET, procName: 'net' },
  mount: { flag: CLONE_NEWNS, procName: 'mnt' },
  ipc: { flag: CLONE_NEWIPC, procName: 'ipc' },
  uts: { flag: CLONE_NEWUTS, procName: 'uts' },
  user: { flag: CLONE_NEWUSER, procName: 'user' },
  cgroup: { flag: CLONE_NEWCGROUP, procName: 'cgroup' },
  time: { flag: CLONE_NEWTIME, procName: 'time' },
};

export function isNamespaceType(type: string): type is LinuxNamespaceType {
  return Object.hasOwn(NAMESPACES, type);
}

// mount(2) flags. All fit in 31 bits, so JavaScript's 32-bit bitwise operators are safe on them.
export const MS_RDONLY = 0x1;
export const MS_NOSUID = 0x2;
export const MS_NODEV = 0x4;
export const MS_NOEXEC = 0x8;
export const MS_SYNCHRONOUS = 0x10;
export const MS_REMOUNT = 0x20;
export const MS_MANDLOCK = 0x40;
export const MS_DIRSYNC = 0x80;
export const MS_NOSYMFOLLOW = 0x100;
export const MS_NOATIME = 0x400;
export const MS_NODIRATIME = 0x800;
export const MS_BIND = 0x1000;
export const MS_MOVE = 0x2000;
export const MS_REC = 0x4000;
export const MS_SILENT = 0x8000;
export const MS_POSIXACL = 0x10000;
export const MS_UNBINDABLE = 0x20000;
export const MS_PRIVATE = 0x40000;
export const MS_SLAVE = 0x80000;
export const MS_SHARED = 0x100000;
export const MS_RELATIME = 0x200000;
export const MS_I_VERSION = 0x800000;
export const MS_STRICTATIME = 0x1000000;
export const MS_LAZYTIME = 0x2000000;

// umount2(2) flags.
export const MNT_FORCE = 0x1;
export const MNT_DETACH = 0x2;

// mount_setattr(2) attributes and the flag that makes it apply to a whole subtree.
export const MOUNT_ATTR_RDONLY = 0x1;
export const MOUNT_ATTR_NOSUID = 0x2;
export const MOUNT_ATTR_NODEV = 0x4;
export const MOUNT_ATTR_NOEXEC = 0x8;
/** The access-time field: one of RELATIME, NOATIME, STRICTATIME, which are not bits. */
export const MOUNT_ATTR__ATIME = 0x70;
export const MOUNT_ATTR_RELATIME = 0x0;
export const MOUNT_ATTR_NOATIME = 0x10;
export const MOUNT_ATTR_STRICTATIME = 0x20;
export const MOUNT_ATTR_NODIRATIME = 0x80;
export const MOUNT_ATTR_IDMAP = 0x100000;
export const MOUNT_ATTR_NOSYMFOLLOW = 0x200000;
export const AT_RECURSIVE = 0x8000;

/** Capability numbers from linux/capability.h, in order. */
export const CAPABILITIES: Readonly<Record<string, number>> = Object.freeze({
  CAP_CHOWN: 0,
  CAP_DAC_OVERRIDE: 1,
  CAP_DAC_READ_SEARCH: 2,
  CAP_FOWNER: 3,
  CAP_FSETID: 4,
  CAP_KILL: 5,
  CAP_SETGID: 6,
  CAP_SETUID: 7,
  CAP_SETPCAP: 8,
  CAP_LINUX_IMMUTABLE: 9,
  CAP_NET_BIND_SERVICE: 10,
  CAP_NET_BROADCAST: 11,
  CAP_NET_ADMIN: 12,
  CAP_NET_RAW: 13,
  CAP_IPC_LOCK: 14,
  CAP_IPC_OWNER: 15,
  CAP_SYS_MODULE: 16,
  CAP_SYS_RAWIO: 17,
  CAP_SYS_CHROOT: 18,
  CAP_SYS_PTRACE: 19,
  CAP_SYS_PACCT: 20,
  CAP_SYS_ADMIN: 21,
  CAP_SYS_BOOT: 22,
  CAP_SYS_NICE: 23,
  CAP_SYS_RESOURCE: 24,
  CAP_SYS_TIME: 25,
  CAP_SYS_TTY_CONFIG: 26,
  CAP_MKNOD: 27,
  CAP_LEASE: 28,
  CAP_AUDIT_WRITE: 29,
  CAP_AUDIT_CONTROL: 30,
  CAP_SETFCAP: 31,
  CAP_MAC_OVERRIDE: 32,
  CAP_MAC_ADMIN: 33,
  CAP_SYSLOG: 34,
  CAP_WAKE_ALARM: 35,
  CAP_BLOCK_SUSPEND: 36,
  CAP_AUDIT_READ: 37,
  CAP_PERFMON: 38,
  CAP_BPF: 39,
  CAP_CHECKPOINT_RESTORE: 40,
});

/** The highest capability number hako knows; the running kernel may know fewer. */
export const CAP_LAST_KNOWN = 40;

export function isCapability(name: string): boolean {
  return Object.hasOwn(CAPABILITIES, name);
}

/**
 * The capability set with the named capabilities, as the 64-bit mask capset(2) takes in two
 * 32-bit halves. Throws on a name hako does not know (validation reports it earlier).
 */
export function capMask(names: readonly string[]): bigint {
  let mask = 0n;
  for (const name of names) {
    if (!isCapability(name)) throw new HakoError(`capabilities: unknown capability "${name}"`);
    mask |= 1n << BigInt(CAPABILITIES[name]);
  }
  return mask;
}

/** Capability names in a mask, in number order (for logs and `hako features`). */
export function capNames(mask: bigint): string[] {
  return Object.entries(CAPABILITIES)
    .filter(([, bit]) => (mask >> BigInt(bit)) & 1n)
    .map(([name]) => name);
}

/** setrlimit(2) resource numbers. */
export const RLIMITS: Readonly<Record<string, number>> = Object.freeze({
  RLIMIT_CPU: 0,
  RLIMIT_FSIZE: 1,
  RLIMIT_DATA: 2,
  RLIMIT_STACK: 3,
  RLIMIT_CORE: 4,
  RLIMIT_RSS: 5,
  RLIMIT_NPROC: 6,
  RLIMIT_NOFILE: 7,
  RLIMIT_MEMLOCK: 8,
  RLIMIT_AS: 9,
  RLIMIT_LOCKS: 10,
  RLIMIT_SIGPENDING: 11,
  RLIMIT_MSGQUEUE: 12,
  RLIMIT_NICE: 13,
  RLIMIT_RTPRIO: 14,
  RLIMIT_RTTIME: 15,
});

export function isRlimit(name: string): boolean {
  return Object.hasOwn(RLIMITS, name);
}

/**
 * RLIM_INFINITY is 2^64-1, which JSON.parse rounds up to 2^64: treat any limit at or above
 * 2^64-1 as infinity when converting to the kernel's unsigned 64-bit value.
 */
export const RLIM_INFINITY = 0xffffffffffffffffn;

export function rlimitValue(value: number): bigint {
  const v = BigInt(value);
  return v >= RLIM_INFINITY ? RLIM_INFINITY : v;
}

// prctl(2) operations and arguments hako uses.
export const PR_SET_PDEATHSIG = 1;
export const PR_SET_DUMPABLE = 4;
export const PR_SET_KEEPCAPS = 8;
export const PR_CAPBSET_READ = 23;
export const PR_CAPBSET_DROP = 24;
export const PR_SET_CHILD_SUBREAPER = 36;
export const PR_SET_NO_NEW_PRIVS = 38;
export const PR_CAP_AMBIENT = 47;
export const PR_CAP_AMBIENT_IS_SET = 1;
export const PR_CAP_AMBIENT_RAISE = 2;
export const PR_CAP_AMBIENT_LOWER = 3;
export const PR_CAP_AMBIENT_CLEAR_ALL = 4;

// File type bits of st_mode, for mknod(2).
export const S_IFMT = 0o170000;
export const S_IFIFO = 0o010000;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;

/** linux.devices[].type to the st_mode file type; 'u' (unbuffered) is a character device. */
export const DEVICE_TYPES: Readonly<Record<string, number>> = Object.freeze({
  c: S_IFCHR,
  u: S_IFCHR,
  b: S_IFBLK,
  p: S_IFIFO,
});

/** The dev_t of mknod(2) for a major and minor, laid out as glibc's makedev does. */
export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major);
  const mi = BigInt(minor);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n)
    | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn);
}

// personality(2) domains for linux.personality.domain.
export const PERSONALITY_DOMAINS: Readonly<Record<string, number>> = Object.freeze({
  LINUX: 0x0000,
  LINUX32: 0x0008,
});
