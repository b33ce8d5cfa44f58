/**
 * `pause` and `resume`: the cgroup freezer (v1 freezer.state, v2 cgroup.freeze) stops and
 * restarts every process of the container. The frozen state lives in the cgroup itself, so
 * `state` reports "paused" from there and nothing is recorded in state.json.
 */
import { freeze, isFrozen, thaw } from '../cgroups/index.js';
import { HakoError } from '../errors.js';
import { type ContainerStatus, containerStatus } from '../state/status.js';
import { type ContainerState, StateStore } from '../state/store.js';
import { cgroupOf } from './common.js';

/** runc pauses a running or a created container; anything else is "not running". */
export async function pauseContainer(root: string, id: string): Promise<void> {
  const { state, status } = load(root, id);
  if (status !== 'running' && status !== 'created') throw new HakoError('container not running');
  await freeze(cgroupOf(state));
}

export async function resumeContainer(root: string, id: string): Promise<void> {
  const { state, status } = load(root, id);
  if (status !== 'paused') throw new HakoError('container not paused');
  await thaw(cgroupOf(state));
}

function load(root: string, id: string): { state: ContainerState; status: ContainerStatus } {
  const store = new StateStore(root);
  const state = store.read(id);
  const status = containerStatus(state, {
    startSocket: store.startSocketPath(id),
    isFrozen: () => isFrozen(cgroupOf(state)),
  });
  return { state, status };
}
