/**
 * libc through koffi, for the calls the engine makes on itself (LocalSys) and for reading a
 * container's file beneath its rootfs (openat2 RESOLVE_IN_ROOT), which `create` and the
 * engine both do. koffi loads on first use: a command that needs none of this pays nothing.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';

import { distRequire } from '../dist.js';
import { errnoText } from './channel.js';
import { errnoMessage } from './failure.js';
import { SysError } from './sys.js';

type Koffi = typeof import('koffi');
export type Fn = (...args: unknown[]) => number;

const SYS_OPENAT2 = 437;
const RESOLVE_NO_MAGICLINKS = 0x02;
const RESOLVE_IN_ROOT = 0x10;
const O_CLOEXEC = 0o2000000;
const EIO = 5;
const EACCES = 13;

/** seccomp(2) has no glibc wrapper; its number differs per architecture. */
export const SYS_SECCOMP: Partial<Record<string, number>> = { x64: 317, arm64: 277 };

export interface Libc {
  koffi: Koffi;
  syscall: Fn;
  prctl: Fn;
  mount: Fn;
  umount2: Fn;
  pivotRoot: Fn;
  chroot: Fn;
  fchdir: Fn;
  sethostname: Fn;
  setdomainname: Fn;
  setresuid: Fn;
  setresgid: Fn;
  setgroups: Fn;
  capset: Fn;
  prlimit: Fn;
  dup2: Fn;
}

let libc: Libc | undefined;

/** koffi and libc, bound once. Call before pivot_root: the host's files are needed. */
export function loadLibc(): Libc {
  if (libc) return libc;
  const koffi = distRequire()('koffi') as Koffi;
  const lib = koffi.load('libc.so.6');
  const f = (proto: string) => lib.func(proto) as unknown as Fn;
  libc = {
    koffi,
    syscall: f('long syscall(long number, ...)'),
    prctl: f('int prctl(int option, ...)'),
    mount: f('int mount(const char *src, const char *dst, const char *type, unsigned long fl,'
      + ' const char *data)'),
    umount2: f('int umount2(const char *target, int flags)'),
    pivotRoot: f('int pivot_root(const char *new_root, const char *put_old)'),
    chroot: f('int chroot(const char *path)'),
    fchdir: f('int fchdir(int fd)'),
    sethostname: f('int sethostname(const char *name, size_t len)'),
    setdomainname: f('int setdomainname(const char *name, size_t len)'),
    setresuid: f('int setresuid(uint32_t r, uint32_t e, uint32_t s)'),
    setresgid: f('int setresgid(uint32_t r, uint32_t e, uint32_t s)'),
    setgroups: f('int setgroups(size_t size, const uint32_t *list)'),
    capset: f('int capset(void *header, void *data)'),
    prlimit: f('int prlimit(int pid, int resource, const void *limit, void *old)'),
    dup2: f('int dup2(int oldfd, int newfd)'),
  };
  return libc;
}

/**
 * Opens `path` beneath `root` the way the agent resolves in-root paths (openat2 with
 * RESOLVE_IN_ROOT): `..` and absolute symlinks stay inside. Returns a read-only descriptor.
 */
export function openInRoot(root: string, path: string): number {
  const { syscall, koffi } = loadLibc();
  const dir = openSync(root, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    const how = Buffer.alloc(24);
    how.writeBigUInt64LE(BigInt(constants.O_RDONLY | O_CLOEXEC), 0);
    how.writeBigUInt64LE(BigInt(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), 16);
    const fd = syscall(SYS_OPENAT2, 'int', dir, 'str', path, 'void *', how, 'size_t', 24);
    if (fd < 0) throw failure(`open ${path}`, koffi.errno());
    return Number(fd);
  } finally {
    closeSync(dir);
  }
}

/** A file of the container: its bytes, or why it could not be read. */
export type InRootRead = { bytes: Buffer } | { errno: number; message: string };

/**
 * A file beneath `root`, read whole through `openInRoot`. Something other than a regular
 * file is EACCES, as execve would answer.
 */
export function readFileInRoot(root: string, path: string): InRootRead {
  let fd: number;
  try {
    fd = openInRoot(root, path);
  } catch (err) {
    const errno = err instanceof SysError ? err.errno : EIO;
    return { errno, message: errnoMessage(errno) };
  }
  try {
    if (!fstatSync(fd).isFile()) return { errno: EACCES, message: errnoMessage(EACCES) };
    return { bytes: readFileSync(fd) };
  } finally {
    closeSync(fd);
  }
}

/** A SysError for a failed libc call, worded as the agent's failures are. */
export function failure(operation: string, errno: number): SysError {
  const { code, text } = errnoText(errno);
  return new SysError(operation, errno, code, text);
}

