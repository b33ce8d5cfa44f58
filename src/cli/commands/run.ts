import { isatty } from 'node:tty';

import type { Command } from 'commander';

import { createContainer } from '../../core/lifecycle/create.js';
import { deleteContainer } from '../../core/lifecycle/delete.js';
import { startCreated } from '../../core/lifecycle/start.js';
import { StateStore } from '../../core/state/store.js';
import { ForkMode } from '../../core/sys/sys.js';
import { globalsOf } from '../globals.js';
import type { CreateFlags } from './create.js';
import { parseCount } from './options.js';

/** Signals a person or a supervisor sends to `run`, passed on to the container's init. */
const FORWARDED: NodeJS.Signals[] = [
  'SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH', 'SIGCONT',
];

export async function runCommand(command: Command, id: unknown): Promise<number> {
  const flags = command.opts<CreateFlags & { detach?: boolean; keep?: boolean }>();
  const globals = globalsOf(command);
  const containerId = String(id);
  const detach = flags.detach === true;
  const began = performance.now();
  const step = (what: string) => globals.logger.debug(
    () => `run: ${what} (+${(performance.now() - began).toFixed(1)} ms)`);

  const { state, agent } = await createContainer({
    root: globals.root,
    pluginPath: globals.pluginPath,
    id: containerId,
    bundle: flags.bundle,
    pidFile: flags.pidFile,
    consoleSocket: flags.consoleSocket,
    preserveFds: parseCount('--preserve-fds', flags.preserveFds),
    noPivot: flags.pivot === false,
    logger: globals.logger,
    mode: detach ? ForkMode.Detach : ForkMode.Wait,
  });
  const store = new StateStore(globals.root);
  const removeIt = () => deleteContainer(globals.root, containerId, true, globals.logger);

  // A terminal without a console socket: the agent's first process holds the pty
  // (ForkMode.Proxy). This terminal goes raw, as runc makes it, so that every key reaches the
  // container's, and a resize reaches the agent, which copies the new size onto the pty.
  const proxy = !detach && !flags.consoleSocket && state.config.process?.terminal === true;
  const restoreTerminal = proxy ? rawStdin() : () => undefined;
  for (const signal of FORWARDED) {
    const target = proxy && signal === 'SIGWINCH' ? agent.pid : state.pid;
    process.on(signal, () => {
      try {
        process.kill(target, signal);
      } catch {
        // The container is already gone; its exit status is on its way.
      }
    });
  }
  try {
    await startCreated(store, state, globals.logger);
  } catch (err) {
    restoreTerminal();
    await removeIt();
    throw err;
  }
  step('started');
  if (detach) return 0;

  const status = await agent.exited;
  step(`exited with status ${status}`);
  restoreTerminal();
  if (!flags.keep) await removeIt();
  step('deleted');
  for (const signal of FORWARDED) process.removeAllListeners(signal);
  return status;
}

/** Raw mode for a stdin that is a terminal; returns what restores it. */
function rawStdin(): () => void {
  if (!isatty(0)) return () => undefined;
  process.stdin.setRawMode(true);
  return () => process.stdin.setRawMode(false);
}
