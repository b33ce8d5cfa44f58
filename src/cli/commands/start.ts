import type { Command } from 'commander';

import { startContainer } from '../../core/lifecycle/start.js';
import { globalsOf } from '../globals.js';

export async function startCommand(command: Command, id: unknown): Promise<number> {
  const globals = globalsOf(command);
  await startContainer(globals.root, String(id), globals.logger);
  return 0;
}
