/**
 * The container process's attributes, set by the init after the rootfs is in place, in runc's
 * order: rlimits, oom_score_adj, the console, seccomp when it must go in while the init is
 * still privileged, the working directory, the bounding set, the user (with PR_SET_KEEPCAPS
 * so the capabilities survive it), the capability sets, umask and no_new_privs. Last the
 * program is found, so a missing one fails `create` rather than `start`.
 */
import { readFileSync } from 'node:fs';

import { HakoError } from '../errors.js';
import { CAP_LAST_KNOWN, PR_SET_KEEPCAPS, PR_SET_NO_NEW_PRIVS } from '../spec/linux.js';
import type { Spec } from '../spec/types.js';
import { sysStep } from '../sys/failure.js';
import { type ExecRequest, Resolve, type Sys } from '../sys/sys.js';
import { applyCapabilities, capabilitySets, dropBoundingSet } from './capabilities.js';
import { setUser } from './credentials.js';
import { resolveExecutable } from './executable.js';
import { setRlimits } from './rlimits.js';

export { resolveExecutable, DEFAULT_PATH } from './executable.js';

export interface ProcessContext {
  /** The agent's descriptor of the --console-socket connection; needed for a terminal. */
  consoleSocketFd?: number;
  /** /proc/sys/kernel/cap_last_cap of the running kernel; read from the host when absent. */
  lastCap?: number;
  /** linux.seccomp compiled to BPF, if the spec has one. */
  seccomp?: { program: Uint8Array; flags: number };
  /**
   * linux.seccomp.listenerPath, connected (`socketFd`), and the seccomp state that goes with
   * the listener's descriptor, when the filter notifies.
   */
  seccompListener?: { path: string; socketFd: number; payload: string };
  /** /proc/<init>/setgroups reads "deny": setgroups(2) would fail with EPERM. */
  setgroupsDenied?: boolean;
  /** HOME for a process.env without one: the user's home from the image's /etc/passwd. */
  home?: string;
  /** Hears, at debug level, what cannot be applied (an ambient capability not inheritable). */
  logger?: { debug(message: string): void };
  /**
   * false when args[0] is not a program to execve (a wasm module, which the engine has
   * opened already): it is then returned as the path unchanged. Default true.
   */
  findExecutable?: boolean;
}

/** What the final EXEC needs besides `closeFrom`, which the caller knows. */
export type ProcessPlan = Pick<ExecRequest, 'path' | 'argv' | 'env' | 'seccomp'>;

export async function prepareProcess(
  sys: Sys,
  spec: Spec,
  ctx: ProcessContext,
): Promise<ProcessPlan> {
  const proc = spec.process;
  if (!proc?.args?.length) throw new HakoError('config.json: process.args: is required');
  const lastCap = ctx.lastCap ?? readLastCap();
  const caps = capabilitySets(proc.capabilities, lastCap);

  await setRlimits(sys, proc.rlimits ?? []);
  if (proc.oomScoreAdj !== undefined) {
    await sysStep(`write oom_score_adj ${proc.oomScoreAdj}`,
      sys.writeFile('/proc/self/oom_score_adj', String(proc.oomScoreAdj), Resolve.Plain));
  }
  if (proc.terminal) {
    if (ctx.consoleSocketFd === undefined) {
      throw new HakoError('config.json: process.terminal: needs a console socket');
    }
    const { height = 0, width = 0 } = proc.consoleSize ?? {};
    await sysStep('set up the console', sys.console(ctx.consoleSocketFd, height, width));
  }
  // Without no_new_privs, installing a filter takes CAP_SYS_ADMIN: it goes in before the
  // capabilities are dropped. With it, the filter is installed at the last step, after
  // `start`, so that it need not allow the setup's own system calls.
  // A filter with a listener goes in here too: its descriptor must reach listenerPath, which
  // was connected to while the host was visible.
  const listener = ctx.seccompListener;
  if (ctx.seccomp && (!proc.noNewPrivileges || listener)) {
    const { program, flags } = ctx.seccomp;
    const fd = await sysStep('install seccomp', sys.seccomp(program, flags));
    if (listener && fd > 0) {
      await sysStep(`send the seccomp listener to ${listener.path}`,
        sys.sendFd(listener.socketFd, fd, listener.payload));
    }
  }
  await changeDirectory(sys, proc.cwd);

  await dropBoundingSet(sys, caps, lastCap);
  await sysStep('prctl PR_SET_KEEPCAPS 1', sys.prctl(PR_SET_KEEPCAPS, 1n));
  await setUser(sys, spec, proc.user, ctx.setgroupsDenied ?? false);
  await sysStep('prctl PR_SET_KEEPCAPS 0', sys.prctl(PR_SET_KEEPCAPS, 0n));
  await applyCapabilities(sys, caps, (message) => ctx.logger?.debug(message));

  const umask = proc.user.umask ?? 0o022;
  await sysStep(`umask ${umask.toString(8)}`, sys.umask(umask));
  if (proc.noNewPrivileges) {
    await sysStep('prctl PR_SET_NO_NEW_PRIVS 1', sys.prctl(PR_SET_NO_NEW_PRIVS, 1n));
  }

  const env = withHome(proc.env ?? [], ctx.home ?? '/');
  const path = ctx.findExecutable === false
    ? proc.args[0]
    : await resolveExecutable(sys, proc.args[0], env, proc.cwd);
  const plan: ProcessPlan = { path, argv: [...proc.args], env };
  if (ctx.seccomp && proc.noNewPrivileges && !listener) plan.seccomp = ctx.seccomp;
  return plan;
}

/**
 * One attempt, while the init is still root: runc tries again after the user change on
 * EACCES, but a failed call ends the agent (its failures are sticky). A directory the
 * workload's user cannot enter is therefore reachable only if root can enter it.
 */
async function changeDirectory(sys: Sys, cwd: string): Promise<void> {
  // runc's wording: users search for it.
  await sysStep(`chdir to cwd (${JSON.stringify(cwd)}) set in config.json failed`, sys.chdir(cwd));
}

/** runc sets HOME when the config does not, from the user's passwd entry. */
export function withHome(env: readonly string[], home: string): string[] {
  if (env.some((e) => e.startsWith('HOME='))) return [...env];
  return [...env, `HOME=${home}`];
}

function readLastCap(): number {
  try {
    return Number.parseInt(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'), 10);
  } catch {
    return CAP_LAST_KNOWN;
  }
}
