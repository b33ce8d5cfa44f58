/**
 * RecordingSys: a Sys that does nothing but write each call down as one readable line, for unit
 * tests and for the dry-run plan of a bundle. Queries (stat, access) are answered from tables
 * the test fills; any call can be made to fail with an errno, after which every later call is
 * refused with ECANCELED, as the agent does (native/PROTOCOL.md, "Sticky failure").
 */
import {
  PR_CAPBSET_DROP, PR_CAPBSET_READ, PR_CAP_AMBIENT, PR_SET_CHILD_SUBREAPER, PR_SET_DUMPABLE,
  PR_SET_KEEPCAPS, PR_SET_NO_NEW_PRIVS, PR_SET_PDEATHSIG, RLIMITS, RLIM_INFINITY,
} from '../spec/linux.js';
import { errnoCode, errnoMessage } from './failure.js';
import {
  type ExecRequest, ForkMode, Resolve, type StatResult, type Sys, SysError,
} from './sys.js';

const ENOENT = 2;
const ECANCELED = 125;
// st_mode file types (linux.ts has only those mknod needs).
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;

const FORK_MODE_NAMES = {
  [ForkMode.Detach]: 'detach', [ForkMode.Wait]: 'wait', [ForkMode.Proxy]: 'proxy',
} as const;

/** A stat answer for a directory (mode 040755 unless given). */
export function statDir(perm = 0o755, uid = 0, gid = 0): StatResult {
  return { mode: S_IFDIR | perm, uid, gid, rdev: 0n };
}

/** A stat answer for a regular file (mode 0100755 unless given). */
export function statFile(perm = 0o755, uid = 0, gid = 0): StatResult {
  return { mode: S_IFREG | perm, uid, gid, rdev: 0n };
}

interface Failure {
  match: string | RegExp;
  errno: number;
}

export class RecordingSys implements Sys {
  /** Every call, in order, as one line each (failed and refused calls included). */
  readonly calls: string[] = [];
  /** stat answers by path: a result, or an errno (ENOENT answers null). Unknown paths: null. */
  readonly stats = new Map<string, StatResult | number>();
  /** access answers by path (0: allowed). Unknown: 0 if `stats` holds a result, else ENOENT. */
  readonly accessAnswers = new Map<string, number>();
  /** What forkInit answers. */
  forkPid = 4242;
  /** What spawnWait answers. */
  spawnResult = { status: 0, stderr: '' };

  private readonly failures: Failure[] = [];
  private nextFd = 10;
  private failed = false;

  /**
   * Makes the first call whose line starts with `match` (or matches the RegExp) fail with
   * `errno`. Calls after it are refused with ECANCELED, except that a failed stat or access
   * is not sticky.
   */
  failOn(match: string | RegExp, errno: number): this {
    this.failures.push({ match, errno });
    return this;
  }

  /** Calls take effect at once here, so there is nothing to wait for (and nothing recorded). */
  async flush(): Promise<void> {
    if (this.failed) throw new SysError('flush', ECANCELED, 'ECANCELED', 'canceled');
  }

  unshare(flags: number): Promise<void> {
    return this.act(`unshare ${hex(flags)}`);
  }

  setns(path: string, nstype: number): Promise<void> {
    return this.act(`setns ${path} ${hex(nstype)}`);
  }

  async forkInit(mode: ForkMode): Promise<number> {
    await this.act(`fork ${FORK_MODE_NAMES[mode]}`);
    return this.forkPid;
  }

  setresuid(uid: number): Promise<void> {
    return this.act(`setresuid ${uid}`);
  }

  setresgid(gid: number): Promise<void> {
    return this.act(`setresgid ${gid}`);
  }

  setgroups(gids: number[]): Promise<void> {
    return this.act(`setgroups ${gids.length ? gids.join(',') : 'none'}`);
  }

  setRoot(path: string): Promise<void> {
    return this.act(`setRoot ${path}`);
  }

  mount(
    source: string,
    target: string,
    fstype: string,
    flags: number,
    data: string,
    resolve: Resolve,
  ): Promise<void> {
    let line = `mount ${source || 'none'} on ${target}`;
    if (fstype) line += ` type ${fstype}`;
    line += ` flags=${hex(flags)}`;
    if (data) line += ` data=${data}`;
    return this.act(line + where(resolve));
  }

