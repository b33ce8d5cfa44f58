/**
 * `exec`: a new process in a running (or created) container. The agent enters the init's
 * namespaces, forks (the pid namespace applies to children), the child joins the container's
 * cgroup, takes the process's credentials, capabilities, rlimits and seccomp filter from the
 * same code `create` uses, and execs. Nothing of the container is touched when this fails: only
 * the agent's processes die.
 */
import { readFileSync } from 'node:fs';

import {
  type CgroupHandle, isFrozen, joinCgroupInBackground, primeCgroupMoves,
} from '../cgroups/index.js';
import { parseSubCgroupPaths, subCgroupHandle } from '../cgroups/sub-cgroup.js';
import { HakoError } from '../errors.js';
import type { Logger } from '../log.js';
import { type NamespaceJoin, joinNamespaces, planJoins } from '../namespaces/join.js';
import { type ExecFlags, buildExecProcess } from '../process/from-flags.js';
import { containerHome } from '../process/home.js';
import { type ProcessContext, prepareProcess } from '../process/index.js';
import type { Process, Spec } from '../spec/types.js';
import { writePidFile } from '../state/pid-file.js';
import { containerStatus } from '../state/status.js';
import { type ContainerState, StateStore } from '../state/store.js';
import { type AgentProcess, spawnAgent } from '../sys/spawn.js';
import { CONSOLE_TO_PARENT, ForkMode, type Sys } from '../sys/sys.js';
import { cgroupOf, killAndWait } from './common.js';
import { checkLsmLabels, checkPreservedFds, checkTerminal } from './exec-checks.js';

export interface ExecOptions {
  root: string;
  id: string;
  /** A whole process.json (--process, which wins as in runc), or changes to the config's. */
  source: { processFile: string } | { flags: ExecFlags };
  detach: boolean;
  pidFile?: string;
  consoleSocket?: string;
  preserveFds: number;
  /** --cgroup arguments: sub-cgroups of the container's to run in. */
  cgroups: string[];
  ignorePaused: boolean;
  logger: Logger;
  /** Hears of the process once it has exec'd the program: signals go there. */
  onForked?: (forked: Forked) => void;
}

export interface Forked {
  /** Host pid of the exec'd process. */
  pid: number;
  /** The agent's first process: it reports the exit status, and relays the pty if `proxy`. */
  agentPid: number;
  /** A terminal without --console-socket: hako's own stdio is the terminal's other end. */
  proxy: boolean;
}

export interface ExecStarted extends Forked {
  /** The process's exit status, 128 + signal when killed; 0 at once when detached. */
  exited: Promise<number>;
}

export async function execInContainer(opts: ExecOptions): Promise<ExecStarted> {
  const began = performance.now();
  const step = (what: string) =>
    opts.logger.debug(() => `exec: ${what} (+${(performance.now() - began).toFixed(1)} ms)`);
  const store = new StateStore(opts.root);
  const state = store.read(opts.id);
  const cgroup = checkStatus(store, state, opts.ignorePaused);
  checkPreservedFds(opts.preserveFds);
  primeCgroupMoves();
  // The agent starts first: its exec runs while the process is planned.
  const agent = spawnAgent({ preserveFds: opts.preserveFds });
  step(`agent is pid ${agent.pid}`);
  let planned: Awaited<ReturnType<typeof planExec>>;
  try {
    planned = await planExec(opts, state, cgroup);
  } catch (err) {
    await stopAgent(agent, 0);
    throw err;
  }
  const { proxy } = planned;
  let pid = 0;
  try {
    await execInAgent(agent.sys, {
      ...planned,
      onForked: (forked) => {
        pid = forked;
        step(`namespaces joined, process ${pid} forked`);
      },
      step,
    });
  } catch (err) {
    await stopAgent(agent, pid);
    throw startError(err);
  }
  // Only now is it the program: a signal that reached the forked agent before its exec would
  // end the setup, not the process (the caller holds signals until it hears of it).
  opts.onForked?.({ pid, agentPid: agent.pid, proxy });

  if (opts.pidFile) {
    try {
      writePidFile(opts.pidFile, pid);
    } catch (err) {
      // A caller that cannot learn the pid cannot manage the process: runc ends it too.
      await stopAgent(agent, pid);
      throw err;
    }
  }
  const exited = opts.detach ? Promise.resolve(0) : agent.exited;
  return { pid, agentPid: agent.pid, proxy, exited };
}

