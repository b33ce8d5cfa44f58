/** `kill`: a signal to the container's init, or with --all to every process of its cgroup. */
import { constants } from 'node:os';

import { isFrozen, killAll, thaw } from '../cgroups/index.js';
import { HakoError } from '../errors.js';
import { containerStatus } from '../state/status.js';
import { StateStore } from '../state/store.js';
import { cgroupOf } from './common.js';

/** `KILL`, `SIGKILL` and `9` all name SIGKILL, as runc accepts them. */
export function parseSignal(text: string): number {
  const signals = constants.signals as Record<string, number>;
  if (/^\d+$/.test(text)) {
    const value = Number(text);
    // 0 only checks that the container process exists, as kill(2) does.
    if (value >= 0 && value <= 64) return value;
  } else {
    const upper = text.toUpperCase();
    const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
    if (signals[name] !== undefined) return signals[name];
    const rt = /^SIGRTMIN(?:\+(\d+))?$/.exec(name) ?? /^SIGRTMAX(?:-(\d+))?$/.exec(name);
    if (rt) return name.startsWith('SIGRTMIN') ? 34 + Number(rt[1] ?? 0) : 64 - Number(rt[1] ?? 0);
  }
  throw new HakoError(`invalid signal "${text}"`);
}

export async function killContainer(
  root: string,
  id: string,
  signal: string,
  all: boolean,
): Promise<void> {
  const signo = parseSignal(signal);
  const store = new StateStore(root);
  const state = store.read(id);
  const cgroup = cgroupOf(state);
  const status = containerStatus(state, {
    startSocket: store.startSocketPath(id),
    isFrozen: () => isFrozen(cgroup),
  });
  if (status === 'stopped') {
    // runc: `kill --all` of a stopped container succeeds, a plain kill does not.
    if (all) return;
    throw new HakoError('container not running');
  }
  if (all) {
    await killAll(cgroup, signo);
    return;
  }
  try {
    process.kill(state.pid, signo);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') throw new HakoError('container not running');
    throw new HakoError(`kill ${state.pid} with signal ${signo}: ${code}`);
  }
  // A frozen process acts on SIGKILL only once thawed: runc thaws a paused container it kills,
  // and podman and containerd wait for it to exit. Other signals wait for `resume`, as runc's.
  if (status === 'paused' && signo === constants.signals.SIGKILL) await thaw(cgroup);
}
