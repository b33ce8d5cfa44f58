import type { Command } from 'commander';

import { createContainer } from '../../core/lifecycle/create.js';
import { ForkMode } from '../../core/sys/sys.js';
import { globalsOf } from '../globals.js';
import { parseCount } from './options.js';

export interface CreateFlags {
  bundle: string;
  pidFile?: string;
  consoleSocket?: string;
  preserveFds: string;
  pivot: boolean;
}

export async function createCommand(command: Command, id: unknown): Promise<number> {
  const flags = command.opts<CreateFlags>();
  const globals = globalsOf(command);
  await createContainer({
    root: globals.root,
    pluginPath: globals.pluginPath,
    id: String(id),
    bundle: flags.bundle,
    pidFile: flags.pidFile,
    consoleSocket: flags.consoleSocket,
    preserveFds: parseCount('--preserve-fds', flags.preserveFds),
    noPivot: flags.pivot === false,
    logger: globals.logger,
    mode: ForkMode.Detach,
  });
  return 0;
}
