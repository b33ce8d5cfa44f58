import type { Command } from 'commander';

import { HakoError } from '../../core/errors.js';
import { containerPids, DEFAULT_PS_ARGS, filterPsTable, runPs } from '../../core/lifecycle/ps.js';
import { globalsOf } from '../globals.js';

export async function psCommand(command: Command, id: unknown, psArgs: unknown): Promise<number> {
  const format = command.opts<{ format: string }>().format;
  if (format !== 'table' && format !== 'json') {
    throw new HakoError(`invalid format option "${format}": use table or json`);
  }
  const pids = containerPids(globalsOf(command).root, String(id));
  if (format === 'json') {
    process.stdout.write(`${JSON.stringify(pids)}\n`);
    return 0;
  }
  const args = Array.isArray(psArgs) && psArgs.length > 0 ? psArgs.map(String) : DEFAULT_PS_ARGS;
  for (const row of filterPsTable(runPs(args), pids)) process.stdout.write(`${row}\n`);
  return 0;
}
