/**
 * Stop signals that end the Node engine however busy its JavaScript thread is.
 *
 * The engine is pid 1 of the container's pid namespace, and the kernel drops a signal to such
 * a process unless it has a handler for it. Node's own SIGTERM and SIGINT handlers raise the
 * signal again, which is then dropped; a `process.on` listener runs only when the event loop
 * gets control, and a guest that computes never gives it that. So the handler is native code,
 * hako-signals.so (native/engine/signals.c, built next to the agent): it ends the process
 * with 128 + the signal from whichever thread the kernel delivers the signal to, with no
 * JavaScript involved. A later `process.on` for the same signal replaces it (libuv installs
 * its own handler), and removing that listener again leaves the signal dropped.
 */
import { constants } from 'node:os';

import { distFile } from '../dist.js';
import { failure, loadLibc } from './libc.js';

/**
 * The signals that stop a container (`podman stop`, `hako kill`, Ctrl-C or a hang-up of
 * `hako run`), whose default action ends a process that is not pid 1.
 */
export const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT'] as const;

const LIBRARY = 'hako-signals.so';

/**
 * Loads the library while the host's files are reachable (before pivot_root) and returns what
 * makes each stop signal end the process with 128 + its number, from then on.
 */
export function loadExitOnSignals(): () => void {
  const { koffi } = loadLibc();
  const lib = koffi.load(distFile(LIBRARY));
  const exitOnSignal = lib.func('int hako_exit_on_signal(int sig)') as (sig: number) => number;
  return () => {
    for (const name of STOP_SIGNALS) {
      if (exitOnSignal(constants.signals[name]) < 0) {
        throw failure(`sigaction ${name}`, koffi.errno());
      }
    }
  };
}
