/**
 * `create`: from a bundle to an init process that waits for `start`, as the runtime-spec's
 * lifecycle describes. Every step that can fail is undone on failure: no state dir, cgroup,
 * mount or process is left behind.
 */
import { constants } from 'node:fs';
import { join, resolve } from 'node:path';

import {
  type CgroupHandle, createCgroup, joinCgroupInBackground, primeCgroupMoves,
} from '../cgroups/index.js';
import { withDefaultDevices } from '../cgroups/default-devices.js';
import { HakoError } from '../errors.js';
import { runHooksInContainer } from '../hooks/in-container.js';
import { runHooks } from '../hooks/run.js';
import type { Logger } from '../log.js';
import { enginePath } from '../engine/path.js';
import { enterCgroupNamespace, enterNamespaces, planNamespaces } from '../namespaces/setup.js';
import { loadPlugins } from '../plugins/registry.js';
import { prepareProcess } from '../process/index.js';
import { setupRootfs } from '../rootfs/index.js';
import { loadSpec } from '../spec/load.js';
import type { Spec } from '../spec/types.js';
import { readProcStat } from '../state/status.js';
import {
  type ContainerState, type JsonValue, StateStore, createdTimestamp, ownerName,
} from '../state/store.js';
import { validateId } from '../state/id.js';
import { writePidFile } from '../state/pid-file.js';
import { type AgentProcess, spawnAgent } from '../sys/spawn.js';
import { CONSOLE_TO_PARENT, ForkMode, type Sys } from '../sys/sys.js';
import { type ExecPlan, hookState, killAndWait, removeCgroupQuietly } from './common.js';
import { Undo, explainOomKill, undoOnSignals } from './create-undo.js';
import { writeFastRecord } from './fast-record.js';
import { BUILTIN_NAMES, chooseHandler } from './handler.js';
import { listenFdsOf, withListenFds } from './listen-fds.js';

export interface CreateOptions {
  root: string;
  id: string;
  bundle: string;
  pidFile?: string;
  consoleSocket?: string;
  preserveFds: number;
  noPivot: boolean;
  logger: Logger;
  /** Detach for `create`; Wait for `run`, whose agent then reports the workload's status. */
  mode: ForkMode;
  /** The global --plugin-path flag: colon-separated directories of plugin handlers. */
  pluginPath?: string;
}

export interface Created {
  state: ContainerState;
  agent: AgentProcess;
}

