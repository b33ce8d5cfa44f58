/**
 * AgentSys: the Sys seam served by the native agent (native/PROTOCOL.md). Each method is one
 * request; its failure names the operation and its object.
 */
import { HakoError } from '../errors.js';
import { type Arg, Channel, encode, nulList } from './channel.js';
import { errnoDescription } from './failure.js';
import { deferStep } from './steps.js';
import {
  type ExecRequest,
  type ForkMode,
  Resolve,
  type StatResult,
  type Sys,
  SysError,
} from './sys.js';

const enum Op {
  UNSHARE = 1,
  SETNS = 2,
  FORK = 3,
  SETRESUID = 4,
  SETRESGID = 5,
  SETGROUPS = 6,
  SET_ROOT = 10,
  MOUNT = 11,
  UMOUNT = 12,
  MKDIR_ALL = 13,
  CREATE_FILE = 14,
  MKNOD = 15,
  SYMLINK = 16,
  CHOWN = 17,
  CHMOD = 18,
  WRITE_FILE = 19,
  STAT = 20,
  ACCESS = 21,
  PIVOT_ROOT = 22,
  CHROOT_MOVE = 23,
  CHDIR = 24,
  SETHOSTNAME = 30,
  SETDOMAINNAME = 31,
  LISTEN_UNIX = 40,
  CONNECT_UNIX = 41,
  CLOSE = 42,
  CONSOLE = 43,
  DUP2 = 44,
  SEND_FD = 45,
  OPEN_FILE = 46,
  SETRLIMIT = 50,
  PRCTL = 51,
  CAPSET = 52,
  UMASK = 53,
  SECCOMP = 54,
  LINK_UP = 55,
  TMPFS_COPYUP = 56,
  EXEC = 60,
  WAIT_START = 61,
  SPAWN_WAIT = 62,
}

const ENOENT = 2;
const SECCOMP_FILTER_FLAG_NEW_LISTENER = 8;
const ECANCELED = 125;

/*
 * Requests whose answer carries nothing but success are pipelined: the method resolves at
 * once and the next request goes out without waiting for a round trip (a container's setup is
 * some fifty of them). This is safe because the agent fails sticky: after a failed request
 * it refuses every later one, so nothing runs past a failure. The failure is reported by the
 * next request that waits for its answer (a query, `flush`, `waitStart`, `exec`), under the
 * name the caller gave the step (steps.ts).
 */

export class AgentSys implements Sys {
  private firstFailure: Error | undefined;

  constructor(readonly channel: Channel) {}

  /** Waits for every request sent so far; rejects with the first failure among them. */
  async flush(): Promise<void> {
    await this.answer(Op.ACCESS, ['/', 0], 'flush').catch(() => undefined);
    this.rethrow();
  }

  private rethrow(): void {
    if (this.firstFailure) throw this.firstFailure;
  }

  private async call(op: Op, args: Arg[], describe: string): Promise<bigint> {
    return (await this.answer(op, args, describe)).ret;
  }

  /** A request whose answer the caller needs: an earlier pipelined failure comes first. */
  private async answer(op: Op, args: Arg[], describe: string, eofIsSuccess = false) {
    try {
      const result = await this.channel.request(op, args, describe, eofIsSuccess);
      this.rethrow();
      return result;
    } catch (err) {
      this.rethrow();
      throw err;
    }
  }

  private done(op: Op, args: Arg[], describe: string): Promise<void> {
    const settled = Promise.resolve();
    const step = deferStep(settled, describe);
    this.channel.request(op, args, describe).catch((err: unknown) => {
      if (this.firstFailure) return;
      const errno = (err as { errno?: number }).errno;
      if (errno === ECANCELED) return;
      this.firstFailure = err instanceof SysError
        ? new HakoError(`${step.label}: ${errnoDescription(err.errno)}`)
        : (err as Error);
    });
    return settled;
  }

  unshare(flags: number): Promise<void> {
    return this.done(Op.UNSHARE, [flags], `unshare 0x${flags.toString(16)}`);
  }

  setns(path: string, nstype: number): Promise<void> {
    return this.done(Op.SETNS, [path, nstype], `setns ${path}`);
  }

