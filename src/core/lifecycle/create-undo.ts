/**
 * What a create that fails or is interrupted does: undo what it made, newest first, end the
 * hooks it is running, and say why when the kernel's OOM killer was the cause.
 */
import { constants as osConstants } from 'node:os';

import type { CgroupHandle } from '../cgroups/index.js';
import { HakoError } from '../errors.js';
import { killRunningHooks } from '../hooks/run.js';
import type { Logger } from '../log.js';
import type { Spec } from '../spec/types.js';
import { oomKills } from './events.js';

/** Undo steps, run newest first; a failing step is logged and the others still run. */
export class Undo {
  private readonly steps: (() => unknown)[] = [];

  constructor(private readonly logger: Logger) {}

  push(step: () => unknown): void {
    this.steps.push(step);
  }

  /** Each step runs once, even when a signal and a failure both ask for the undo. */
  async run(): Promise<void> {
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step();
      } catch (err) {
        this.logger.debug(`cleanup: ${(err as Error).message}`);
      }
    }
  }
}

/**
 * A memory limit too small for the container's setup gets the init OOM-killed mid-way, and
 * the step that was running only sees the agent vanish (a plain Error from the channel; what
 * hako words itself is a HakoError and says what it knows): say why instead.
 */
export function explainOomKill(err: unknown, cgroup: CgroupHandle, spec: Spec): unknown {
  if (err instanceof HakoError || !(err instanceof Error)) return err;
  let kills = 0;
  try {
    kills = oomKills(cgroup);
  } catch {
    return err;
  }
  if (kills === 0) return err;
  const limit = spec.linux?.resources?.memory?.limit;
  const what = limit === undefined ? 'the memory limit' : `linux.resources.memory.limit ${limit}`;
  return new HakoError(`the kernel's OOM killer ended the container's init during setup: ` +
    `${what} is too small (${err.message})`);
}

const INTERRUPTS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** Until disposed, a signal that would end hako runs `undo` first, then exits 128 + signal. */
export function undoOnSignals(undo: Undo): { dispose(): void } {
  const handler = (signal: NodeJS.Signals) => {
    for (const name of INTERRUPTS) process.removeListener(name, handler);
    killRunningHooks();
    void undo.run().finally(() => process.exit(128 + (osConstants.signals[signal] ?? 0)));
  };
  for (const name of INTERRUPTS) process.on(name, handler);
  return {
    dispose: () => {
      for (const name of INTERRUPTS) process.removeListener(name, handler);
    },
  };
}