export async function createContainer(opts: CreateOptions): Promise<Created> {
  validateId(opts.id);
  const bundle = resolve(opts.bundle);
  const started = performance.now();
  const step = (what: string) =>
    opts.logger.debug(() => `create: ${what} (+${(performance.now() - started).toFixed(1)} ms)`);
  const listenFds = listenFdsOf(process.env, process.pid);
  const spec = withListenFds(loadSpec(bundle, (msg) => opts.logger.warn(msg)), listenFds);
  // Socket-activation descriptors come first, then those of --preserve-fds.
  const preserveFds = listenFds + opts.preserveFds;
  checkSupported(spec, opts);
  const handler = chooseHandler(spec, process.env, () => loadPlugins({
    builtins: BUILTIN_NAMES, engine: enginePath(), flag: opts.pluginPath,
    warn: (message) => opts.logger.warn(message),
  }));
  const plan = planNamespaces(spec);

  const store = new StateStore(opts.root);
  store.reserve(opts.id);
  const undo = new Undo(opts.logger);
  undo.push(() => store.remove(opts.id));
  // Interrupted (^C, a supervisor's SIGTERM), create undoes what it made, as on a failure.
  const interrupted = undoOnSignals(undo);

  let made: CgroupHandle | undefined;
  try {
    const resources = withDefaultDevices(spec.linux?.resources, spec.linux?.devices);
    const cgroup = createCgroup(opts.id, spec.linux?.cgroupsPath, resources, {
      log: opts.logger,
    });
    made = cgroup;
    // Not before: a move holds the cgroup mutex through its grace period, and mkdir needs it.
    primeCgroupMoves();
    undo.push(() => removeCgroupQuietly(cgroup, opts.logger));
    store.writeCreating(opts.id, { cgroup: cgroup as unknown as JsonValue });

    step('cgroup created');
    const agent = spawnAgent({ preserveFds });
    step('agent forked');
    undo.push(() => agent.child.kill('SIGKILL'));
    const sys = agent.sys;

    // The sockets are made before the user namespace: its root may not reach the state
    // directory or the caller's socket, and the descriptors survive the setns and the fork.
    const startFd = await sys.listenUnix(store.startSocketPath(opts.id));
    // An engine's workload that fails after start leaves its reason here (state shows it).
    const errorFd = handler.engine
      ? await sys.openFile(store.handlerErrorPath(opts.id), O_WRONLY | O_CREAT | O_TRUNC, 0o600)
      : -1;
    const mode = forkMode(spec, opts);
    const listenerPath = seccompListenerPath(spec);
    const listenerSocketFd = listenerPath ? await sys.connectUnix(listenerPath) : undefined;
    const consoleSocketFd = opts.consoleSocket
      ? await sys.connectUnix(opts.consoleSocket)
      : mode === ForkMode.Proxy ? CONSOLE_TO_PARENT : undefined;

    step('agent spawned');
    const pid = await enterNamespaces(sys, agent.pid, plan, mode);
    // A new network namespace starts with its loopback down; runc brings it up, and
    // containers of one pod talk over it.
    if (plan.newTypes.has('network')) await sys.linkUp('lo');
    step('namespaces entered, init forked');
    undo.push(() => killAndWait(pid));
    opts.logger.debug(`container init is pid ${pid}`);
    const joining = joinCgroupInBackground(cgroup, pid);
    joining.catch(() => undefined); // awaited below; this only keeps it from being "unhandled"
    if (plan.cgroup) {
      // The cgroup namespace's root is the cgroup the init is in when it unshares.
      await joining;
      await enterCgroupNamespace(sys, plan);
    }

    const state = initialState(opts, bundle, spec, pid, cgroup);
    const rootfsContext = {
      bundle,
      noPivot: opts.noPivot,
      cgroup,
      logger: opts.logger,
      hooks: async () => runCreateHooks(sys, spec, state, opts.logger),
    };

    if (handler.engine) {
      // The agent mounts, then execs the Node engine, which finishes the setup (engine.ts).
      const { createInEngine } = await import('./engine.js');
      state.handler = await createInEngine({
        agent, handler: handler.name, pluginPath: handler.pluginPath, id: opts.id, spec, pid,
        startFd, errorFd, preserveFds,
        rootfs: rootfsContext, logger: opts.logger, cgroupJoined: joining,
        compileSeccomp: async () => spec.linux?.seccomp ? compile(spec, opts.logger) : undefined,
      });
      step('engine waits for start');
      agent.channel.release();
      writeFastRecord(store.dir(opts.id), state);
      store.write(opts.id, state);
      if (opts.pidFile) writePidFile(opts.pidFile, pid);
      return { state, agent };
    }

    await setupRootfs(sys, handler.spec, rootfsContext);
    step('rootfs ready');
    const exec = await prepareProcess(sys, handler.spec, {
      consoleSocketFd,
      seccomp: spec.linux?.seccomp ? await compile(spec, opts.logger) : undefined,
      seccompListener: listenerPath && listenerSocketFd !== undefined
        ? { path: listenerPath, socketFd: listenerSocketFd, payload: seccompState(spec, state) }
        : undefined,
      logger: opts.logger,
    });
    const execPlan: ExecPlan = {
      path: exec.path,
      argv: exec.argv,
      env: exec.env,
      closeFrom: 3 + preserveFds,
      seccomp: exec.seccomp
        ? {
          program: Buffer.from(exec.seccomp.program).toString('base64'),
          flags: exec.seccomp.flags,
        }
        : undefined,
    };
    state.handler = { name: handler.name, exec: execPlan as unknown as JsonValue };

    await joining;
    step('process prepared');
    await sys.waitStart(startFd);
    step('init waits for start');
    agent.channel.release();
    writeFastRecord(store.dir(opts.id), state);
    store.write(opts.id, state);
    if (opts.pidFile) writePidFile(opts.pidFile, pid);
    return { state, agent };
  } catch (err) {
    const reason = made === undefined ? err : explainOomKill(err, made, spec);
    await undo.run();
    throw reason;
  } finally {
    interrupted.dispose();
  }
}

