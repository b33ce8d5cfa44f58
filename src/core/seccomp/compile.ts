/**
 * Compiles the runtime-spec's `linux.seccomp` into a classic BPF program with libseccomp.
 *
 * hako does not let libseccomp load the filter: the bytes go to the agent, which installs
 * them with seccomp(2) right before execve, after NO_NEW_PRIVS and the credentials are set.
 * So every libseccomp attribute that only matters to seccomp_load (NNP, TSYNC, LOG,
 * SPEC_ALLOW) is set for validation alone, and the matching seccomp(2) flags are returned.
 */
import { HakoError } from '../errors.js';
import type { LinuxSeccomp, LinuxSeccompArg, LinuxSyscall } from '../spec/types.js';
import { errnoName, loadLibseccomp, NR_SCMP_ERROR } from './libseccomp.js';
import type { ArgCmp, Filter, Libseccomp } from './libseccomp.js';
import {
  ACTIONS,
  ARCHITECTURES,
  FLAGS,
  libseccompArchName,
  MAX_SYSCALL_ARGS,
  OPERATORS,
  SCMP_ACT_NOTIFY,
  SECCOMP_FILTER_FLAG_NEW_LISTENER,
  SCMP_FLTATR_CTL_NNP,
  SCMP_FLTATR_CTL_OPTIMIZE,
} from './names.js';

export interface SeccompProgram {
  /** struct sock_filter[]: 8 bytes per instruction, host byte order. */
  program: Uint8Array;
  /** SECCOMP_FILTER_FLAG_* bits for seccomp(SECCOMP_SET_MODE_FILTER, flags, ...). */
  flags: number;
}

export interface DebugLog {
  debug(msg: string): void;
}

const EPERM = 1;
const EEXIST = 17;
const EOPNOTSUPP = 95;
const MAX_ERRNO_RET = 0xffff;
/** Past this many rules libseccomp's binary-tree layout beats a linear list (runc: the same). */
const OPTIMIZE_ABOVE = 8;
const BPF_MAXINSNS = 4096;

/** Throws a one-line HakoError naming the syscall, the field and the cause. */
export function compileSeccomp(seccomp: LinuxSeccomp, log?: DebugLog): SeccompProgram {
  const notifies = (seccomp.syscalls ?? []).some((s) => s.action === SCMP_ACT_NOTIFY);
  if (seccomp.defaultAction === SCMP_ACT_NOTIFY) {
    // It would send every syscall, hako's own last steps included, to the listener.
    throw new HakoError(`seccomp: defaultAction: ${SCMP_ACT_NOTIFY} cannot be the default`);
  }
  if (notifies && !seccomp.listenerPath) {
    throw new HakoError(`seccomp: ${SCMP_ACT_NOTIFY} needs linux.seccomp.listenerPath`);
  }
  const lib = loadLibseccomp();
  const defaultAction = actionValue(
    lib,
    seccomp.defaultAction,
    seccomp.defaultErrnoRet,
    'defaultAction',
  );

  const filter = lib.init(defaultAction);
  if (filter === null) {
    throw new HakoError(`seccomp: defaultAction "${seccomp.defaultAction}": seccomp_init failed`);
  }
  try {
    addArchitectures(lib, filter, seccomp.architectures ?? []);

    let flags = setFlags(lib, filter, seccomp.flags ?? []);
    if (notifies) flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
    // hako sets NO_NEW_PRIVS itself, only when process.noNewPrivileges asks for it.
    check(filter.attrSet(SCMP_FLTATR_CTL_NNP, 0), 'seccomp_attr_set SCMP_FLTATR_CTL_NNP');

    const syscalls = seccomp.syscalls ?? [];
    if (syscalls.length > OPTIMIZE_ABOVE) {
      const rc = filter.attrSet(SCMP_FLTATR_CTL_OPTIMIZE, 2);
      if (rc < 0) log?.debug(`seccomp: binary-tree optimization unavailable (${errnoName(rc)})`);
    }

    syscalls.forEach((call, i) => addSyscall(lib, filter, call, i, defaultAction, log));

    const program = filter.exportBpf();
    const instructions = program.length / 8;
    // seccomp(2) would refuse it with a bare EINVAL when hako installs it; say why now.
    if (instructions > BPF_MAXINSNS) {
      throw new HakoError(
        `seccomp: the filter has ${instructions} BPF instructions, more than the kernel's ` +
          `limit of ${BPF_MAXINSNS}`,
      );
    }
    log?.debug(`seccomp: ${syscalls.length} syscall entries, ${instructions} BPF instructions`);
    return { program, flags };
  } finally {
    filter.release();
  }
}

/** The scmp action value, with errnoRet (or EPERM) in the low 16 bits where it belongs. */
function actionValue(
  lib: Libseccomp,
  name: string,
  errnoRet: number | undefined | null,
  where: string,
): number {
  const info = ACTIONS.get(name);
  if (info === undefined) throw new HakoError(`seccomp: ${where}: invalid action "${name}"`);
  if (info.minApi > lib.apiLevel) {
    throw new HakoError(
      `seccomp: ${where}: action "${name}" is not supported by libseccomp ${lib.version} ` +
        `on this kernel (API level ${lib.apiLevel})`,
    );
  }

  if (!info.takesErrno) {
    // The runtime-spec requires an error here rather than silently dropping the errno.
    if (errnoRet !== undefined && errnoRet !== null) {
      throw new HakoError(
        `seccomp: ${where}: errnoRet is only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, ` +
          `not "${name}"`,
      );
    }
    return info.value;
  }
  const ret = errnoRet ?? EPERM;
  if (!Number.isInteger(ret) || ret < 0 || ret > MAX_ERRNO_RET) {
    throw new HakoError(`seccomp: ${where}: errnoRet ${ret} is not an integer from 0 to 65535`);
  }
  return (info.value | ret) >>> 0;
}