  umount(target: string, flags: number): Promise<void> {
    return this.act(`umount ${target} flags=${hex(flags)}`);
  }

  tmpfsCopyUp(target: string, flags: number, data: string, resolve: Resolve): Promise<void> {
    const line = `tmpcopyup tmpfs on ${target} flags=${hex(flags)} data=${data}`;
    return this.act(line + where(resolve));
  }

  mkdirAll(path: string, mode: number, resolve: Resolve): Promise<void> {
    return this.act(`mkdirAll ${path} ${octal(mode)}${where(resolve)}`);
  }

  createFile(path: string, mode: number, resolve: Resolve): Promise<void> {
    return this.act(`createFile ${path} ${octal(mode)}${where(resolve)}`);
  }

  mknod(path: string, mode: number, major: number, minor: number, resolve: Resolve) {
    return this.act(`mknod ${path} ${octal(mode)} ${major}:${minor}${where(resolve)}`);
  }

  symlink(target: string, linkPath: string, resolve: Resolve): Promise<void> {
    return this.act(`symlink ${linkPath} -> ${target}${where(resolve)}`);
  }

  chown(path: string, uid: number, gid: number, resolve: Resolve): Promise<void> {
    return this.act(`chown ${path} ${uid}:${gid}${where(resolve)}`);
  }

  chmod(path: string, mode: number, resolve: Resolve): Promise<void> {
    return this.act(`chmod ${path} ${octal(mode)}${where(resolve)}`);
  }

  writeFile(path: string, data: string, resolve: Resolve): Promise<void> {
    return this.act(`writeFile ${path} ${JSON.stringify(data)}${where(resolve)}`);
  }

  async stat(path: string, resolve: Resolve): Promise<StatResult | null> {
    await this.query(`stat ${path}${where(resolve)}`);
    const answer = this.stats.get(path);
    if (answer === undefined || answer === ENOENT) return null;
    if (typeof answer === 'number') throw sysError(`stat ${path}`, answer);
    return answer;
  }

  async access(path: string, mode: number): Promise<number> {
    await this.query(`access ${path} ${mode}`);
    const answer = this.accessAnswers.get(path);
    if (answer !== undefined) return answer;
    return typeof this.stats.get(path) === 'object' ? 0 : ENOENT;
  }

  pivotRoot(newRoot: string): Promise<void> {
    return this.act(`pivotRoot ${newRoot}`);
  }

  chrootMove(newRoot: string): Promise<void> {
    return this.act(`chrootMove ${newRoot}`);
  }

  chdir(path: string): Promise<void> {
    return this.act(`chdir ${path}`);
  }

  linkUp(name: string): Promise<void> {
    return this.act(`link up ${name}`);
  }

  sethostname(name: string): Promise<void> {
    return this.act(`sethostname ${name}`);
  }

  setdomainname(name: string): Promise<void> {
    return this.act(`setdomainname ${name}`);
  }

  async openFile(path: string, flags: number, mode: number): Promise<number> {
    await this.act(`open ${path} flags=${hex(flags)} mode=${octal(mode)}`);
    return this.nextFd++;
  }

  async listenUnix(path: string): Promise<number> {
    await this.act(`listenUnix ${path}`);
    return this.nextFd++;
  }

  async connectUnix(path: string): Promise<number> {
    await this.act(`connectUnix ${path}`);
    return this.nextFd++;
  }

  close(fd: number): Promise<void> {
    return this.act(`close ${fd}`);
  }

  dup2(oldFd: number, newFd: number): Promise<void> {
    return this.act(`dup2 ${oldFd} ${newFd}`);
  }

  console(socketFd: number, rows: number, cols: number): Promise<void> {
    return this.act(`console ${socketFd} ${rows}x${cols}`);
  }

  setrlimit(resource: number, soft: bigint, hard: bigint): Promise<void> {
    return this.act(`setrlimit ${rlimitName(resource)} ${limit(soft)} ${limit(hard)}`);
  }

  prctl(option: number, arg2: bigint, arg3?: bigint, arg4?: bigint, arg5?: bigint) {
    const args = [arg2, arg3, arg4, arg5].filter((a) => a !== undefined);
    return this.act(`prctl ${prctlName(option)} ${args.join(' ')}`);
  }