  async forkInit(mode: ForkMode): Promise<number> {
    return Number(await this.call(Op.FORK, [mode], 'fork the container init'));
  }

  setresuid(uid: number): Promise<void> {
    return this.done(Op.SETRESUID, [uid], `setresuid ${uid}`);
  }

  setresgid(gid: number): Promise<void> {
    return this.done(Op.SETRESGID, [gid], `setresgid ${gid}`);
  }

  setgroups(gids: number[]): Promise<void> {
    const bytes = Buffer.alloc(gids.length * 4);
    gids.forEach((gid, i) => bytes.writeUInt32LE(gid, i * 4));
    return this.done(Op.SETGROUPS, [bytes], `setgroups ${gids.join(',')}`);
  }

  setRoot(path: string): Promise<void> {
    return this.done(Op.SET_ROOT, [path], `open root ${path}`);
  }

  mount(
    source: string,
    target: string,
    fstype: string,
    flags: number,
    data: string,
    resolve: Resolve,
  ): Promise<void> {
    const args = [source, target, fstype, flags, data, resolve];
    return this.done(Op.MOUNT, args, `mount ${source || fstype || 'none'} on ${target}`);
  }

  tmpfsCopyUp(target: string, flags: number, data: string, resolve: Resolve): Promise<void> {
    const args = [target, flags, data, resolve];
    return this.done(Op.TMPFS_COPYUP, args, `mount tmpfs on ${target} (tmpcopyup)`);
  }

  umount(target: string, flags: number): Promise<void> {
    return this.done(Op.UMOUNT, [target, flags], `umount ${target}`);
  }

  mkdirAll(path: string, mode: number, resolve: Resolve): Promise<void> {
    return this.done(Op.MKDIR_ALL, [path, mode, resolve], `mkdir ${path}`);
  }

  createFile(path: string, mode: number, resolve: Resolve): Promise<void> {
    return this.done(Op.CREATE_FILE, [path, mode, resolve], `create ${path}`);
  }

  mknod(path: string, mode: number, major: number, minor: number, resolve: Resolve) {
    return this.done(Op.MKNOD, [path, mode, major, minor, resolve], `mknod ${path}`);
  }

  symlink(target: string, linkPath: string, resolve: Resolve): Promise<void> {
    return this.done(Op.SYMLINK, [target, linkPath, resolve], `symlink ${linkPath}`);
  }

  chown(path: string, uid: number, gid: number, resolve: Resolve): Promise<void> {
    return this.done(Op.CHOWN, [path, uid, gid, resolve], `chown ${path}`);
  }

  chmod(path: string, mode: number, resolve: Resolve): Promise<void> {
    return this.done(Op.CHMOD, [path, mode, resolve], `chmod ${path}`);
  }

  writeFile(path: string, data: string, resolve: Resolve): Promise<void> {
    return this.done(Op.WRITE_FILE, [path, data, resolve], `write ${path}`);
  }

  async stat(path: string, resolve: Resolve): Promise<StatResult | null> {
    try {
      const { payload } = await this.answer(Op.STAT, [path, resolve], `stat ${path}`);
      return {
        mode: payload.readUInt32LE(0),
        uid: payload.readUInt32LE(4),
        gid: payload.readUInt32LE(8),
        rdev: payload.readBigUInt64LE(12),
      };
    } catch (err) {
      if ((err as { errno?: number }).errno === ENOENT) return null;
      throw err;
    }
  }

  async access(path: string, mode: number): Promise<number> {
    try {
      await this.answer(Op.ACCESS, [path, mode], `access ${path}`);
      return 0;
    } catch (err) {
      const errno = (err as { errno?: number }).errno;
      if (typeof errno === 'number') return errno;
      throw err;
    }
  }

  pivotRoot(newRoot: string): Promise<void> {
    return this.done(Op.PIVOT_ROOT, [newRoot], `pivot_root ${newRoot}`);
  }

  chrootMove(newRoot: string): Promise<void> {
    return this.done(Op.CHROOT_MOVE, [newRoot], `chroot ${newRoot}`);
  }