/**
 * The native ABI is always in the filter. Each added ABI is accepted by the filter's
 * architecture check; a syscall made through an ABI that is not listed gets libseccomp's
 * bad-arch action (kill), so a 32-bit binary dies at once unless SCMP_ARCH_X86 is listed.
 */
function addArchitectures(lib: Libseccomp, filter: Filter, names: readonly string[]): void {
  for (const name of names) {
    if (!ARCHITECTURES.includes(name)) {
      throw new HakoError(`seccomp: architectures: unknown architecture "${name}"`);
    }
    const token = lib.archResolve(libseccompArchName(name));
    if (token === 0) {
      throw new HakoError(
        `seccomp: architectures: "${name}" is not supported by libseccomp ${lib.version}`,
      );
    }
    const rc = filter.archAdd(token);
    if (rc < 0 && rc !== -EEXIST) check(rc, `seccomp_arch_add ${name}`);
  }
}

/** Validates each flag with libseccomp (which knows the kernel's support) and ORs the bits. */
function setFlags(lib: Libseccomp, filter: Filter, names: readonly string[]): number {
  let bits = 0;
  for (const name of names) {
    const info = FLAGS.get(name);
    if (info === undefined) throw new HakoError(`seccomp: flags: unknown flag "${name}"`);
    const rc = info.minApi > lib.apiLevel ? -EOPNOTSUPP : filter.attrSet(info.attr, 1);
    if (rc < 0) {
      throw new HakoError(
        `seccomp: flags: ${name} is not supported by libseccomp ${lib.version} on this kernel ` +
          `(${errnoName(rc)})`,
      );
    }
    bits |= info.bit;
  }
  return bits;
}

function addSyscall(
  lib: Libseccomp,
  filter: Filter,
  call: LinuxSyscall,
  index: number,
  defaultAction: number,
  log: DebugLog | undefined,
): void {
  const names = call.names;
  if (!Array.isArray(names) || names.length === 0) {
    throw new HakoError(`seccomp: syscalls[${index}]: names must be a non-empty array`);
  }
  const where = `syscall "${names[0]}"`;
  const action = actionValue(lib, call.action, call.errnoRet, where);
  const comparisons = (call.args ?? []).map((arg, i) => argCmp(arg, `${where}: args[${i}]`));

  // libseccomp refuses a rule whose action is the default one; it would change nothing.
  if (action === defaultAction) {
    log?.debug(`seccomp: ${where}: action is the default action, skipped`);
    return;
  }

  // Comparisons within one rule are ANDed, and two on the same argument cannot be. A rule
  // that has them is split into one rule per comparison (ORed), as runc and crun do, which
  // is what profiles written for them expect.
  const indexes = comparisons.map((c) => c.arg);
  const repeated = new Set(indexes).size !== indexes.length;
  const rules = repeated ? comparisons.map((c) => [c]) : [comparisons];

  for (const name of names) {
    const nr = lib.syscallResolve(name);
    // Profiles list syscalls newer than the installed libseccomp; runc and crun skip them.
    if (nr === NR_SCMP_ERROR) {
      log?.debug(`seccomp: syscall "${name}" is unknown to libseccomp, skipped`);
      continue;
    }
    for (const rule of rules) {
      const rc = filter.ruleAdd(action, nr, rule);
      if (rc < 0) {
        // EEXIST: libseccomp found an earlier rule for the same syscall that this one
        // contradicts, often only on another ABI (x86 turns socket rules into socketcall).
        const hint = rc === -EEXIST ? ' (conflicts with an earlier rule)' : '';
        throw new HakoError(
          `seccomp: syscall "${name}": seccomp_rule_add: ${errnoName(rc)}${hint}`,
        );
      }
    }
  }
}

/** For SCMP_CMP_MASKED_EQ, value is the mask and valueTwo the value compared. */
function argCmp(arg: LinuxSeccompArg, where: string): ArgCmp {
  if (!Number.isInteger(arg.index) || arg.index < 0 || arg.index >= MAX_SYSCALL_ARGS) {
    throw new HakoError(`seccomp: ${where}: index ${arg.index} is not from 0 to 5`);
  }
  const op = OPERATORS.get(arg.op);
  if (op === undefined) throw new HakoError(`seccomp: ${where}: invalid operator "${arg.op}"`);
  return {
    arg: arg.index,
    op,
    datumA: datum(arg.value, `${where}: value`),
    datumB: datum(arg.valueTwo ?? 0, `${where}: valueTwo`),
  };
}

function datum(value: number, where: string): bigint {
  if (!Number.isInteger(value) || value < 0) {
    throw new HakoError(`seccomp: ${where}: ${value} is not a non-negative integer`);
  }
  if (value >= 2 ** 64) throw new HakoError(`seccomp: ${where}: ${value} exceeds 64 bits`);
  return BigInt(value);
}

function check(rc: number, operation: string): void {
  if (rc < 0) throw new HakoError(`seccomp: ${operation}: ${errnoName(rc)}`);
}
