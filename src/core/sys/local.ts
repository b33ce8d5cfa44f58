/**
 * LocalSys: the Sys seam served by this very process through libc (koffi, libc.ts). The wasm
 * engine uses it for the steps it performs on itself after the agent exec'd it: pivot_root,
 * the read-only and masked paths, rlimits, the user, capabilities, seccomp.
 *
 * Node is always multithreaded, and some of these attributes belong to a thread, not to the
 * process. What reaches every thread here:
 * - the mount namespace, root and cwd (pivot_root, chdir), rlimits, umask, hostname;
 * - uid, gid and groups: glibc's setresuid, setresgid and setgroups repeat the call on every
 *   thread of the process;
 * - seccomp: installed with SECCOMP_FILTER_FLAG_TSYNC, which also sets no_new_privs on every
 *   thread when the caller has it.
 * What does not: capabilities (capset, the bounding set, the ambient set, keepcaps), and
 * no_new_privs when no filter is installed. The kernel changes them only for the calling
 * thread, the main one, which runs the guest and every WASI call of node:wasi. The other
 * threads (V8's platform workers, libuv's pool, preview2-shim's I/O worker, which creates a
 * component's sockets) keep the capabilities the engine was exec'd with, except that a change
 * from uid 0 to a non-zero uid clears the permitted and effective sets of every thread but
 * the one holding PR_SET_KEEPCAPS. So under a non-root user the other threads have no
 * capabilities at all; under uid 0 they keep the engine's starting set (all of them, inside
 * the container's user namespace if it has one) until the process exits. They run no guest
 * code; a guest that took one over (a V8 bug) would still be held by seccomp, namespaces,
 * the cgroup and the pivoted root.
 */
import { accessSync, closeSync, constants, openSync, statSync, writeSync } from 'node:fs';

import { HakoError } from '../errors.js';
import { SYS_SECCOMP, failure, loadLibc } from './libc.js';
import { type ExecRequest, type ForkMode, Resolve, type StatResult, type Sys } from './sys.js';

const SECCOMP_SET_MODE_FILTER = 1;
const SECCOMP_FILTER_FLAG_TSYNC = 1;
const SECCOMP_FILTER_FLAG_NEW_LISTENER = 8;
const MS_MOVE = 0x2000;
const MS_REC = 0x4000;
const MS_SLAVE = 1 << 19;
const MNT_DETACH = 2;
const LINUX_CAPABILITY_VERSION_3 = 0x20080522;
const ENOENT = 2;
const EINVAL = 22;

/** Loads koffi and libc now, while the host's files are still reachable. */
export function preloadLocalSys(): void {
  loadLibc();
}

export class LocalSys implements Sys {
  private readonly c = loadLibc();

  /** Every call here is carried out before it returns. */
  async flush(): Promise<void> {}

  async setresuid(uid: number): Promise<void> {
    this.check(`setresuid ${uid}`, this.c.setresuid(uid, uid, uid));
  }

  async setresgid(gid: number): Promise<void> {
    this.check(`setresgid ${gid}`, this.c.setresgid(gid, gid, gid));
  }

  async setgroups(gids: number[]): Promise<void> {
    const list = new Uint32Array(gids.length || 1);
    list.set(gids);
    this.check(`setgroups ${gids.join(',')}`, this.c.setgroups(gids.length, list));
  }

  async mount(src: string, target: string, fstype: string, flags: number, data: string,
    resolve: Resolve): Promise<void> {
    this.plain(resolve, `mount on ${target}`);
    const rc = this.c.mount(src || null, target, fstype || null, flags, data || null);
    this.check(`mount ${src || fstype || 'none'} on ${target}`, rc);
  }

  async umount(target: string, flags: number): Promise<void> {
    this.check(`umount ${target}`, this.c.umount2(target, flags));
  }