  capset(effective: bigint, permitted: bigint, inheritable: bigint): Promise<void> {
    const sets = [effective, permitted, inheritable].map((s) => `0x${s.toString(16)}`);
    return this.act(`capset effective=${sets[0]} permitted=${sets[1]} inheritable=${sets[2]}`);
  }

  umask(mask: number): Promise<void> {
    return this.act(`umask ${octal(mask)}`);
  }

  /** A filter asking for a listener gets descriptor 99. */
  seccomp(program: Uint8Array, flags: number): Promise<number> {
    return this.act(`seccomp ${program.length} bytes flags=${hex(flags)}`)
      .then(() => (flags & 8 ? 99 : 0));
  }

  sendFd(sock: number, fd: number, payload: string): Promise<void> {
    return this.act(`sendFd ${fd} over ${sock}: ${payload}`);
  }

  waitStart(startFd: number): Promise<void> {
    return this.act(`waitStart ${startFd}`);
  }

  async spawnWait(
    path: string,
    argv: string[],
    env: string[],
    stdin: string,
    timeoutMs: number,
  ): Promise<{ status: number; stderr: string }> {
    await this.act(`spawnWait ${path} ${JSON.stringify(argv)} timeout=${timeoutMs}ms`);
    return { ...this.spawnResult };
  }

  exec(request: ExecRequest): Promise<void> {
    let line = `exec ${request.path} argv=${JSON.stringify(request.argv)}`;
    line += ` env=${JSON.stringify(request.env)} closeFrom=${request.closeFrom}`;
    if (request.seccomp) line += ` seccomp=${request.seccomp.program.length} bytes`;
    return this.act(line);
  }

  /** Records a call that changes something; a failure makes the recorder refuse the rest. */
  private async act(line: string): Promise<void> {
    this.calls.push(line);
    if (this.failed) throw sysError(line, ECANCELED);
    const errno = this.takeFailure(line);
    if (errno !== undefined) {
      this.failed = true;
      throw sysError(line, errno);
    }
  }

  /** Records a query: refused after a failure, but its own failure is not sticky. */
  private async query(line: string): Promise<void> {
    this.calls.push(line);
    if (this.failed) throw sysError(line, ECANCELED);
    const errno = this.takeFailure(line);
    if (errno !== undefined) throw sysError(line, errno);
  }

  private takeFailure(line: string): number | undefined {
    const index = this.failures.findIndex(({ match }) =>
      typeof match === 'string' ? line.startsWith(match) : match.test(line));
    if (index < 0) return undefined;
    return this.failures.splice(index, 1)[0].errno;
  }
}

function sysError(operation: string, errno: number): SysError {
  const code = errnoCode(errno);
  return new SysError(operation, errno, code, `${errnoMessage(errno)} (${code})`);
}

function where(resolve: Resolve): string {
  return resolve === Resolve.InRoot ? ' in-root' : '';
}

function hex(value: number): string {
  return `0x${value.toString(16)}`;
}

function octal(value: number): string {
  return `0${value.toString(8).padStart(3, '0')}`;
}

function limit(value: bigint): string {
  return value === RLIM_INFINITY ? 'unlimited' : value.toString();
}

function rlimitName(resource: number): string {
  return Object.keys(RLIMITS).find((name) => RLIMITS[name] === resource) ?? String(resource);
}

const PRCTL_NAMES: ReadonlyMap<number, string> = new Map([
  [PR_SET_PDEATHSIG, 'PR_SET_PDEATHSIG'],
  [PR_SET_DUMPABLE, 'PR_SET_DUMPABLE'],
  [PR_SET_KEEPCAPS, 'PR_SET_KEEPCAPS'],
  [PR_CAPBSET_READ, 'PR_CAPBSET_READ'],
  [PR_CAPBSET_DROP, 'PR_CAPBSET_DROP'],
  [PR_SET_CHILD_SUBREAPER, 'PR_SET_CHILD_SUBREAPER'],
  [PR_SET_NO_NEW_PRIVS, 'PR_SET_NO_NEW_PRIVS'],
  [PR_CAP_AMBIENT, 'PR_CAP_AMBIENT'],
]);

function prctlName(option: number): string {
  return PRCTL_NAMES.get(option) ?? String(option);
}
