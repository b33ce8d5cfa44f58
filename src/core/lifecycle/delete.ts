/**
 * `delete`: kills what is left of the container, runs the poststop hooks, removes its cgroup
 * and its state. With --force it is idempotent, as callers expect: deleting a container that
 * does not exist succeeds.
 */
import { existsSync } from 'node:fs';

import { type CgroupHandle, isFrozen, killAll, thaw } from '../cgroups/index.js';
import { HakoError } from '../errors.js';
import { runHooks } from '../hooks/run.js';
import type { Logger } from '../log.js';
import { containerStatus } from '../state/status.js';
import { type ContainerState, StateStore } from '../state/store.js';
import { cgroupOf, hookState, killAndWait, removeCgroupQuietly } from './common.js';

export async function deleteContainer(
  root: string,
  id: string,
  force: boolean,
  logger: Logger,
): Promise<void> {
  const store = new StateStore(root);
  const state = readUnlessForced(store, id, force);
  if (state === null) {
    // A directory without a state is a create that failed half-way or is still running (or
    // one whose state.json was damaged); only --force may take it away, with the cgroup that
    // create had made and what is in it.
    if (force) {
      const creating = store.readCreating(id);
      if (creating) {
        const cgroup = creating.cgroup as unknown as CgroupHandle;
        await killAllQuietly(cgroup, logger);
        await removeCgroupQuietly(cgroup, logger);
      }
      store.remove(id);
    } else if (existsSync(store.dir(id))) {
      throw new HakoError(`container "${id}" is being created; use --force to remove it`);
    } else throw new HakoError(`container "${id}" does not exist`);
    return;
  }

  const cgroup = cgroupOf(state);
  const status = containerStatus(state, {
    startSocket: store.startSocketPath(id),
    isFrozen: () => isFrozen(cgroup),
  });
  if ((status === 'running' || status === 'paused') && !force) {
    throw new HakoError(`cannot delete container "${id}" that is not stopped: ${status}`);
  }

  if (status !== 'stopped') {
    // A frozen task does not act on SIGKILL until it is thawed.
    if (status === 'paused') await thaw(cgroup);
    await killAndWait(state.pid, state.pidStartTime);
  }
  await killAllQuietly(cgroup, logger);
  await removeCgroupQuietly(cgroup, logger);
  await runHooks(state.config.hooks?.poststop, hookState(state, 'stopped'), 'poststop', {
    logger,
    warnOnly: true,
  });
  store.remove(id);
}

/** The state, or null when there is none, or with --force when it cannot be read. */
function readUnlessForced(store: StateStore, id: string, force: boolean): ContainerState | null {
  try {
    return store.tryRead(id);
  } catch (err) {
    if (force && err instanceof HakoError) return null;
    throw err;
  }
}

/** Processes the container left behind (exec'd ones, or all of them without a pid ns). */
async function killAllQuietly(cgroup: CgroupHandle, logger: Logger) {
  try {
    await killAll(cgroup, 'SIGKILL');
  } catch (err) {
    logger.debug(`kill the rest of the container: ${(err as Error).message}`);
  }
}