  async stat(path: string, resolve: Resolve): Promise<StatResult | null> {
    this.plain(resolve, `stat ${path}`);
    try {
      const st = statSync(path, { bigint: true });
      return { mode: Number(st.mode), uid: Number(st.uid), gid: Number(st.gid), rdev: st.rdev };
    } catch (err) {
      const errno = nodeErrno(err);
      if (errno === ENOENT) return null;
      throw failure(`stat ${path}`, errno);
    }
  }

  async access(path: string, mode: number): Promise<number> {
    try {
      accessSync(path, mode);
      return 0;
    } catch (err) {
      return nodeErrno(err);
    }
  }

  async writeFile(path: string, data: string, resolve: Resolve): Promise<void> {
    this.plain(resolve, `write ${path}`);
    let fd: number | undefined;
    try {
      fd = openSync(path, constants.O_WRONLY | constants.O_TRUNC);
      writeSync(fd, data);
    } catch (err) {
      throw failure(`write ${path}`, nodeErrno(err));
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  /** As the agent's PIVOT_ROOT: the old root is stacked under the new one, then detached. */
  async pivotRoot(newRoot: string): Promise<void> {
    const oldRoot = openSync('/', constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      this.chdirOrThrow(newRoot);
      this.check(`pivot_root ${newRoot}`, this.c.pivotRoot('.', '.'));
      this.check('fchdir to the old root', this.c.fchdir(oldRoot));
      this.check('make the old root slave',
        this.c.mount(null, '.', null, MS_SLAVE | MS_REC, null));
      this.check('detach the old root', this.c.umount2('.', MNT_DETACH));
    } finally {
      closeSync(oldRoot);
    }
    // Through process.chdir, so that Node's cached process.cwd() follows.
    this.chdirOrThrow('/');
  }

  async chrootMove(newRoot: string): Promise<void> {
    this.chdirOrThrow(newRoot);
    this.check(`move ${newRoot} onto /`, this.c.mount('.', '/', null, MS_MOVE, null));
    this.check(`chroot ${newRoot}`, this.c.chroot('.'));
    this.chdirOrThrow('/');
  }

  async chdir(path: string): Promise<void> {
    this.chdirOrThrow(path);
  }

  async sethostname(name: string): Promise<void> {
    this.check(`sethostname ${name}`, this.c.sethostname(name, Buffer.byteLength(name)));
  }

  async setdomainname(name: string): Promise<void> {
    this.check(`setdomainname ${name}`, this.c.setdomainname(name, Buffer.byteLength(name)));
  }

  async close(fd: number): Promise<void> {
    try {
      closeSync(fd);
    } catch (err) {
      throw failure(`close ${fd}`, nodeErrno(err));
    }
  }

  async dup2(oldFd: number, newFd: number): Promise<void> {
    this.check(`dup2 ${oldFd} ${newFd}`, this.c.dup2(oldFd, newFd));
  }

  async setrlimit(resource: number, soft: bigint, hard: bigint): Promise<void> {
    // prlimit's struct rlimit64; RLIM_INFINITY is all ones, which -1n wraps to.
    const limit = Buffer.alloc(16);
    limit.writeBigUInt64LE(BigInt.asUintN(64, soft), 0);
    limit.writeBigUInt64LE(BigInt.asUintN(64, hard), 8);
    this.check(`setrlimit ${resource}`, this.c.prlimit(0, resource, limit, null));
  }

  async prctl(option: number, arg2: bigint, arg3 = 0n, arg4 = 0n, arg5 = 0n): Promise<void> {
    const ul = 'unsigned long';
    const rc = this.c.prctl(option, ul, arg2, ul, arg3, ul, arg4, ul, arg5);
    this.check(`prctl ${option}`, rc);
  }

  async capset(effective: bigint, permitted: bigint, inheritable: bigint): Promise<void> {
    const header = Buffer.alloc(8);
    header.writeUInt32LE(LINUX_CAPABILITY_VERSION_3, 0);
    // Two struct __user_cap_data_struct: the low 32 capabilities, then the high ones.
    const data = Buffer.alloc(24);
    [effective, permitted, inheritable].forEach((mask, i) => {
      data.writeUInt32LE(Number(mask & 0xffffffffn), i * 4);
      data.writeUInt32LE(Number((mask >> 32n) & 0xffffffffn), 12 + i * 4);
    });
    this.check('capset', this.c.capset(header, data));
  }

  async umask(mask: number): Promise<void> {
    process.umask(mask);
  }

  /** With TSYNC, so that every thread of the engine is filtered, not just this one. */
  async seccomp(program: Uint8Array, flags: number): Promise<number> {
    if (flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) {
      throw new HakoError(
        'seccomp: listenerPath is not supported for workloads of the Node engine',
      );
    }
    const nr = SYS_SECCOMP[process.arch];
    if (nr === undefined) throw new HakoError(`seccomp: no syscall number for ${process.arch}`);
    const filter = Buffer.from(program);
    // struct sock_fprog: unsigned short len (8-byte instructions), padding, the pointer.
    const fprog = Buffer.alloc(16);
    fprog.writeUInt16LE(filter.length / 8, 0);
    this.c.koffi.encode(fprog, 8, 'void *', filter);
    const rc = this.c.syscall(nr, 'unsigned int', SECCOMP_SET_MODE_FILTER,
      'unsigned int', flags | SECCOMP_FILTER_FLAG_TSYNC, 'void *', fprog);
    // TSYNC answers the id of a thread it could not synchronize with a positive value.
    if (rc > 0) throw failure(`install seccomp (thread ${rc} could not follow)`, EINVAL);
    this.check('install seccomp', rc);
    return 0;
  }

  // The rest is the agent's work: it must run single-threaded, before this process exists,
  // or in the agent's own setup before the exec.
  unshare(): Promise<void> { return unsupported('unshare'); }
  setns(): Promise<void> { return unsupported('setns'); }
  forkInit(_mode: ForkMode): Promise<number> { return unsupported('fork'); }
  setRoot(): Promise<void> { return unsupported('setRoot'); }
  mkdirAll(): Promise<void> { return unsupported('mkdirAll'); }
  createFile(): Promise<void> { return unsupported('createFile'); }
  mknod(): Promise<void> { return unsupported('mknod'); }
  symlink(): Promise<void> { return unsupported('symlink'); }
  chown(): Promise<void> { return unsupported('chown'); }
  chmod(): Promise<void> { return unsupported('chmod'); }
  listenUnix(): Promise<number> { return unsupported('listenUnix'); }
  connectUnix(): Promise<number> { return unsupported('connectUnix'); }
  console(): Promise<void> { return unsupported('console'); }
  linkUp(): Promise<void> { return unsupported('linkUp'); }
  tmpfsCopyUp(): Promise<void> { return unsupported('tmpfsCopyUp'); }
  sendFd(): Promise<void> { return unsupported('sendFd'); }
  openFile(): Promise<number> { return unsupported('openFile'); }
  waitStart(): Promise<void> { return unsupported('waitStart'); }
  spawnWait(): Promise<{ status: number; stderr: string }> { return unsupported('spawnWait'); }
  exec(_request: ExecRequest): Promise<void> { return unsupported('exec'); }

  private chdirOrThrow(path: string): void {
    try {
      process.chdir(path);
    } catch (err) {
      throw failure(`chdir ${path}`, nodeErrno(err));
    }
  }

  private check(operation: string, rc: number | bigint): void {
    if (Number(rc) < 0) throw failure(operation, this.c.koffi.errno());
  }

  private plain(resolve: Resolve, operation: string): void {
    if (resolve !== Resolve.Plain) {
      throw new HakoError(`${operation}: in-root paths need the agent (LocalSys runs after pivot)`);
    }
  }
}

function nodeErrno(err: unknown): number {
  const errno = (err as { errno?: unknown }).errno;
  return typeof errno === 'number' ? Math.abs(errno) : EINVAL;
}

function unsupported<T>(operation: string): Promise<T> {
  return Promise.reject(new HakoError(`LocalSys: ${operation} is done by the agent, not here`));
}
