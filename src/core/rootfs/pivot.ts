/**
 * Make the rootfs the container's /. pivot_root detaches the host's tree entirely;
 * `--no-pivot` moves the rootfs over / and chroots, for filesystems pivot_root cannot leave
 * (a ramfs root), at the price of the host's tree staying reachable to a process that escapes
 * the chroot. From here on paths are plain: / is the container's.
 */
import { MS_PRIVATE, MS_SLAVE } from '../spec/linux.js';
import { sysStep } from '../sys/failure.js';
import { Resolve } from '../sys/sys.js';
import type { RootfsState } from './context.js';
import { rootPropagation } from './prepare.js';

export async function enterRoot(state: RootfsState): Promise<void> {
  const { sys, rootfs } = state;
  if (state.ctx.noPivot) {
    await sysStep(`move the rootfs ${rootfs} onto / and chroot`, sys.chrootMove(rootfs));
  } else {
    await sysStep(`pivot_root ${rootfs}`, sys.pivotRoot(rootfs));
  }

  // A shared or unbindable root propagation can only be set on the new / itself: set on the
  // rootfs before the pivot, it would have joined the host's peer group. Private and slave
  // were set in step 1 already.
  const propagation = rootPropagation(state.spec.linux?.rootfsPropagation);
  if (state.spec.linux?.rootfsPropagation && (propagation & (MS_PRIVATE | MS_SLAVE)) === 0) {
    await sysStep('set the propagation of /',
      sys.mount('', '/', '', propagation, '', Resolve.Plain));
  }
}
