/**
 * The read-only remounts that had to wait until everything was created: tmpfs mounts and /dev
 * asked to be "ro" (they were mounted writable for the devices and mount points made in
 * them), then root.readonly.
 */
import { MS_BIND, MS_RDONLY, MS_REMOUNT } from '../spec/linux.js';
import { parseMountOptions } from '../spec/mount-options.js';
import { sysStep } from '../sys/failure.js';
import { Resolve } from '../sys/sys.js';
import { type RootfsState, cleanPath, flagsAt } from './context.js';
import { LOCKABLE_FLAGS } from './host.js';

export async function remountReadonly(state: RootfsState): Promise<void> {
  const { sys } = state;
  for (const m of state.spec.mounts ?? []) {
    const dest = cleanPath(m.destination);
    const flags = parseMountOptions(m.options ?? []).flags;
    if ((flags & MS_RDONLY) === 0 || (m.type !== 'tmpfs' && dest !== '/dev')) continue;
    await sysStep(`remount ${dest} read-only`,
      sys.mount('', dest, '', flags | MS_BIND | MS_REMOUNT | MS_RDONLY, '', Resolve.Plain));
  }

  if (state.spec.root?.readonly) {
    // In a user namespace the rootfs bind keeps the host mount's locked flags (nodev, ...);
    // a remount without them is refused.
    const keep = state.userns ? flagsAt(state, '/') & LOCKABLE_FLAGS : 0;
    const flags = keep | MS_BIND | MS_REMOUNT | MS_RDONLY;
    await sysStep('remount / read-only', sys.mount('', '/', '', flags, '', Resolve.Plain));
  }
}
