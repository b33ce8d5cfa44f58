/**
 * `start`: connects to the socket the waiting init listens on, runs the startContainer hooks
 * inside the container, and has the init exec the workload.
 */
import { unlinkSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { basename, dirname } from 'node:path';

import { isFrozen } from '../cgroups/index.js';
import { HakoError } from '../errors.js';
import { runHooksInContainer } from '../hooks/in-container.js';
import { runHooks } from '../hooks/run.js';
import type { Logger } from '../log.js';
import { containerStatus } from '../state/status.js';
import { type ContainerState, StateStore } from '../state/store.js';
import { AgentSys, execOperation } from '../sys/agent.js';
import { Channel, errnoText } from '../sys/channel.js';
import { SysError } from '../sys/sys.js';
import { cgroupOf, execPlanOf, execRequestOf, hookState } from './common.js';
import { LAUNCHER_START_ERRNO } from './fast-record.js';

export async function startContainer(root: string, id: string, logger: Logger): Promise<void> {
  const store = new StateStore(root);
  const state = store.read(id);
  const launcherErrno = takeLauncherStartErrno();
  if (launcherErrno !== undefined) {
    const failed = `${execOperation(execPlanOf(state))}: ${errnoText(launcherErrno).text}`;
    throw new HakoError(`unable to start container process: ${failed}`);
  }
  const cgroup = cgroupOf(state);
  // A paused created container: its init is frozen and would never take the connection.
  const status = containerStatus(state, {
    startSocket: store.startSocketPath(id),
    isFrozen: () => isFrozen(cgroup),
  });
  if (status !== 'created') {
    throw new HakoError(`cannot start a container that is ${status}: "${id}"`);
  }
  await startCreated(store, state, logger);
}

export async function startCreated(store: StateStore, state: ContainerState, logger: Logger) {
  const socketPath = store.startSocketPath(state.id);
  const socket = await connectUnix(socketPath);
  // From here the container counts as started, whatever happens to its process.
  unlinkSync(socketPath);
  const sys = new AgentSys(new Channel(socket));
  const plan = execPlanOf(state);
  const spec = state.config;

  try {
    const startHooks = spec.hooks?.startContainer;
    await runHooksInContainer(sys, startHooks, hookState(state, 'created'), 'startContainer');
    await sys.exec(execRequestOf(plan));
  } catch (err) {
    socket.destroy();
    if (err instanceof SysError) {
      throw new HakoError(`unable to start container process: ${err.message}`);
    }
    throw err;
  }
  await runHooks(spec.hooks?.poststart, hookState(state, 'running'), 'poststart', {
    logger,
    warnOnly: true,
  });
}

/**
 * The launcher started this container (it connected, unlinked the socket and sent the EXEC
 * frame) but the exec failed: it hands the errno over for the error to be worded here, once.
 */
function takeLauncherStartErrno(): number | undefined {
  const text = process.env[LAUNCHER_START_ERRNO];
  delete process.env[LAUNCHER_START_ERRNO];
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : undefined;
}

/** Unix socket paths are limited to 107 bytes: a longer one is reached from its directory. */
function connectUnix(path: string): Promise<Socket> {
  const tooLong = Buffer.byteLength(path) > 100;
  const cwd = process.cwd();
  if (tooLong) process.chdir(dirname(path));
  return new Promise((resolvePromise, rejectPromise) => {
    const socket = connect({ path: tooLong ? `./${basename(path)}` : path });
    if (tooLong) process.chdir(cwd);
    socket.once('connect', () => resolvePromise(socket));
    socket.once('error', (err: NodeJS.ErrnoException) => {
      rejectPromise(new HakoError(`connect to ${path}: ${err.code ?? err.message}`));
    });
  });
}
