import type { Command } from 'commander';

import { killContainer } from '../../core/lifecycle/kill.js';
import { globalsOf } from '../globals.js';

export async function killCommand(command: Command, id: unknown, signal: unknown) {
  const flags = command.opts<{ all?: boolean }>();
  await killContainer(globalsOf(command).root, String(id), String(signal), flags.all === true);
  return 0;
}
