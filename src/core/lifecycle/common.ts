/** Pieces shared by the lifecycle commands. */
import { setTimeout as sleep } from 'node:timers/promises';

import { type CgroupHandle, removeCgroup } from '../cgroups/index.js';
import type { Logger } from '../log.js';
import { isAlive } from '../state/status.js';
import type { ContainerState } from '../state/store.js';
import type { ExecRequest } from '../sys/sys.js';

/** What `start` sends to the waiting init: kept in state.json by `create`. */
export interface ExecPlan {
  path: string;
  argv: string[];
  env: string[];
  closeFrom: number;
  /** The compiled filter, base64, when it is installed after the wait (noNewPrivileges). */
  seccomp?: { program: string; flags: number };
}

export function execPlanOf(state: ContainerState): ExecPlan {
  const handler = state.handler as { exec?: ExecPlan } | undefined;
  if (!handler?.exec) throw new Error(`state of container "${state.id}" has no process to start`);
  return handler.exec;
}

/** The EXEC request `start` sends for the plan. */
export function execRequestOf(plan: ExecPlan): ExecRequest {
  return {
    path: plan.path,
    argv: plan.argv,
    env: plan.env,
    closeFrom: plan.closeFrom,
    seccomp: plan.seccomp && {
      program: Buffer.from(plan.seccomp.program, 'base64'),
      flags: plan.seccomp.flags,
    },
  };
}

export function cgroupOf(state: ContainerState): CgroupHandle {
  return state.cgroup as unknown as CgroupHandle;
}

/** The state a hook reads on stdin: the runtime-spec's state object. */
export function hookState(state: ContainerState, status: string): object {
  return {
    ociVersion: state.ociVersion,
    id: state.id,
    status,
    pid: state.pid,
    bundle: state.bundle,
    annotations: state.annotations ?? {},
  };
}

/** SIGKILL and wait until the process is gone, at most `ms` milliseconds. */
export async function killAndWait(pid: number, startTime?: string, ms = 5000): Promise<void> {
  const alive = () => isAlive(pid, startTime || undefined);
  if (!alive()) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  const deadline = Date.now() + ms;
  for (let delay = 1; alive() && Date.now() < deadline; delay = Math.min(delay * 2, 50)) {
    await sleep(delay);
  }
}

export async function removeCgroupQuietly(cgroup: CgroupHandle, logger: Logger): Promise<void> {
  try {
    await removeCgroup(cgroup);
  } catch (err) {
    logger.warn(`remove cgroup: ${(err as Error).message}`);
  }
}
