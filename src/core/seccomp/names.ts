/**
 * The runtime-spec's seccomp vocabulary and its numbers in libseccomp and the kernel.
 *
 * Only the names hako can compile are listed, so `hako features` and the compiler cannot
 * disagree about what is supported.
 */

export interface ActionInfo {
  /** scmp action value from seccomp.h, data bits zero. */
  value: number;
  /**
   * SCMP_ACT_ERRNO and SCMP_ACT_TRACE carry 16 bits of data (the errno, the ptrace event
   * message): errnoRet, or EPERM when it is absent. Other actions must not have an errnoRet.
   */
  takesErrno: boolean;
  /** Lowest seccomp_api_get() level at which libseccomp and the kernel accept the action. */
  minApi: number;
}

export const ACTIONS: ReadonlyMap<string, ActionInfo> = new Map([
  // SCMP_ACT_KILL is the historical name of SCMP_ACT_KILL_THREAD.
  ['SCMP_ACT_KILL', { value: 0x00000000, takesErrno: false, minApi: 1 }],
  ['SCMP_ACT_KILL_THREAD', { value: 0x00000000, takesErrno: false, minApi: 1 }],
  ['SCMP_ACT_KILL_PROCESS', { value: 0x80000000, takesErrno: false, minApi: 3 }],
  ['SCMP_ACT_TRAP', { value: 0x00030000, takesErrno: false, minApi: 1 }],
  ['SCMP_ACT_ERRNO', { value: 0x00050000, takesErrno: true, minApi: 1 }],
  ['SCMP_ACT_TRACE', { value: 0x7ff00000, takesErrno: true, minApi: 1 }],
  ['SCMP_ACT_LOG', { value: 0x7ffc0000, takesErrno: false, minApi: 3 }],
  ['SCMP_ACT_ALLOW', { value: 0x7fff0000, takesErrno: false, minApi: 1 }],
  // Only with linux.seccomp.listenerPath: the listener fd goes to the process there.
  ['SCMP_ACT_NOTIFY', { value: 0x7fc00000, takesErrno: false, minApi: 6 }],
]);

export const SCMP_ACT_NOTIFY = 'SCMP_ACT_NOTIFY';

/** seccomp(2): return a descriptor on which the filter's notifications arrive. */
export const SECCOMP_FILTER_FLAG_NEW_LISTENER = 8;

/** enum scmp_compare. */
export const OPERATORS: ReadonlyMap<string, number> = new Map([
  ['SCMP_CMP_NE', 1],
  ['SCMP_CMP_LT', 2],
  ['SCMP_CMP_LE', 3],
  ['SCMP_CMP_EQ', 4],
  ['SCMP_CMP_GE', 5],
  ['SCMP_CMP_GT', 6],
  ['SCMP_CMP_MASKED_EQ', 7],
]);

/**
 * The runtime-spec's architecture names. libseccomp spells each one as the lower-case
 * suffix (`SCMP_ARCH_X86_64` -> `x86_64`); whether this libseccomp knows it is asked at run
 * time with seccomp_arch_resolve_name, so a newer library brings its new ABIs along.
 */
export const ARCHITECTURES: readonly string[] = [
  'SCMP_ARCH_X86',
  'SCMP_ARCH_X86_64',
  'SCMP_ARCH_X32',
  'SCMP_ARCH_ARM',
  'SCMP_ARCH_AARCH64',
  'SCMP_ARCH_LOONGARCH64',
  'SCMP_ARCH_M68K',
  'SCMP_ARCH_MIPS',
  'SCMP_ARCH_MIPS64',
  'SCMP_ARCH_MIPS64N32',
  'SCMP_ARCH_MIPSEL',
  'SCMP_ARCH_MIPSEL64',
  'SCMP_ARCH_MIPSEL64N32',
  'SCMP_ARCH_PPC',
  'SCMP_ARCH_PPC64',
  'SCMP_ARCH_PPC64LE',
  'SCMP_ARCH_S390',
  'SCMP_ARCH_S390X',
  'SCMP_ARCH_PARISC',
  'SCMP_ARCH_PARISC64',
  'SCMP_ARCH_RISCV64',
  'SCMP_ARCH_SH',
  'SCMP_ARCH_SHEB',
];

/** libseccomp's name for a runtime-spec architecture name. */
export function libseccompArchName(specName: string): string {
  return specName.slice('SCMP_ARCH_'.length).toLowerCase();
}

export interface FlagInfo {
  /** The seccomp(2) SECCOMP_FILTER_FLAG_* bit hako passes when it installs the filter. */
  bit: number;
  /** The enum scmp_filter_attr that tells libseccomp about the flag. */
  attr: number;
  minApi: number;
}

export const FLAGS: ReadonlyMap<string, FlagInfo> = new Map([
  ['SECCOMP_FILTER_FLAG_TSYNC', { bit: 1, attr: 4, minApi: 2 }],
  ['SECCOMP_FILTER_FLAG_LOG', { bit: 2, attr: 6, minApi: 3 }],
  ['SECCOMP_FILTER_FLAG_SPEC_ALLOW', { bit: 4, attr: 7, minApi: 4 }],
]);

/** enum scmp_filter_attr members used by the compiler. */
export const SCMP_FLTATR_CTL_NNP = 3;
export const SCMP_FLTATR_CTL_OPTIMIZE = 8;

/** Syscall arguments a filter can inspect (struct seccomp_data.args). */
export const MAX_SYSCALL_ARGS = 6;
