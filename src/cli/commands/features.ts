import type { Command } from 'commander';

import { builtinHandlers, hakoFeatures } from '../../core/lifecycle/features.js';
import { formatGoJson } from '../../core/log.js';

/** Indented by four spaces, as runc prints it. */
export async function featuresCommand(_command: Command): Promise<number> {
  const features = hakoFeatures({ handlers: builtinHandlers(process.env.PATH) });
  process.stdout.write(`${formatGoJson(features, 4)}\n`);
  return 0;
}
