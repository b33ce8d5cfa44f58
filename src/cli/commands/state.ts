import type { Command } from 'commander';

import { describeContainer } from '../../core/lifecycle/describe.js';
import { StateStore } from '../../core/state/store.js';
import { globalsOf } from '../globals.js';

export async function stateCommand(command: Command, id: unknown): Promise<number> {
  const store = new StateStore(globalsOf(command).root);
  const state = store.read(String(id));
  process.stdout.write(`${JSON.stringify(describeContainer(store, state), null, 2)}\n`);
  return 0;
}
