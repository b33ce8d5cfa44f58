/**
 * Names for pipelined agent requests. AgentSys resolves a request that returns nothing at
 * once and reports its failure later (see agent.ts); the caller's name for the step is kept
 * here so the later report reads like the immediate one would have.
 */
interface Deferred {
  label: string;
}

const deferredSteps = new WeakMap<Promise<unknown>, Deferred>();

/** Registers a pipelined request's promise with its default name. */
export function deferStep(call: Promise<unknown>, label: string): Deferred {
  const step = { label };
  deferredSteps.set(call, step);
  return step;
}

/** Names a pipelined step for the error message, should it fail. */
export function labelStep(call: Promise<unknown>, operation: string): void {
  const step = deferredSteps.get(call);
  if (step) step.label = operation;
}
