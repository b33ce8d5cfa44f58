/** hako's cgroup manager: cgroupfs for v1, hybrid and v2 hierarchies. */
export { createCgroup, updateResources } from './create.js';
export {
  containerDirs, freeze, frozenLine, isFrozen, joinCgroup, joinCgroupInBackground, killAll,
  listPids, thaw,
} from './control.js';
export { cpuMax, cpuSharesToWeight, blkioWeightToIoWeight, memorySwapToV2 } from './convert.js';
export { CgroupFileError } from './files.js';
export { detectLayout } from './layout.js';
export { parseCgroupsPath, parseProcCgroup, resolveCgroupDirs } from './paths.js';
export type { CgroupDirs, CgroupsPath, ProcCgroup } from './paths.js';
export { primeCgroupMoves } from './prime.js';
export { removalOrder, removeCgroup } from './remove.js';
export { stats } from './stats.js';
export type * from './stats-types.js';
export type { CgroupHandle, CgroupKind, CgroupLayout, CgroupLog, CgroupOptions } from './types.js';