const { O_CREAT, O_TRUNC, O_WRONLY } = constants;

/** listenerPath when the filter has a rule that notifies (else there is no listener). */
function seccompListenerPath(spec: Spec): string | undefined {
  const seccomp = spec.linux?.seccomp;
  if (!seccomp?.listenerPath) return undefined;
  return seccomp.syscalls?.some((s) => s.action === 'SCMP_ACT_NOTIFY')
    ? seccomp.listenerPath
    : undefined;
}

/** What the listener receives with the descriptor, in runc's shape. */
function seccompState(spec: Spec, state: ContainerState): string {
  return JSON.stringify({
    ociVersion: spec.ociVersion,
    fds: ['seccompFd'],
    pid: state.pid,
    metadata: spec.linux?.seccomp?.listenerMetadata ?? '',
    state: hookState(state, 'creating'),
  });
}

/** koffi and libseccomp load only for a container that has a filter. */
async function compile(spec: Spec, logger: Logger) {
  const { compileSeccomp } = await import('../seccomp/index.js');
  const seccomp = spec.linux?.seccomp;
  if (!seccomp) throw new HakoError('config.json: linux.seccomp: missing');
  return compileSeccomp(seccomp, logger);
}

/** createRuntime and prestart from the host, createContainer inside the container's mounts. */
async function runCreateHooks(sys: Sys, spec: Spec, state: ContainerState, logger: Logger) {
  const hooks = spec.hooks ?? {};
  const input = hookState(state, 'creating');
  // The deprecated prestart hooks predate the "creating" status: their readers expect
  // "created", as runc gives them.
  await runHooks(hooks.prestart, hookState(state, 'created'), 'prestart', { logger });
  await runHooks(hooks.createRuntime, input, 'createRuntime', { logger });
  await runHooksInContainer(sys, hooks.createContainer, input, 'createContainer');
}

function initialState(
  opts: CreateOptions,
  bundle: string,
  spec: Spec,
  pid: number,
  cgroup: CgroupHandle,
): ContainerState {
  return {
    ociVersion: spec.ociVersion,
    id: opts.id,
    pid,
    pidStartTime: readProcStat(pid)?.startTime ?? '',
    bundle,
    rootfs: spec.root?.path ?? join(bundle, 'rootfs'),
    created: createdTimestamp(),
    annotations: spec.annotations ?? {},
    owner: ownerName(process.geteuid?.() ?? 0),
    config: spec,
    cgroup: cgroup as unknown as JsonValue,
  };
}

/** `run` in the foreground without a console socket holds the pty itself, as runc does. */
function forkMode(spec: Spec, opts: CreateOptions): ForkMode {
  const proxy = opts.mode === ForkMode.Wait && spec.process?.terminal && !opts.consoleSocket;
  return proxy ? ForkMode.Proxy : opts.mode;
}

function checkSupported(spec: Spec, opts: CreateOptions): void {
  if (spec.process?.terminal && !opts.consoleSocket && opts.mode === ForkMode.Detach) {
    throw new HakoError(
      'config.json: process.terminal is true: hako needs --console-socket to hand over the pty',
    );
  }
  if (!spec.process?.terminal && opts.consoleSocket) {
    throw new HakoError('--console-socket given but process.terminal is false in config.json');
  }
}
