import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import type { Command } from 'commander';

import { HakoError } from '../../core/errors.js';
import { nodeErrorDescription } from '../../core/sys/failure.js';
import { defaultSpec } from '../../core/spec/template.js';

export async function specCommand(command: Command): Promise<number> {
  const flags = command.opts<{ bundle: string; rootless?: boolean }>();
  const file = join(resolve(flags.bundle), 'config.json');
  if (existsSync(file)) throw new HakoError(`${file} exists: remove it first`);
  const spec = defaultSpec({ rootless: flags.rootless === true });
  try {
    writeFileSync(file, `${JSON.stringify(spec, null, '\t')}\n`, { mode: 0o666 });
  } catch (err) {
    throw new HakoError(`write ${file}: ${nodeErrorDescription(err)}`);
  }
  return 0;
}
