/** process.rlimits, set in the container's init so the workload inherits them. */
import { HakoError } from '../errors.js';
import { RLIMITS, rlimitValue } from '../spec/linux.js';
import type { POSIXRlimit } from '../spec/types.js';
import { sysStep } from '../sys/failure.js';
import type { Sys } from '../sys/sys.js';

export async function setRlimits(sys: Sys, rlimits: readonly POSIXRlimit[]): Promise<void> {
  for (const { type, soft, hard } of rlimits) {
    const resource = RLIMITS[type];
    if (resource === undefined) {
      throw new HakoError(`config.json: process.rlimits: unknown type "${type}"`);
    }
    // Raising a hard limit needs CAP_SYS_RESOURCE: the EPERM then names the limit asked for.
    await sysStep(`setrlimit ${type} (soft ${soft}, hard ${hard})`,
      sys.setrlimit(resource, rlimitValue(soft), rlimitValue(hard)));
  }
}
