/**
 * The container's filesystem, set up through the Sys seam in runc's order:
 *   1. / made rslave (or linux.rootfsPropagation), the rootfs bound onto itself  prepare.ts
 *   2. the spec's mounts, in order                                  mounts.ts, cgroup-mount.ts
 *   3. device nodes and /dev symlinks, unless /dev is bound          devices.ts
 *   4. the hooks (createRuntime, prestart, createContainer), the cwd created
 *   5. linux.sysctl through the container's /proc                   sysctl.ts
 *   6. hostname and domainname                                      hostname.ts
 *   7. pivot_root (or MS_MOVE + chroot with --no-pivot)             pivot.ts
 *   8. read-only tmpfs and /dev, root.readonly                      readonly.ts
 *   9. readonlyPaths, then maskedPaths                              masked.ts
 * Before the pivot every container path is resolved beneath the rootfs (Resolve.InRoot), so a
 * symlink in the image cannot send a mount to the host.
 */
import { resolve } from 'node:path';

import { HakoError } from '../errors.js';
import type { Spec } from '../spec/types.js';
import { nodeErrorDescription, sysStep } from '../sys/failure.js';
import { Resolve, type Sys } from '../sys/sys.js';
import { type RootfsContext, type RootfsState, cleanPath, hasNamespace } from './context.js';
import { createDevices } from './devices.js';
import { nodeHost } from './host.js';
import { checkHostname, setHostname } from './hostname.js';
import { makeReadonlyPaths, maskPaths } from './masked.js';
import { mountAll } from './mounts.js';
import { enterRoot } from './pivot.js';
import { prepareRoot } from './prepare.js';
import { remountReadonly } from './readonly.js';
import { writeSysctls } from './sysctl.js';

export type { RootfsContext } from './context.js';
export type { HostMount, HostView } from './host.js';

export async function setupRootfs(sys: Sys, spec: Spec, ctx: RootfsContext): Promise<void> {
  const state = initialState(sys, spec, ctx);

  await prepareRoot(state);
  await mountAll(state);
  await createDevices(state);

  if (ctx.hooks) await ctx.hooks();
  // runc creates the working directory too: images often lack the one the config names.
  const cwd = spec.process?.cwd;
  if (cwd && cleanPath(cwd) !== '/') {
    await sysStep(`create the cwd ${cwd}`, sys.mkdirAll(cleanPath(cwd), 0o755, Resolve.InRoot));
  }
  await writeSysctls(state);
  await setHostname(sys, spec);

  await enterRoot(state);
  await remountReadonly(state);
  await makeReadonlyPaths(state);
  await maskPaths(state);
}

function initialState(sys: Sys, spec: Spec, ctx: RootfsContext): RootfsState {
  if (!hasNamespace(spec, 'mount')) {
    // Every mount below would land in the host's mount namespace.
    throw new HakoError('config.json: linux.namespaces: hako needs a mount namespace');
  }
  if (!spec.root?.path) throw new HakoError('config.json: root.path: is required');
  checkHostname(spec);

  const host = ctx.host ?? nodeHost;
  const path = resolve(ctx.bundle, spec.root.path);
  let rootfs: string;
  try {
    rootfs = host.realpath(path);
  } catch (err) {
    throw new HakoError(`rootfs ${path}: ${nodeErrorDescription(err)}`);
  }
  const userns = hasNamespace(spec, 'user') || host.inUserNamespace();
  return { sys, spec, ctx, host, rootfs, userns, mounted: [] };
}