  chdir(path: string): Promise<void> {
    return this.done(Op.CHDIR, [path], `chdir ${path}`);
  }

  linkUp(name: string): Promise<void> {
    return this.done(Op.LINK_UP, [name], `bring up ${name}`);
  }

  sethostname(name: string): Promise<void> {
    return this.done(Op.SETHOSTNAME, [name], `sethostname ${name}`);
  }

  setdomainname(name: string): Promise<void> {
    return this.done(Op.SETDOMAINNAME, [name], `setdomainname ${name}`);
  }

  async openFile(path: string, flags: number, mode: number): Promise<number> {
    return Number(await this.call(Op.OPEN_FILE, [path, flags, mode], `open ${path}`));
  }

  async listenUnix(path: string): Promise<number> {
    return Number(await this.call(Op.LISTEN_UNIX, [path], `listen on ${path}`));
  }

  async connectUnix(path: string): Promise<number> {
    return Number(await this.call(Op.CONNECT_UNIX, [path], `connect to ${path}`));
  }

  close(fd: number): Promise<void> {
    return this.done(Op.CLOSE, [fd], `close ${fd}`);
  }

  dup2(oldFd: number, newFd: number): Promise<void> {
    return this.done(Op.DUP2, [oldFd, newFd], `dup2 ${oldFd} ${newFd}`);
  }

  console(socketFd: number, rows: number, cols: number): Promise<void> {
    return this.done(Op.CONSOLE, [socketFd, rows, cols], 'set up the console');
  }

  setrlimit(resource: number, soft: bigint, hard: bigint): Promise<void> {
    return this.done(Op.SETRLIMIT, [resource, soft, hard], `setrlimit ${resource}`);
  }

  prctl(option: number, arg2: bigint, arg3 = 0n, arg4 = 0n, arg5 = 0n): Promise<void> {
    return this.done(Op.PRCTL, [option, arg2, arg3, arg4, arg5], `prctl ${option}`);
  }

  capset(effective: bigint, permitted: bigint, inheritable: bigint): Promise<void> {
    return this.done(Op.CAPSET, [effective, permitted, inheritable], 'capset');
  }

  umask(mask: number): Promise<void> {
    return this.done(Op.UMASK, [mask], `umask ${mask.toString(8)}`);
  }

  async seccomp(program: Uint8Array, flags: number): Promise<number> {
    const args = [program, flags];
    // The listener's number is needed at once; a filter without one is pipelined.
    if (flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) {
      return Number(await this.call(Op.SECCOMP, args, 'install the seccomp filter'));
    }
    await this.done(Op.SECCOMP, args, 'install the seccomp filter');
    return 0;
  }

  sendFd(sock: number, fd: number, payload: string): Promise<void> {
    return this.done(Op.SEND_FD, [sock, fd, payload], `send descriptor ${fd}`);
  }

  async waitStart(startFd: number): Promise<void> {
    await this.answer(Op.WAIT_START, [startFd], 'wait for start');
  }

  async spawnWait(path: string, argv: string[], env: string[], stdin: string, timeoutMs: number) {
    const args = [path, nulList(argv), nulList(env), stdin, timeoutMs];
    const answer = await this.answer(Op.SPAWN_WAIT, args, `run ${path}`);
    return { status: Number(answer.ret), stderr: answer.payload.toString() };
  }

  async exec(request: ExecRequest): Promise<void> {
    await this.answer(Op.EXEC, execArgs(request), execOperation(request), true);
  }
}

function execArgs(request: ExecRequest): Arg[] {
  const seccomp = request.seccomp;
  return [
    request.path,
    nulList(request.argv),
    nulList(request.env),
    request.closeFrom,
    seccomp ? seccomp.program : new Uint8Array(0),
    seccomp ? seccomp.flags : 0,
  ];
}

/** How a failed EXEC names itself: `exec /bin/sh: <errno text>`. */
export function execOperation(request: { path: string }): string {
  return `exec ${request.path}`;
}

/** The EXEC request as bytes on the wire, for a client other than this one (the launcher). */
export function execFrame(request: ExecRequest): Buffer {
  return encode(Op.EXEC, execArgs(request));
}

export { Resolve };
