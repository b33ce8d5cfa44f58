import type { Command } from 'commander';

import { parseGoDuration } from '../../core/lifecycle/duration.js';
import { streamEvents } from '../../core/lifecycle/events.js';
import { globalsOf } from '../globals.js';

export async function eventsCommand(command: Command, id: unknown): Promise<number> {
  const flags = command.opts<{ interval: string; stats?: boolean }>();
  const globals = globalsOf(command);
  const intervalNs = parseGoDuration(flags.interval);
  await streamEvents(globals.root, String(id), {
    // Sub-millisecond intervals are valid Go durations; timers here count milliseconds.
    intervalMs: intervalNs > 0 ? Math.max(1, intervalNs / 1e6) : intervalNs,
    statsOnly: flags.stats === true,
    write: (line) => process.stdout.write(line),
    logger: globals.logger,
  });
  return 0;
}
