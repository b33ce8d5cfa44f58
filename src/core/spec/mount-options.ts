// Turns the option strings of a config.json mount into mount(2) flags, propagation changes,
// recursive mount_setattr(2) attributes and filesystem data, with the vocabulary runc accepts.

import {
  MOUNT_ATTR__ATIME, MOUNT_ATTR_NOATIME, MOUNT_ATTR_NODEV, MOUNT_ATTR_NODIRATIME,
  MOUNT_ATTR_NOEXEC, MOUNT_ATTR_NOSUID, MOUNT_ATTR_NOSYMFOLLOW, MOUNT_ATTR_RDONLY,
  MOUNT_ATTR_RELATIME, MOUNT_ATTR_STRICTATIME, MS_BIND, MS_DIRSYNC, MS_I_VERSION, MS_LAZYTIME,
  MS_MANDLOCK, MS_NOATIME, MS_NODEV, MS_NODIRATIME, MS_NOEXEC, MS_NOSUID, MS_NOSYMFOLLOW,
  MS_PRIVATE, MS_RDONLY, MS_REC, MS_RELATIME, MS_REMOUNT, MS_SHARED, MS_SILENT, MS_SLAVE,
  MS_STRICTATIME, MS_SYNCHRONOUS, MS_UNBINDABLE,
} from './linux.js';

export interface MountOptions {
  /** MS_* flags to pass to mount(2). */
  flags: number;
  /** MS_* flags the options explicitly turned off ("rw", "suid", ...), for remounts. */
  clearFlags: number;
  /** MS_PRIVATE, MS_SHARED, ... (with MS_REC for the r* forms), applied in order after mount. */
  propagation: number[];
  /** Filesystem-specific options, in order; the caller joins them with ','. */
  data: string[];
  /** Recursive attributes for mount_setattr(2) with AT_RECURSIVE; both 0 when none given. */
  recursiveAttrs: { attrSet: number; attrClr: number };
  /** MS_BIND is set ("bind" or "rbind"). */
  bind: boolean;
  /** MS_REC is set ("rbind"). */
  recursive: boolean;
  extensions: MountExtensions;
}

export interface MountExtensions {
  /** Copy the existing contents of the destination into the new tmpfs. */
  tmpcopyup: boolean;
  /** ID-map the mount (MOUNT_ATTR_IDMAP) with the mount's or the container's mappings. */
  idmap: boolean;
  /** As idmap, on every mount of the subtree. */
  ridmap: boolean;
}

interface FlagOption {
  clear: boolean;
  flag: number;
}

const FLAG_OPTIONS: ReadonlyMap<string, FlagOption> = new Map([
  ['ro', { clear: false, flag: MS_RDONLY }],
  ['rw', { clear: true, flag: MS_RDONLY }],
  ['nosuid', { clear: false, flag: MS_NOSUID }],
  ['suid', { clear: true, flag: MS_NOSUID }],
  ['nodev', { clear: false, flag: MS_NODEV }],
  ['dev', { clear: true, flag: MS_NODEV }],
  ['noexec', { clear: false, flag: MS_NOEXEC }],
  ['exec', { clear: true, flag: MS_NOEXEC }],
  ['sync', { clear: false, flag: MS_SYNCHRONOUS }],
  ['async', { clear: true, flag: MS_SYNCHRONOUS }],
  ['dirsync', { clear: false, flag: MS_DIRSYNC }],
  ['remount', { clear: false, flag: MS_REMOUNT }],
  ['mand', { clear: false, flag: MS_MANDLOCK }],
  ['nomand', { clear: true, flag: MS_MANDLOCK }],
  ['noatime', { clear: false, flag: MS_NOATIME }],
  ['atime', { clear: true, flag: MS_NOATIME }],
  ['nodiratime', { clear: false, flag: MS_NODIRATIME }],
  ['diratime', { clear: true, flag: MS_NODIRATIME }],
  ['bind', { clear: false, flag: MS_BIND }],
  ['rbind', { clear: false, flag: MS_BIND | MS_REC }],
  ['relatime', { clear: false, flag: MS_RELATIME }],
  ['norelatime', { clear: true, flag: MS_RELATIME }],
  ['strictatime', { clear: false, flag: MS_STRICTATIME }],
  ['nostrictatime', { clear: true, flag: MS_STRICTATIME }],
  ['lazytime', { clear: false, flag: MS_LAZYTIME }],
  ['nolazytime', { clear: true, flag: MS_LAZYTIME }],
  ['silent', { clear: false, flag: MS_SILENT }],
  ['loud', { clear: true, flag: MS_SILENT }],
  ['iversion', { clear: false, flag: MS_I_VERSION }],
  ['noiversion', { clear: true, flag: MS_I_VERSION }],
  ['nosymfollow', { clear: false, flag: MS_NOSYMFOLLOW }],
  ['symfollow', { clear: true, flag: MS_NOSYMFOLLOW }],
]);

