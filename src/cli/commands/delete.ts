import type { Command } from 'commander';

import { deleteContainer } from '../../core/lifecycle/delete.js';
import { globalsOf } from '../globals.js';

export async function deleteCommand(command: Command, id: unknown): Promise<number> {
  const globals = globalsOf(command);
  const force = command.opts<{ force?: boolean }>().force === true;
  await deleteContainer(globals.root, String(id), force, globals.logger);
  return 0;
}
