/**
 * `update`: new resource limits for a container that runs (or waits for `start`), written to
 * its cgroup and recorded in its state, so that a later update or `events` sees them.
 */
import { isFrozen, updateResources } from '../cgroups/index.js';
import { HakoError } from '../errors.js';
import type { Logger } from '../log.js';
import type { LinuxResources } from '../spec/types.js';
import { containerStatus } from '../state/status.js';
import { StateStore } from '../state/store.js';
import { cgroupOf } from './common.js';
import {
  ignoredSettings, mergeResources, resourcesToApply, updatableResources,
} from './update-resources.js';

/** Applies `requested` (flags or a `--resources` document) and returns the merged resources. */
export async function updateContainer(
  root: string,
  id: string,
  requested: LinuxResources,
  logger: Logger,
): Promise<LinuxResources> {
  const store = new StateStore(root);
  const state = store.read(id);
  const cgroup = cgroupOf(state);
  const status = containerStatus(state, {
    startSocket: store.startSocketPath(id),
    isFrozen: () => isFrozen(cgroup),
  });
  if (status === 'stopped') throw new HakoError('container not running');

  const ignored = ignoredSettings(requested);
  if (ignored.length > 0) {
    logger.warn(`update: ${ignored.join(', ')} ignored: kernel memory limits are deprecated`);
  }

  const current = state.config.linux?.resources;
  const update = updatableResources(requested);
  const unenforced = updateResources(cgroup, resourcesToApply(current, update), { log: logger });
  if (unenforced.length > 0) logger.warn(`update: not enforced here: ${unenforced.join(', ')}`);

  // Read again just before writing: the state may have changed while the cgroup was written
  // (`start` records itself), and only the resources are ours to change.
  const latest = store.read(id);
  const merged = mergeResources(latest.config.linux?.resources, update);
  latest.config.linux = { ...latest.config.linux, resources: merged };
  store.write(id, latest);
  return merged;
}
