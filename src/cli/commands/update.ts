import { readFileSync } from 'node:fs';

import type { Command } from 'commander';

import { HakoError } from '../../core/errors.js';
import { updateContainer } from '../../core/lifecycle/update.js';
import {
  parseResourcesJson, resourcesFromFlags, type UpdateFlags,
} from '../../core/lifecycle/update-resources.js';
import type { LinuxResources } from '../../core/spec/types.js';
import { globalsOf } from '../globals.js';

export async function updateCommand(command: Command, id: unknown): Promise<number> {
  const flags = command.opts<UpdateFlags & { resources?: string }>();
  const globals = globalsOf(command);
  await updateContainer(globals.root, String(id), await requested(flags), globals.logger);
  return 0;
}

/** With --resources the document is all that counts; runc ignores the other flags then. */
async function requested(flags: UpdateFlags & { resources?: string }): Promise<LinuxResources> {
  const source = flags.resources;
  if (source === undefined || source === '') return resourcesFromFlags(flags);
  const name = source === '-' ? 'standard input' : source;
  let text: string;
  try {
    text = source === '-' ? await readStdin() : readFileSync(source, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new HakoError(`update: read ${name}: ${code}`);
  }
  return parseResourcesJson(name, text);
}

/** Through the stream, not readFileSync(0): a non-blocking stdin would fail with EAGAIN. */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks).toString('utf8');
}
