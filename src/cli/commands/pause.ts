import type { Command } from 'commander';

import { pauseContainer } from '../../core/lifecycle/pause.js';
import { globalsOf } from '../globals.js';

export async function pauseCommand(command: Command, id: unknown): Promise<number> {
  await pauseContainer(globalsOf(command).root, String(id));
  return 0;
}
