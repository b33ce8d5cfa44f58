/** The global flags every subcommand sees, resolved once. */
import type { Command } from 'commander';

import { Logger } from '../core/log.js';
import { defaultRoot } from '../core/state/store.js';

export interface Globals {
  root: string;
  logger: Logger;
  systemdCgroup: boolean;
  pluginPath?: string;
}

let logger = new Logger();

export function setLogger(next: Logger): void {
  logger = next;
}

export function currentLogger(): Logger {
  return logger;
}

export function globalsOf(command: Command): Globals {
  const opts = command.optsWithGlobals<{
    root?: string;
    systemdCgroup?: boolean;
    pluginPath?: string;
  }>();
  return {
    root: opts.root ?? defaultRoot(),
    logger,
    systemdCgroup: opts.systemdCgroup === true,
    pluginPath: opts.pluginPath,
  };
}
