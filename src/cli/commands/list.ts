import type { Command } from 'commander';

import { HakoError } from '../../core/errors.js';
import { describeContainer } from '../../core/lifecycle/describe.js';
import { StateStore } from '../../core/state/store.js';
import { globalsOf } from '../globals.js';

export async function listCommand(command: Command): Promise<number> {
  const flags = command.opts<{ format: string; quiet?: boolean }>();
  const { root, logger } = globalsOf(command);
  const store = new StateStore(root);
  // One unreadable container is a warning, not the end of the list (as in runc).
  const states = store.list().flatMap((id) => {
    try {
      const state = store.tryRead(id);
      return state ? [describeContainer(store, state, true)] : [];
    } catch (err) {
      logger.warn(err instanceof Error ? err.message : String(err));
      return [];
    }
  });

  if (flags.quiet) {
    for (const s of states) process.stdout.write(`${s.id}\n`);
    return 0;
  }
  if (flags.format === 'json') {
    process.stdout.write(`${JSON.stringify(states)}\n`);
    return 0;
  }
  if (flags.format !== 'table') throw new HakoError(`invalid format option "${flags.format}"`);

  const rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER']];
  for (const s of states) {
    rows.push([s.id, String(s.pid), s.status, s.bundle, s.created, s.owner]);
  }
  const widths = rows[0].map((_, col) => Math.max(...rows.map((row) => row[col].length)));
  for (const row of rows) {
    const cells = row.map((cell, col) => (col < row.length - 1 ? cell.padEnd(widths[col]) : cell));
    process.stdout.write(`${cells.join('   ')}\n`);
  }
  return 0;
}
