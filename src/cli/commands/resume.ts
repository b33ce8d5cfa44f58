import type { Command } from 'commander';

import { resumeContainer } from '../../core/lifecycle/pause.js';
import { globalsOf } from '../globals.js';

export async function resumeCommand(command: Command, id: unknown): Promise<number> {
  await resumeContainer(globalsOf(command).root, String(id));
  return 0;
}
