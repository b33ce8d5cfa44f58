import { HakoError } from '../errors.js';
import type { Hook } from '../spec/types.js';
import { type Sys, SysError } from '../sys/sys.js';

/**
 * Runs the hooks the runtime-spec places in the container's namespaces (createContainer,
 * startContainer) through the agent, one after the other, each with `state` as JSON on stdin.
 * The first that fails, or outlives its `timeout`, rejects with a HakoError naming it the way
 * runHooks names a host hook: `createContainer hook /x: timed out after 2 s`.
 */
export async function runHooksInContainer(
  sys: Sys,
  hooks: Hook[] | undefined,
  state: object,
  kind: string,
): Promise<void> {
  const input = JSON.stringify(state);
  for (const hook of hooks ?? []) {
    const what = `${kind} hook ${hook.path}`;
    const timeout = hook.timeout !== undefined && hook.timeout > 0 ? hook.timeout : 0;
    let result: { status: number; stderr: string };
    try {
      result = await sys.spawnWait(
        hook.path, hook.args ?? [hook.path], hook.env ?? [], input, timeout * 1000,
      );
    } catch (err) {
      // The agent reports a hook it killed at its deadline as ETIMEDOUT, whose errno text
      // ("connection timed out") would mislead.
      if (err instanceof SysError && err.code === 'ETIMEDOUT') {
        throw new HakoError(`${what}: timed out after ${timeout} s`);
      }
      if (err instanceof SysError) {
        throw new HakoError(`${what}: ${err.message.slice(err.operation.length + 2)}`);
      }
      throw err;
    }
    if (result.status !== 0) {
      const detail = result.stderr.trim().split('\n').pop() ?? '';
      throw new HakoError(
        `${what}: exited with status ${result.status}${detail ? `: ${detail}` : ''}`,
      );
    }
  }
}
