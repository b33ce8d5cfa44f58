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
 *
 * Steps 1 to 6 (`mountRootfs`) and 7 to 9 (`enterRootfs`) can run in two processes: a
 * handler that runs JavaScript in the sandbox has the agent do the first half, then the
 * engine it execs does the second half itself, once it has read what it needs from the host.
 * What passes between the two is a `RootfsHandoff`, plain data.
 */
import { resolve } from 'node:path';

import { HakoError } from '../errors.js';
import type { Spec } from '../spec/types.js';
import { nodeErrorDescription, sysStep } from '../sys/failure.js';
import { Resolve, type Sys } from '../sys/sys.js';
import {
  type MountedPath, type RootfsContext, type RootfsState, cleanPath, hasNamespace,
} from './context.js';
import { createDevices } from './devices.js';
import { nodeHost } from './host.js';
import { checkHostname, setHostname } from './hostname.js';
import { makeReadonlyPaths, maskPaths } from './masked.js';
import { mountAll } from './mounts.js';
import { enterRoot } from './pivot.js';
import { prepareRoot } from './prepare.js';
import { remountReadonly } from './readonly.js';
import { writeSysctls } from './sysctl.js';

export type { MountedPath, RootfsContext } from './context.js';
export type { HostMount, HostView } from './host.js';

export async function setupRootfs(sys: Sys, spec: Spec, ctx: RootfsContext): Promise<void> {
  const state = initialState(sys, spec, ctx);
  await mountBeforePivot(state);
  await enterAfterMounts(state);
}

/** What the steps after pivot_root need from the steps before it. */
export interface RootfsHandoff {
  /** The rootfs as an absolute host path with symlinks resolved. */
  rootfs: string;
  userns: boolean;
  noPivot: boolean;
  /** The mounts made so far and their flags (read-only remounts keep some of them). */
  mounted: MountedPath[];
}

/** Steps 1 to 6: everything up to pivot_root, which is left to the caller. */
export async function mountRootfs(
  sys: Sys,
  spec: Spec,
  ctx: RootfsContext,
): Promise<RootfsHandoff> {
  const state = initialState(sys, spec, ctx);
  await mountBeforePivot(state);
  const { rootfs, userns, mounted } = state;
  return { rootfs, userns, noPivot: ctx.noPivot === true, mounted: [...mounted] };
}

/** Steps 7 to 9, in the process that will run the workload, after `mountRootfs`. */
export async function enterRootfs(
  sys: Sys,
  spec: Spec,
  handoff: RootfsHandoff,
  logger?: RootfsContext['logger'],
): Promise<void> {
  await enterAfterMounts({
    sys,
    spec,
    ctx: { bundle: '', noPivot: handoff.noPivot, logger },
    host: nodeHost,
    rootfs: handoff.rootfs,
    userns: handoff.userns,
    mounted: [...handoff.mounted],
  });
}

async function mountBeforePivot(state: RootfsState): Promise<void> {
  const { sys, spec, ctx } = state;
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
}

async function enterAfterMounts(state: RootfsState): Promise<void> {
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
