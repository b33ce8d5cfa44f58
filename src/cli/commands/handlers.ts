/**
 * `hako handlers`: the handlers this installation can run a workload with, built-in ones
 * and plugins, with where each came from. Loading the plugins imports them (in a separate
 * Node process), so a broken plugin or two plugins with one name fail here as in `create`.
 */
import type { Command } from 'commander';

import { builtinHandlers } from '../../core/lifecycle/features.js';
import { BUILTIN_NAMES } from '../../core/lifecycle/handler.js';
import { enginePath } from '../../core/engine/path.js';
import { HakoError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { loadPlugins } from '../../core/plugins/registry.js';
import { globalsOf } from '../globals.js';

export interface HandlerRow {
  name: string;
  kind: 'built-in' | 'plugin';
  /** The plugin's module file, or "hako" for a built-in handler. */
  source: string;
  /** Which setting named the plugin (--plugin-path, HAKO_PLUGIN_PATH, the config file). */
  from?: string;
}

export function handlerRows(pluginPath: string | undefined, logger: Logger): HandlerRow[] {
  const rows: HandlerRow[] = builtinHandlers(process.env.PATH)
    .map((name) => ({ name, kind: 'built-in', source: 'hako' }));
  const plugins = loadPlugins({
    builtins: BUILTIN_NAMES, engine: enginePath(), flag: pluginPath,
    warn: (message) => logger.warn(message),
  });
  for (const plugin of plugins) {
    rows.push({ name: plugin.name, kind: 'plugin', source: plugin.path, from: plugin.from });
  }
  return rows;
}

export async function handlersCommand(command: Command): Promise<number> {
  const { format } = command.opts<{ format: string }>();
  if (format !== 'table' && format !== 'json') {
    throw new HakoError(`handlers: --format: must be table or json (got "${format}")`);
  }
  const { pluginPath, logger } = globalsOf(command);
  const rows = handlerRows(pluginPath, logger);
  if (format === 'json') {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return 0;
  }
  const width = Math.max(4, ...rows.map((row) => row.name.length)) + 2;
  const lines = [`${'NAME'.padEnd(width)}${'KIND'.padEnd(10)}SOURCE`];
  for (const row of rows) {
    const from = row.from ? ` (${row.from})` : '';
    lines.push(`${row.name.padEnd(width)}${row.kind.padEnd(10)}${row.source}${from}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