/** Everything `exec` decides before the agent acts: the process, the joins, the cgroup. */
async function planExec(opts: ExecOptions, state: ContainerState, cgroup: CgroupHandle) {
  const spec = state.config;
  const proc = buildExecProcess(spec, opts.source);
  checkTerminal(proc.terminal === true, opts.detach, opts.consoleSocket);
  checkLsmLabels(proc, opts.logger);
  const target = opts.cgroups.length > 0
    ? subCgroupHandle(cgroup, parseSubCgroupPaths(opts.cgroups))
    : cgroup;
  const joins = planJoins(spec, state.pid);
  const seccomp = spec.linux?.seccomp ? await compile(spec, opts.logger) : undefined;
  const home = hasHome(proc) ? undefined : containerHome(state.pid, proc.user.uid);
  const setgroupsDenied = joins.some((j) => j.type === 'user') && setgroupsDeniedIn(state.pid);

  // A foreground terminal is relayed by the agent's waiting first process, as for `run`.
  const proxy = proc.terminal === true && !opts.detach;
  return {
    consoleSocket: opts.consoleSocket,
    proxy,
    joins,
    mode: opts.detach ? ForkMode.Detach : proxy ? ForkMode.Proxy : ForkMode.Wait,
    spec: { ...spec, process: proc },
    context: { seccomp, setgroupsDenied, home, logger: opts.logger },
    closeFrom: 3 + opts.preserveFds,
    joinCgroup: (forked: number) => joinCgroupInBackground(target, forked),
  };
}

/** What the agent does for `exec`, in order. */
export interface AgentSteps {
  consoleSocket?: string;
  /** The agent's first process relays the pty (ForkMode.Proxy). */
  proxy: boolean;
  joins: readonly NamespaceJoin[];
  mode: ForkMode;
  /** The container's config with the exec'd process in it. */
  spec: Spec;
  context: Omit<ProcessContext, 'consoleSocketFd'>;
  closeFrom: number;
  onForked(pid: number): void;
  /** Moves the forked process into the container's cgroup (or the --cgroup one). */
  joinCgroup(pid: number): Promise<void>;
  step(what: string): void;
}

/** The agent's part of `exec`, written against the Sys seam. */
export async function execInAgent(sys: Sys, steps: AgentSteps): Promise<void> {
  // Before the user namespace, whose root may not reach the caller's socket.
  const consoleSocketFd = steps.consoleSocket
    ? await sys.connectUnix(steps.consoleSocket)
    : steps.proxy ? CONSOLE_TO_PARENT : undefined;
  await joinNamespaces(sys, steps.joins);
  const pid = await sys.forkInit(steps.mode);
  steps.onForked(pid);

  // The first move into a v1 cgroup waits for an RCU grace period (5 to 25 ms here, as for
  // runc): the moves run while the agent applies the process's attributes, and end before
  // the exec.
  const joining = steps.joinCgroup(pid);
  joining.catch(() => undefined);
  const plan = await prepareProcess(sys, steps.spec, { ...steps.context, consoleSocketFd });
  steps.step('process prepared');
  await joining.catch((err: unknown) => {
    throw new HakoError(`join cgroup of pid ${pid}: ${(err as Error).message}`);
  });
  steps.step('cgroup joined');
  await sys.exec({ ...plan, closeFrom: steps.closeFrom });
  steps.step('exec done');
}

/** runc execs into a created or running container, into a paused one only when told to. */
function checkStatus(store: StateStore, state: ContainerState, ignorePaused: boolean) {
  const cgroup: CgroupHandle = cgroupOf(state);
  const status = containerStatus(state, {
    startSocket: store.startSocketPath(state.id),
    isFrozen: () => isFrozen(cgroup),
  });
  if (status === 'stopped') throw new HakoError('cannot exec in a stopped container');
  if (status === 'paused' && !ignorePaused) {
    throw new HakoError('cannot exec in a paused container (use --ignore-paused to override)');
  }
  return cgroup;
}

/** koffi and libseccomp load only for a container that has a filter. */
async function compile(spec: Spec, logger: Logger) {
  const { compileSeccomp } = await import('../seccomp/index.js');
  const seccomp = spec.linux?.seccomp as NonNullable<NonNullable<Spec['linux']>['seccomp']>;
  return compileSeccomp(seccomp, logger);
}

function hasHome(proc: Process): boolean {
  return (proc.env ?? []).some((e) => e.startsWith('HOME=') && e !== 'HOME=');
}

/** A user namespace whose setgroups is "deny" refuses setgroups(2) even to its root. */
function setgroupsDeniedIn(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/setgroups`, 'utf8').trim() === 'deny';
  } catch {
    return false;
  }
}

/** The forked process first (it may be in the container's pid namespace), then the agent. */
async function stopAgent(agent: AgentProcess, pid: number): Promise<void> {
  if (pid > 0) await killAndWait(pid);
  agent.child.kill('SIGKILL');
  agent.channel.release();
}

/** Failures after the agent started read as runc's: "unable to start container process: ...". */
function startError(err: unknown): HakoError {
  const message = err instanceof Error ? err.message : String(err);
  return new HakoError(`unable to start container process: ${message}`);
}
