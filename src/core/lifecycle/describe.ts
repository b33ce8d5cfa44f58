/** The state object `state` and `list` print, from what `create` recorded. */
import { isFrozen } from '../cgroups/index.js';
import { containerStatus } from '../state/status.js';
import { type ContainerState, type RuncState, StateStore, toRuncState } from '../state/store.js';
import { cgroupOf } from './common.js';

/** `state` prints an empty owner, as runc does; `list` fills it in. */
export function describeContainer(
  store: StateStore,
  state: ContainerState,
  withOwner = false,
): RuncState {
  const status = containerStatus(state, {
    startSocket: store.startSocketPath(state.id),
    isFrozen: () => isFrozen(cgroupOf(state)),
  });
  return toRuncState(state, status, withOwner ? state.owner : '');
}
