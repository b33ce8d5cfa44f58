import type { Command } from 'commander';

import { builtinHandlers, hakoFeatures } from '../../core/lifecycle/features.js';
import { formatGoJson } from '../../core/log.js';
import { globalsOf } from '../globals.js';
import { handlerRows } from './handlers.js';

/** Indented by four spaces, as runc prints it. */
export async function featuresCommand(command: Command): Promise<number> {
  const globals = globalsOf(command);
  let handlers: string[];
  try {
    handlers = handlerRows(globals.pluginPath, globals.logger).map((row) => row.name);
  } catch (err) {
    // A caller such as containerd reads this at start: a broken plugin must not hide the rest.
    globals.logger.warn(`features: plugins not listed: ${(err as Error).message}`);
    handlers = builtinHandlers(process.env.PATH);
  }
  const features = hakoFeatures({ handlers });
  process.stdout.write(`${formatGoJson(features, 4)}\n`);
  return 0;
}
