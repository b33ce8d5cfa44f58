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
  const described = toRuncState(state, status, withOwner ? state.owner : '');
  // Not in runc's state: why a handler's workload failed (plugins, wasm). Callers that decode
  // runc's shape ignore a key they do not know.
  const error = store.handlerError(state.id);
  return error === undefined ? described : { ...described, error };
}