const PROPAGATION_OPTIONS: ReadonlyMap<string, number> = new Map([
  ['private', MS_PRIVATE],
  ['rprivate', MS_PRIVATE | MS_REC],
  ['shared', MS_SHARED],
  ['rshared', MS_SHARED | MS_REC],
  ['slave', MS_SLAVE],
  ['rslave', MS_SLAVE | MS_REC],
  ['unbindable', MS_UNBINDABLE],
  ['runbindable', MS_UNBINDABLE | MS_REC],
]);

const RECURSIVE_ATTR_OPTIONS: ReadonlyMap<string, FlagOption> = new Map([
  ['rro', { clear: false, flag: MOUNT_ATTR_RDONLY }],
  ['rrw', { clear: true, flag: MOUNT_ATTR_RDONLY }],
  ['rnosuid', { clear: false, flag: MOUNT_ATTR_NOSUID }],
  ['rsuid', { clear: true, flag: MOUNT_ATTR_NOSUID }],
  ['rnodev', { clear: false, flag: MOUNT_ATTR_NODEV }],
  ['rdev', { clear: true, flag: MOUNT_ATTR_NODEV }],
  ['rnoexec', { clear: false, flag: MOUNT_ATTR_NOEXEC }],
  ['rexec', { clear: true, flag: MOUNT_ATTR_NOEXEC }],
  ['rnodiratime', { clear: false, flag: MOUNT_ATTR_NODIRATIME }],
  ['rdiratime', { clear: true, flag: MOUNT_ATTR_NODIRATIME }],
  ['rrelatime', { clear: false, flag: MOUNT_ATTR_RELATIME }],
  ['rnorelatime', { clear: true, flag: MOUNT_ATTR_RELATIME }],
  ['rnoatime', { clear: false, flag: MOUNT_ATTR_NOATIME }],
  ['ratime', { clear: true, flag: MOUNT_ATTR_NOATIME }],
  ['rstrictatime', { clear: false, flag: MOUNT_ATTR_STRICTATIME }],
  ['rnostrictatime', { clear: true, flag: MOUNT_ATTR_STRICTATIME }],
  ['rnosymfollow', { clear: false, flag: MOUNT_ATTR_NOSYMFOLLOW }],
  ['rsymfollow', { clear: true, flag: MOUNT_ATTR_NOSYMFOLLOW }],
]);

/** Whether a mount option is one hako interprets itself (as opposed to filesystem data). */
export function isKnownMountOption(option: string): boolean {
  return FLAG_OPTIONS.has(option) || PROPAGATION_OPTIONS.has(option)
    || RECURSIVE_ATTR_OPTIONS.has(option) || option === 'defaults'
    || option === 'tmpcopyup' || option === 'notmpcopyup' || option === 'idmap'
    || option === 'ridmap';
}

/** Later options override earlier ones ("ro" then "rw" leaves the mount writable). */
export function parseMountOptions(options: readonly string[]): MountOptions {
  const result: MountOptions = {
    flags: 0,
    clearFlags: 0,
    propagation: [],
    data: [],
    recursiveAttrs: { attrSet: 0, attrClr: 0 },
    bind: false,
    recursive: false,
    extensions: { tmpcopyup: false, idmap: false, ridmap: false },
  };

  for (const option of options) {
    const flag = FLAG_OPTIONS.get(option);
    const propagation = PROPAGATION_OPTIONS.get(option);
    const attr = RECURSIVE_ATTR_OPTIONS.get(option);
    if (flag) {
      applyFlag(result, flag);
    } else if (propagation !== undefined) {
      result.propagation.push(propagation);
    } else if (attr) {
      applyRecursiveAttr(result.recursiveAttrs, attr);
    } else if (option === 'tmpcopyup' || option === 'idmap' || option === 'ridmap') {
      result.extensions[option] = true;
    } else if (option === 'notmpcopyup') {
      result.extensions.tmpcopyup = false;
    } else if (option !== 'defaults') {
      // mount(8) treats "defaults" as "no change"; passing it on as data makes most
      // filesystems fail with EINVAL, so it is dropped here.
      result.data.push(option);
    }
  }

  result.bind = (result.flags & MS_BIND) !== 0;
  result.recursive = (result.flags & MS_REC) !== 0;
  return result;
}

function applyFlag(result: MountOptions, option: FlagOption): void {
  if (option.clear) {
    result.flags &= ~option.flag;
    result.clearFlags |= option.flag;
  } else {
    result.flags |= option.flag;
    result.clearFlags &= ~option.flag;
  }
}

function applyRecursiveAttr(attrs: { attrSet: number; attrClr: number }, option: FlagOption): void {
  if (option.clear) {
    attrs.attrClr |= option.flag;
    attrs.attrSet &= ~option.flag;
    return;
  }
  attrs.attrSet |= option.flag;
  attrs.attrClr &= ~option.flag;
  // The access-time setting is a 3-bit field, not a set of bits: mount_setattr(2) requires
  // MOUNT_ATTR__ATIME in attr_clr whenever attr_set chooses one of its values.
  if ((option.flag & MOUNT_ATTR__ATIME) === option.flag) attrs.attrClr |= MOUNT_ATTR__ATIME;
}
