import { HakoError } from '../errors.js';
import type { CgroupStats } from './stats-types.js';
import { statsV1 } from './stats-v1.js';
import { statsV2 } from './stats-v2.js';
import type { CgroupHandle } from './types.js';

/**
 * The container's resource usage in the shape of `runc events --stats` data, from whatever
 * files this kernel and hierarchy provide (missing ones read as zero or are omitted).
 */
export function stats(handle: CgroupHandle): CgroupStats {
  if (handle.kind === 'v2' && handle.v2 === undefined) {
    throw new HakoError('cgroups: the v2 handle names no directory');
  }
  const controllers = handle.kind === 'v2' ? statsV2(handle.v2 as string) : statsV1(handle.v1);
  return { ...controllers, intel_rdt: {}, network_interfaces: null };
}
