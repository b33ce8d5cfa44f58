import type { Command } from 'commander';

import { describeContainer } from '../../core/lifecycle/describe.js';
import { formatGoJson } from '../../core/log.js';
import { StateStore } from '../../core/state/store.js';
import { globalsOf } from '../globals.js';

export async function stateCommand(command: Command, id: unknown): Promise<number> {
  const store = new StateStore(globalsOf(command).root);
  const state = store.read(String(id));
  process.stdout.write(formatGoJson(describeContainer(store, state), 2));
  return 0;
}
