import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { compileSeccomp, seccompFeatures } from '../../src/core/seccomp/index.js';
import type { LinuxSeccomp, LinuxSyscall } from '../../src/core/spec/types.js';

// koffi's native addon lives in @koromix/koffi-<platform>; either path names koffi.
const koffiLoaded = () =>
  Object.keys(createRequire(import.meta.url).cache).some((path) => path.includes('koffi'));
// Checked before any test calls into the module: importing it must not load koffi.
const koffiLoadedAtImport = koffiLoaded();

function collector(): { lines: string[]; debug(msg: string): void } {
  const lines: string[] = [];
  return { lines, debug: (msg) => lines.push(msg) };
}

function compile(seccomp: LinuxSeccomp): Uint8Array {
  return compileSeccomp(seccomp).program;
}

function errorOf(seccomp: LinuxSeccomp): string {
  try {
    compileSeccomp(seccomp);
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
  return 'no error';
}

const allowAll: LinuxSeccomp = { defaultAction: 'SCMP_ACT_ALLOW' };
const denyMkdir: LinuxSyscall = {
  names: ['mkdir', 'mkdirat'],
  action: 'SCMP_ACT_ERRNO',
  errnoRet: 38,
};

// Many syscalls a typical container needs, in the shape of the default profile podman and
// Docker hand to the runtime (allow-list, ENOSYS by default, argument filters, several ABIs).
// socketcall must be allowed outright, as those profiles do: on the x86 ABI libseccomp turns
// the conditional socket rules below into socketcall rules that conflict (EEXIST, in runc too).
const COMMON_SYSCALLS = `accept accept4 access alarm bind brk capget capset chdir chmod chown
  clock_getres clock_gettime clock_nanosleep close close_range connect copy_file_range creat dup
  dup2 dup3 epoll_create epoll_create1 epoll_ctl epoll_pwait epoll_pwait2 epoll_wait eventfd
  eventfd2 execve execveat exit exit_group faccessat faccessat2 fadvise64 fallocate fanotify_mark
  fchdir fchmod fchmodat fchown fchownat fcntl fdatasync fgetxattr flistxattr flock fork
  fremovexattr fsetxattr fstat fstatfs fsync ftruncate futex futex_waitv getcpu getcwd getdents
  getdents64 getegid geteuid getgid getgroups getitimer getpeername getpgid getpgrp getpid getppid
  getpriority getrandom getresgid getresuid getrlimit get_robust_list getrusage getsid getsockname
  getsockopt gettid gettimeofday getuid getxattr inotify_add_watch inotify_init inotify_init1
  inotify_rm_watch io_cancel ioctl io_destroy io_getevents io_pgetevents ioprio_get ioprio_set
  io_setup io_submit io_uring_enter io_uring_register io_uring_setup kill landlock_add_rule
  landlock_create_ruleset landlock_restrict_self lchown lgetxattr link linkat listen listxattr
  llistxattr lremovexattr lseek lsetxattr lstat madvise membarrier memfd_create memfd_secret
  mincore mkdir mkdirat mknod mknodat mlock mlock2 mlockall mmap mprotect mq_getsetattr mq_notify
  mq_open mq_timedreceive mq_timedsend mq_unlink mremap msgctl msgget msgrcv msgsnd msync munlock
  munlockall munmap name_to_handle_at nanosleep newfstatat open openat openat2 pause pidfd_open
  pidfd_send_signal pipe pipe2 pkey_alloc pkey_free pkey_mprotect poll ppoll prctl pread64 preadv
  preadv2 prlimit64 process_mrelease pselect6 pwrite64 pwritev pwritev2 read readahead readlink
  readlinkat readv recvfrom recvmmsg recvmsg remap_file_pages removexattr rename renameat
  renameat2 restart_syscall rmdir rseq rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo
  rt_sigreturn rt_sigsuspend rt_sigtimedwait rt_tgsigqueueinfo sched_getaffinity sched_getattr
  sched_getparam sched_get_priority_max sched_get_priority_min sched_getscheduler
  sched_rr_get_interval sched_setaffinity sched_setattr sched_setparam sched_setscheduler
  sched_yield seccomp select semctl semget semop semtimedop sendfile sendmmsg sendmsg sendto
  setfsgid setfsuid setgid setgroups setitimer setpgid setpriority setregid setresgid setresuid
  setreuid setrlimit set_robust_list setsid setsockopt set_tid_address setuid setxattr shmat
  shmctl shmdt shmget shutdown sigaltstack signalfd signalfd4 socketcall socketpair splice stat
  statfs statx symlink symlinkat sync sync_file_range syncfs sysinfo tee tgkill time timer_create
  timer_delete timer_getoverrun timer_gettime timer_settime timerfd_create timerfd_gettime
  timerfd_settime times tkill truncate umask uname unlink unlinkat utime utimensat utimes vfork
  vmsplice wait4 waitid waitpid write writev`.split(/\s+/);

function podmanLikeProfile(): LinuxSeccomp {
  const eq = (index: number, value: number) => ({ index, value, valueTwo: 0, op: 'SCMP_CMP_EQ' });
  const ne = (index: number, value: number) => ({ index, value, valueTwo: 0, op: 'SCMP_CMP_NE' });
  const capDenied = ['bpf', 'chroot', 'delete_module', 'init_module', 'iopl', 'settimeofday'];
  return {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 38,
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    syscalls: [
      // A name newer than any libseccomp, as profiles carry for future kernels.
      { names: [...COMMON_SYSCALLS, 'hako_future_syscall'], action: 'SCMP_ACT_ALLOW' },
      // Names that exist only on other ABIs resolve to pseudo numbers and must be accepted.
      {
        names: ['arch_prctl', 'modify_ldt', 'arm_fadvise64_64', 'breakpoint'],
        action: 'SCMP_ACT_ALLOW',
      },
      ...[0, 8, 0x20000, 0x20008, 0xffffffff].map((persona) => ({
        names: ['personality'],
        action: 'SCMP_ACT_ALLOW',
        args: [eq(0, persona)],
      })),
      {
        names: ['clone'],
        action: 'SCMP_ACT_ALLOW',
        args: [{ index: 0, value: 0x7e020000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }],
      },
      { names: ['socket'], action: 'SCMP_ACT_ERRNO', errnoRet: 22, args: [eq(0, 16), eq(2, 9)] },
      { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [ne(2, 9)] },
      { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [ne(0, 16)] },
      { names: capDenied, action: 'SCMP_ACT_ERRNO', errnoRet: 1 },
    ],
  };
}

describe('compileSeccomp', () => {
  it('loads koffi on the first compile, not on import', () => {
    expect(koffiLoadedAtImport).toBe(false);
    compileSeccomp(allowAll);
    expect(koffiLoaded()).toBe(true);
  });

  it('compiles a tiny profile into whole sock_filter instructions', () => {
    const { program, flags } = compileSeccomp({ ...allowAll, syscalls: [denyMkdir] });
    expect(program.length).toBeGreaterThan(0);
    expect(program.length % 8).toBe(0);
    expect(flags).toBe(0);
  });

  it('skips a syscall libseccomp does not know, with a debug line', () => {
    const log = collector();
    const withUnknown = { ...denyMkdir, names: [...denyMkdir.names, 'foo'] };
    const program = compileSeccomp({ ...allowAll, syscalls: [withUnknown] }, log).program;
    expect(log.lines).toContain('seccomp: syscall "foo" is unknown to libseccomp, skipped');
    expect(program).toEqual(compile({ ...allowAll, syscalls: [denyMkdir] }));
  });

  it('rejects an invalid action in one line naming the syscall', () => {
    const bad = { names: ['mkdir'], action: 'SCMP_ACT_FOO' };
    expect(errorOf({ ...allowAll, syscalls: [bad] })).toBe(
      'HakoError: seccomp: syscall "mkdir": invalid action "SCMP_ACT_FOO"',
    );
    expect(errorOf({ defaultAction: 'SCMP_ACT_NOPE' })).toBe(
      'HakoError: seccomp: defaultAction: invalid action "SCMP_ACT_NOPE"',
    );
  });

  it('rejects errnoRet on an action that has no errno', () => {
    const call = { names: ['mkdir'], action: 'SCMP_ACT_KILL', errnoRet: 1 };
    expect(errorOf({ ...allowAll, syscalls: [call] })).toBe(
      'HakoError: seccomp: syscall "mkdir": errnoRet is only valid with SCMP_ACT_ERRNO or ' +
        'SCMP_ACT_TRACE, not "SCMP_ACT_KILL"',
    );
    expect(errorOf({ ...allowAll, defaultErrnoRet: 1 })).toMatch(/defaultAction: errnoRet is/);
  });

  it('puts errnoRet into the program, and EPERM when it is absent', () => {
    const withRet = (errnoRet?: number) => {
      const call = { names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet };
      return compile({ ...allowAll, syscalls: [call] });
    };
    expect(withRet(undefined)).toEqual(withRet(1));
    expect(withRet(38)).not.toEqual(withRet(1));
    expect(errorOf({ ...allowAll, syscalls: [{ ...denyMkdir, errnoRet: 70000 }] })).toMatch(
      /errnoRet 70000 is not an integer from 0 to 65535/,
    );
  });

  it('skips a rule whose action is the default action', () => {
    const log = collector();
    const same = { names: ['getpid'], action: 'SCMP_ACT_ALLOW' };
    const program = compileSeccomp({ ...allowAll, syscalls: [same, denyMkdir] }, log).program;
    expect(program).toEqual(compile({ ...allowAll, syscalls: [denyMkdir] }));
    expect(log.lines).toContain('seccomp: syscall "getpid": action is the default action, skipped');
  });

  it('adds architectures and refuses unknown ones', () => {
    const native = compile({ ...allowAll, syscalls: [denyMkdir] });
    const multi = compile({
      ...allowAll,
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
      syscalls: [denyMkdir],
    });
    expect(multi.length).toBeGreaterThan(native.length);
    expect(errorOf({ ...allowAll, architectures: ['SCMP_ARCH_VAX'] })).toBe(
      'HakoError: seccomp: architectures: unknown architecture "SCMP_ARCH_VAX"',
    );
  });

  it('returns the seccomp(2) flag bits and refuses unknown flags', () => {
    const flags = ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_LOG'];
    expect(compileSeccomp({ ...allowAll, flags }).flags).toBe(1 | 2);
    const spec = compileSeccomp({ ...allowAll, flags: ['SECCOMP_FILTER_FLAG_SPEC_ALLOW'] });
    expect(spec.flags).toBe(4);
    expect(errorOf({ ...allowAll, flags: ['SECCOMP_FILTER_FLAG_FOO'] })).toBe(
      'HakoError: seccomp: flags: unknown flag "SECCOMP_FILTER_FLAG_FOO"',
    );
  });

  it('compiles argument comparisons and validates them', () => {
    const rule = (op: string, index = 1) => ({
      names: ['chmod'],
      action: 'SCMP_ACT_ERRNO',
      args: [{ index, value: 0o700, valueTwo: 0o700, op }],
    });
    const ops = ['NE', 'LT', 'LE', 'EQ', 'GE', 'GT', 'MASKED_EQ'].map((o) => `SCMP_CMP_${o}`);
    const programs = ops.map((op) => compile({ ...allowAll, syscalls: [rule(op)] }));
    for (const p of programs) expect(p.length % 8).toBe(0);
    expect(new Set(programs.map((p) => Buffer.from(p).toString('hex'))).size).toBe(ops.length);

    expect(errorOf({ ...allowAll, syscalls: [rule('SCMP_CMP_ABOUT')] })).toBe(
      'HakoError: seccomp: syscall "chmod": args[0]: invalid operator "SCMP_CMP_ABOUT"',
    );
    expect(errorOf({ ...allowAll, syscalls: [rule('SCMP_CMP_EQ', 6)] })).toMatch(
      /args\[0\]: index 6 is not from 0 to 5/,
    );
  });

  it('splits comparisons of the same argument into separate rules', () => {
    const eq = (value: number) => ({ index: 1, value, op: 'SCMP_CMP_EQ' });
    const both = { names: ['chmod'], action: 'SCMP_ACT_ERRNO', args: [eq(0o700), eq(0o600)] };
    const one = { ...both, args: [eq(0o700)] };
    expect(compile({ ...allowAll, syscalls: [both] }).length).toBeGreaterThan(
      compile({ ...allowAll, syscalls: [one] }).length,
    );
  });

  it('names a rule that contradicts an earlier one on another ABI', () => {
    const cond = (op: string, index: number, value: number) => ({ index, value, op });
    const socketRules: LinuxSyscall[] = [
      { names: ['socket'], action: 'SCMP_ACT_ERRNO', args: [cond('SCMP_CMP_EQ', 0, 16)] },
      { names: ['socket'], action: 'SCMP_ACT_KILL', args: [cond('SCMP_CMP_NE', 0, 16)] },
    ];
    expect(() => compile({ ...allowAll, syscalls: socketRules })).not.toThrow();
    const x86 = { ...allowAll, architectures: ['SCMP_ARCH_X86'], syscalls: socketRules };
    expect(errorOf(x86)).toBe(
      'HakoError: seccomp: syscall "socket": seccomp_rule_add: EEXIST ' +
        '(conflicts with an earlier rule)',
    );
  });

  it('refuses a filter longer than the kernel accepts', () => {
    // Comparisons of one argument are ORed: about one instruction each.
    const values = Array.from({ length: 4500 }, (_, i) => i);
    const call = {
      names: ['personality'],
      action: 'SCMP_ACT_ERRNO',
      args: values.map((value) => ({ index: 0, value, op: 'SCMP_CMP_EQ' })),
    };
    expect(errorOf({ ...allowAll, syscalls: [call] })).toMatch(
      /^HakoError: seccomp: the filter has \d+ BPF instructions, more than the kernel's limit/,
    );
  });

  it('compiles user notification with a listener, and only with one', () => {
    const notify = { names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' };
    expect(errorOf({ ...allowAll, syscalls: [notify] })).toBe(
      'HakoError: seccomp: SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath',
    );
    expect(errorOf({ ...allowAll, defaultAction: 'SCMP_ACT_NOTIFY', listenerPath: '/n' })).toBe(
      'HakoError: seccomp: defaultAction: SCMP_ACT_NOTIFY cannot be the default',
    );
    const listening = compileSeccomp({ ...allowAll, listenerPath: '/n', syscalls: [notify] });
    expect(listening.flags & 8).toBe(8); // SECCOMP_FILTER_FLAG_NEW_LISTENER
    // A listenerPath with nothing to notify asks for no listener.
    expect(compileSeccomp({ ...allowAll, listenerPath: '/n' }).flags & 8).toBe(0);
  });

  it('rejects a syscall entry without names', () => {
    expect(errorOf({ ...allowAll, syscalls: [{ names: [], action: 'SCMP_ACT_KILL' }] })).toBe(
      'HakoError: seccomp: syscalls[0]: names must be a non-empty array',
    );
  });

  it('compiles a profile shaped like podman\'s default', () => {
    const log = collector();
    const { program } = compileSeccomp(podmanLikeProfile(), log);
    expect(program.length % 8).toBe(0);
    // Three ABIs and a few hundred syscalls: far more than a toy filter, under BPF_MAXINSNS.
    expect(program.length / 8).toBeGreaterThan(300);
    expect(program.length / 8).toBeLessThanOrEqual(4096);
    expect(log.lines).toContain(
      'seccomp: syscall "hako_future_syscall" is unknown to libseccomp, skipped',
    );
  });
});

describe('seccompFeatures', () => {
  it('lists what the compiler accepts, in runc\'s shape', () => {
    const f = seccompFeatures();
    expect(f.enabled).toBe(true);
    expect(f.actions).toEqual(expect.arrayContaining(['SCMP_ACT_ALLOW', 'SCMP_ACT_ERRNO']));
    expect(f.actions).toContain('SCMP_ACT_NOTIFY');
    expect(f.operators).toHaveLength(7);
    expect(f.archs).toEqual(expect.arrayContaining(['SCMP_ARCH_X86_64', 'SCMP_ARCH_AARCH64']));
    expect(f.knownFlags).toEqual([
      'SECCOMP_FILTER_FLAG_LOG',
      'SECCOMP_FILTER_FLAG_SPEC_ALLOW',
      'SECCOMP_FILTER_FLAG_TSYNC',
    ]);
    for (const flag of f.supportedFlags ?? []) expect(f.knownFlags).toContain(flag);

    for (const action of f.actions ?? []) {
      const call = { names: ['mkdir'], action };
      const listenerPath = action === 'SCMP_ACT_NOTIFY' ? '/run/agent.sock' : undefined;
      expect(() => compile({ defaultAction: 'SCMP_ACT_KILL_THREAD', listenerPath,
        syscalls: [call] })).not.toThrow();
    }
  });
});
