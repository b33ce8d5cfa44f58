/**
 * The seam between hako's decisions and the kernel.
 *
 * Everything that sets up a container (namespaces, rootfs, devices, credentials) is written
 * once against this interface. `AgentSys` sends each call to the native agent that lives
 * inside the new namespaces; `RecordingSys` records the calls for unit tests and for the
 * dry-run plan. A failed call rejects with a `SysError` carrying the errno.
 *
 * Paths marked "in root" are resolved beneath the root set by `setRoot` the way
 * openat2(RESOLVE_IN_ROOT) resolves them: `..` and absolute symlinks cannot leave it. That
 * is what keeps a symlink in an image from redirecting a mount onto the host.
 */

/** How a path argument is resolved by the agent. */
export const enum Resolve {
  /** An ordinary path in the agent's current mount namespace (host paths before pivot_root). */
  Plain = 0,
  /** Beneath the root directory set by `setRoot`, symlinks included. */
  InRoot = 1,
}

export interface StatResult {
  /** st_mode: file type and permission bits. */
  mode: number;
  uid: number;
  gid: number;
  /** st_rdev for device nodes. */
  rdev: bigint;
}

/** Options of the final step, which waits for `start` and executes the workload. */
export interface ExecRequest {
  path: string;
  argv: string[];
  env: string[];
  /** Descriptors from this number up are closed on exec (3 + number of preserved fds). */
  closeFrom: number;
  /** A compiled seccomp BPF program (struct sock_filter array) installed after the wait. */
  seccomp?: { program: Uint8Array; flags: number };
}

export interface Sys {
  /**
   * Waits until every request made so far has been carried out, and rejects with the first
   * that failed. Needed before acting on the result from outside (writing the uid_map of a
   * process that must first have unshared its user namespace).
   */
  flush(): Promise<void>;

  // Namespaces and identity (before the container's init exists).
  unshare(flags: number): Promise<void>;
  setns(path: string, nstype: number): Promise<void>;
  /** Forks the container init; the init continues to serve requests. Returns its host pid. */
  forkInit(mode: ForkMode): Promise<number>;

  setresuid(uid: number): Promise<void>;
  setresgid(gid: number): Promise<void>;
  setgroups(gids: number[]): Promise<void>;

  // Filesystem.
  setRoot(path: string): Promise<void>;
  mount(
    source: string,
    target: string,
    fstype: string,
    flags: number,
    data: string,
    resolve: Resolve,
  ): Promise<void>;
  umount(target: string, flags: number): Promise<void>;
  /** A tmpfs on `target` that starts with a copy of what the directory held (tmpcopyup). */
  tmpfsCopyUp(target: string, flags: number, data: string, resolve: Resolve): Promise<void>;
  mkdirAll(path: string, mode: number, resolve: Resolve): Promise<void>;
  /** Creates an empty regular file (and its parents) if nothing is there: a bind target. */
  createFile(path: string, mode: number, resolve: Resolve): Promise<void>;
  mknod(path: string, mode: number, major: number, minor: number, resolve: Resolve): Promise<void>;
  symlink(target: string, linkPath: string, resolve: Resolve): Promise<void>;
  chown(path: string, uid: number, gid: number, resolve: Resolve): Promise<void>;
  chmod(path: string, mode: number, resolve: Resolve): Promise<void>;
  writeFile(path: string, data: string, resolve: Resolve): Promise<void>;
  /** Resolves to null when the path does not exist. */
  stat(path: string, resolve: Resolve): Promise<StatResult | null>;
  /** access(2) with X_OK and friends; resolves to the errno (0 when allowed). */
  access(path: string, mode: number): Promise<number>;
  /** pivot_root into `newRoot`, detaching the old root. */
  pivotRoot(newRoot: string): Promise<void>;
  /** MS_MOVE `newRoot` onto / and chroot into it (--no-pivot). */
  chrootMove(newRoot: string): Promise<void>;
  chdir(path: string): Promise<void>;

  /** Brings a network interface up (the loopback device of a new network namespace). */
  linkUp(name: string): Promise<void>;

  // Host identity.
  sethostname(name: string): Promise<void>;
  setdomainname(name: string): Promise<void>;

  // Descriptors.
  listenUnix(path: string): Promise<number>;
  /** open(2) of a plain path, close-on-exec; resolves to the descriptor. */
  openFile(path: string, flags: number, mode: number): Promise<number>;
  connectUnix(path: string): Promise<number>;
  close(fd: number): Promise<void>;
  dup2(oldFd: number, newFd: number): Promise<void>;
  /**
   * Creates a pty from the devpts at /dev/ptmx, sends its master over `socketFd` (SCM_RIGHTS)
   * and makes the peer the controlling terminal and stdio. `CONSOLE_TO_PARENT` as `socketFd`
   * sends the master to the agent's first process (`ForkMode.Proxy`).
   */
  console(socketFd: number, rows: number, cols: number): Promise<void>;

  // Process attributes.
  setrlimit(resource: number, soft: bigint, hard: bigint): Promise<void>;
  prctl(option: number, arg2: bigint, arg3?: bigint, arg4?: bigint, arg5?: bigint): Promise<void>;
  capset(effective: bigint, permitted: bigint, inheritable: bigint): Promise<void>;
  umask(mask: number): Promise<void>;
  /**
   * Installs a compiled seccomp filter now (before capabilities are dropped). Resolves to the
   * listener descriptor when the flags ask for one (SECCOMP_FILTER_FLAG_NEW_LISTENER), else 0.
   */
  seccomp(program: Uint8Array, flags: number): Promise<number>;
  /** Sends `fd` with `payload` over the socket `sock` (SCM_RIGHTS), then closes both. */
  sendFd(sock: number, fd: number, payload: string): Promise<void>;

  /**
   * Reports readiness and waits for `hako start` to connect to the listening socket `startFd`.
   * The agent then serves the connection that `start` holds; this Sys is done.
   */
  waitStart(startFd: number): Promise<void>;

  /**
   * Runs a program inside the container's namespaces and waits for it (the hooks that run in
   * the container). Resolves to its exit status (128 + signal when killed) and stderr.
   */
  spawnWait(
    path: string,
    argv: string[],
    env: string[],
    stdin: string,
    timeoutMs: number,
  ): Promise<{ status: number; stderr: string }>;

  /**
   * Last step: install seccomp if given, execve. Resolves when the exec succeeded (the agent's
   * end of the channel closes); rejects with the errno of the failed step.
   */
  exec(request: ExecRequest): Promise<void>;
}

/** What the agent's first process does after forking the container init. */
export const enum ForkMode {
  /** Exit at once: the init is reparented to the caller's subreaper (create). */
  Detach = 0,
  /** Wait for the init and exit with its status, 128+signal when killed (run). */
  Wait = 1,
  /**
   * As Wait, and hold the pty (run with a terminal and no --console-socket): receive the
   * master from the init's `console(CONSOLE_TO_PARENT, ...)`, copy this process's stdin to it
   * and its output to stdout, and give it stdin's window size at once and on SIGWINCH.
   */
  Proxy = 2,
}

/** The `socketFd` of `console` that reaches the waiting first process of `ForkMode.Proxy`. */
export const CONSOLE_TO_PARENT = -1;

/** A failed system call: the operation, its object and the errno. */
export class SysError extends Error {
  constructor(
    readonly operation: string,
    readonly errno: number,
    readonly code: string,
    detail: string,
  ) {
    super(`${operation}: ${detail}`);
    this.name = 'SysError';
  }
}
