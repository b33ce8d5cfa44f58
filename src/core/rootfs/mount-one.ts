/**
 * One mount inside the rootfs, as runc performs it: the mount point is created beneath the
 * root, the filesystem (or bind) is mounted there, a bind gets a second MS_REMOUNT pass for
 * its flags, and each propagation change is a mount call of its own.
 */
import { HakoError } from '../errors.js';
import { MS_BIND, MS_RDONLY, MS_REC, MS_REMOUNT } from '../spec/linux.js';
import { nodeErrorDescription, sysStep } from '../sys/failure.js';
import { Resolve } from '../sys/sys.js';
import { type RootfsState, isWithin, octal } from './context.js';
import { ATIME_FLAGS, LOCKABLE_FLAGS } from './host.js';

/** A mount ready to perform. */
export interface MountPlan {
  /** Names the mount in errors: `mount proc on /proc`. */
  label: string;
  source: string;
  /** Absolute and clean, inside the container. */
  destination: string;
  fstype: string;
  /** MS_* flags to set; MS_BIND (and MS_REC) included for a bind. */
  flags: number;
  /** MS_* flags the options turned off explicitly ("rw", "suid"). */
  clearFlags: number;
  propagation: number[];
  data: string;
  /** tmpcopyup: the new tmpfs starts with the files of the directory it covers. */
  copyUp?: boolean;
}

// Mounts over /proc could hide what masked paths protect; runc allows only these files,
// which lxcfs emulates.
const PROC_FILES_ALLOWED = new Set([
  '/proc/cpuinfo', '/proc/diskstats', '/proc/meminfo', '/proc/stat', '/proc/swaps',
  '/proc/uptime', '/proc/loadavg', '/proc/slabinfo', '/proc/sys/kernel/ns_last_pid',
  '/proc/sys/crypto/fips_enabled',
]);

/** A filesystem of its own: proc, sysfs, tmpfs, devpts, mqueue, cgroup2 ... */
export async function mountFilesystem(state: RootfsState, plan: MountPlan): Promise<void> {
  const { sys } = state;
  const dest = plan.destination;
  checkProcMount(state, plan, false);

  let data = plan.data;
  let copyUp = false;
  if (plan.fstype === 'tmpfs') {
    // A tmpfs over an existing directory keeps that directory's mode unless told otherwise.
    const existing = await sysStep(`${plan.label}: stat the mount point`,
      sys.stat(dest, Resolve.InRoot));
    if (existing) data = [`mode=${octal(existing.mode)}`, ...(data ? [data] : [])].join(',');
    else await makeMountPoint(state, plan, 'directory');
    copyUp = plan.copyUp === true && existing !== null;
  } else {
    await makeMountPoint(state, plan, 'directory');
  }

  // Files are still to be made in /dev and other tmpfs mounts: they go read-only at the end.
  let flags = plan.flags;
  if (plan.fstype === 'tmpfs' || dest === '/dev') flags &= ~MS_RDONLY;

  const mounting = copyUp
    ? sys.tmpfsCopyUp(dest, flags, data, Resolve.InRoot)
    : sys.mount(plan.source, dest, plan.fstype, flags, data, Resolve.InRoot);
  await sysStep(plan.label, mounting);
  await setPropagation(state, plan);
  state.mounted.push({ destination: dest, flags: plan.flags & LOCKABLE_FLAGS });
}

/** A bind mount of a host path (a file or a directory) into the container. */
export async function mountBind(state: RootfsState, plan: MountPlan): Promise<void> {
  const { sys } = state;
  const dest = plan.destination;
  checkProcMount(state, plan, true);

  let type: 'directory' | 'other';
  try {
    type = state.host.fileType(plan.source);
  } catch (err) {
    throw new HakoError(`${plan.label}: stat ${plan.source}: ${nodeErrorDescription(err)}`);
  }
  await makeMountPoint(state, plan, type === 'directory' ? 'directory' : 'file');
  await sysStep(plan.label, sys.mount(plan.source, dest, 'bind', plan.flags, '', Resolve.InRoot));

  // MS_BIND ignores every other flag: "ro", "nosuid"... take effect in a remount.
  const sourceFlags = state.host.mountOf(plan.source).flags & LOCKABLE_FLAGS;
  let flags = sourceFlags;
  if ((plan.flags & ~(MS_BIND | MS_REC | MS_REMOUNT)) !== 0 || plan.clearFlags !== 0) {
    flags = plan.flags | MS_BIND | MS_REMOUNT | lockedFlags(state, plan, sourceFlags);
    await sysStep(`${plan.label}: remount`, sys.mount('', dest, '', flags, '', Resolve.InRoot));
  }

  await setPropagation(state, plan);
  state.mounted.push({ destination: dest, flags: flags & LOCKABLE_FLAGS });
}

/**
 * The flags of the source's mount that a remount must keep. A mount inherited from the host
 * into a user namespace has them locked: a remount that would drop one fails with EPERM, so
 * they are kept unless the options cleared them on purpose (and then EPERM is the answer).
 */
function lockedFlags(state: RootfsState, plan: MountPlan, sourceFlags: number): number {
  if (!state.userns) return 0;
  let keep = sourceFlags & ~plan.clearFlags;
  if (plan.flags & ATIME_FLAGS) keep &= ~ATIME_FLAGS;
  return keep;
}

async function makeMountPoint(
  state: RootfsState,
  plan: MountPlan,
  kind: 'directory' | 'file',
): Promise<void> {
  const call = kind === 'directory'
    ? state.sys.mkdirAll(plan.destination, 0o755, Resolve.InRoot)
    : state.sys.createFile(plan.destination, 0o644, Resolve.InRoot);
  await sysStep(`${plan.label}: create the mount point`, call);
}

async function setPropagation(state: RootfsState, plan: MountPlan): Promise<void> {
  for (const flags of plan.propagation) {
    await sysStep(`${plan.label}: set propagation`,
      state.sys.mount('', plan.destination, '', flags, '', Resolve.InRoot));
  }
}

function checkProcMount(state: RootfsState, plan: MountPlan, bind: boolean): void {
  const dest = plan.destination;
  if (!isWithin(dest, '/proc') || PROC_FILES_ALLOWED.has(dest)) return;
  if (dest === '/proc') {
    if (!bind && plan.fstype === 'proc') return;
    if (bind && state.host.mountOf(plan.source).fstype === 'proc') return;
    throw new HakoError(`${plan.label}: "/proc" cannot be mounted because it is not of type proc`);
  }
  throw new HakoError(`${plan.label}: "${dest}" cannot be mounted because it is inside /proc`);
}
