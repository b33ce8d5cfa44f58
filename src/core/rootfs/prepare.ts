/**
 * Cut the container's mount namespace off from the host's and make the rootfs a mount
 * point of its own, the directory every later in-root path resolves beneath.
 */
import { HakoError } from '../errors.js';
import { MS_BIND, MS_PRIVATE, MS_REC, MS_SHARED, MS_SLAVE } from '../spec/linux.js';
import { parseMountOptions } from '../spec/mount-options.js';
import { sysStep } from '../sys/failure.js';
import { Resolve } from '../sys/sys.js';
import { LOCKABLE_FLAGS } from './host.js';
import type { RootfsState } from './context.js';

/** linux.rootfsPropagation as MS_* flags; rslave when the spec says nothing. */
export function rootPropagation(value: string | undefined): number {
  if (!value) return MS_SLAVE | MS_REC;
  const flags = parseMountOptions([value]).propagation;
  if (flags.length !== 1) {
    throw new HakoError(`config.json: linux.rootfsPropagation: unknown value "${value}"`);
  }
  return flags[0];
}

export async function prepareRoot(state: RootfsState): Promise<void> {
  const { sys, rootfs } = state;
  const propagation = rootPropagation(state.spec.linux?.rootfsPropagation);

  // Nothing mounted from here on may reach the host: rslave still lets the host's own mount
  // changes in (a disk plugged in later), but not the other way.
  await sysStep(
    `make / ${propagationName(propagation)}`,
    sys.mount('', '/', '', propagation, '', Resolve.Plain),
  );

  // pivot_root refuses a rootfs whose parent mount is shared, and a bind under a shared
  // parent would appear on the host. With a non-recursive or shared root propagation the
  // parent can still be shared, so it is made private (or slave) on its own.
  const parent = state.host.mountOf(rootfs);
  const parentFlags = propagation & MS_SLAVE ? MS_SLAVE : MS_PRIVATE;
  await sysStep(
    `make ${parent.mountPoint} ${propagationName(parentFlags)}`,
    sys.mount('', parent.mountPoint, '', parentFlags, '', Resolve.Plain),
  );

  await sysStep(
    `bind the rootfs ${rootfs} onto itself`,
    sys.mount(rootfs, rootfs, 'bind', MS_BIND | MS_REC, '', Resolve.Plain),
  );
  await sysStep(`open the rootfs ${rootfs}`, sys.setRoot(rootfs));
  state.mounted.push({ destination: '/', flags: parent.flags & LOCKABLE_FLAGS });
}

function propagationName(flags: number): string {
  const recursive = flags & MS_REC ? 'r' : '';
  if (flags & MS_SLAVE) return `${recursive}slave`;
  if (flags & MS_PRIVATE) return `${recursive}private`;
  return `${recursive}${flags & MS_SHARED ? 'shared' : 'unbindable'}`;
}
