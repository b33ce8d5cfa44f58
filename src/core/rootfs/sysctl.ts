/**
 * `linux.sysctl`, written through the container's own /proc (mounted with the spec's mounts) while
 * the rootfs is still reached beneath its root, so a key names a file of the container's
 * namespaces, never the host's.
 */
import { sysStep } from '../sys/failure.js';
import { Resolve } from '../sys/sys.js';
import type { RootfsState } from './context.js';

export async function writeSysctls(state: RootfsState): Promise<void> {
  for (const [key, value] of Object.entries(state.spec.linux?.sysctl ?? {})) {
    const path = `/proc/sys/${key.replaceAll('.', '/')}`;
    await sysStep(`sysctl ${key}=${value}: write ${path}`,
      state.sys.writeFile(path, value, Resolve.InRoot));
  }
}
