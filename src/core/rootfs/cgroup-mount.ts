/**
 * A `cgroup` mount. On a cgroup2 host it is a cgroup2 mount. On a v1 (or hybrid) host it is a
 * tmpfs holding one directory per hierarchy: a fresh cgroup mount of that hierarchy when the
 * container has a cgroup namespace (which makes its own cgroup the root), otherwise a bind of
 * the container's own directory in it, so the container never sees its siblings.
 */
import { basename, posix } from 'node:path';

import { detectLayout } from '../cgroups/layout.js';
import type { CgroupLayout } from '../cgroups/types.js';
import { MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_REC } from '../spec/linux.js';
import { sysStep } from '../sys/failure.js';
import { Resolve } from '../sys/sys.js';
import { type RootfsState, hasNamespace } from './context.js';
import { type MountPlan, mountBind, mountFilesystem } from './mount-one.js';

const DEFAULT_FLAGS = MS_NOEXEC | MS_NOSUID | MS_NODEV;

export async function mountCgroup(state: RootfsState, plan: MountPlan): Promise<void> {
  const layout = state.ctx.cgroupLayout ?? detectLayout();
  const kind = state.ctx.cgroup?.kind ?? layout.kind;
  if (kind === 'v2') return mountCgroup2(state, plan, layout);
  return mountCgroup1(state, plan, layout);
}

async function mountCgroup2(state: RootfsState, plan: MountPlan, layout: CgroupLayout) {
  const cgroupns = hasNamespace(state.spec, 'cgroup');
  if (hasNamespace(state.spec, 'user') && !cgroupns) {
    // A user namespace may mount cgroup2 only inside a cgroup namespace it owns; without one
    // the host's hierarchy is bound, as runc falls back to.
    const source = layout.v2 ?? '/sys/fs/cgroup';
    return mountBind(state, {
      ...plan, label: `mount ${source} on ${plan.destination}`, source, fstype: 'bind',
      flags: plan.flags | MS_BIND, data: '',
    });
  }
  return mountFilesystem(state, { ...plan, source: plan.source || 'cgroup', fstype: 'cgroup2' });
}

async function mountCgroup1(state: RootfsState, plan: MountPlan, layout: CgroupLayout) {
  const { sys } = state;
  const cgroupns = hasNamespace(state.spec, 'cgroup');
  await mountFilesystem(state, {
    ...plan, label: `mount tmpfs on ${plan.destination}`, source: 'tmpfs', fstype: 'tmpfs',
    flags: DEFAULT_FLAGS, clearFlags: 0, data: 'mode=755',
  });

  const names: string[] = [];
  for (const [mountPoint, controllers] of hierarchies(layout)) {
    const name = basename(mountPoint);
    const dest = posix.join(plan.destination, name);
    if (cgroupns) {
      const label = `mount cgroup on ${dest}`;
      await sysStep(`${label}: create the mount point`, sys.mkdirAll(dest, 0o755, Resolve.InRoot));
      const flags = DEFAULT_FLAGS | (plan.flags & MS_RDONLY);
      await sysStep(label,
        sys.mount('cgroup', dest, 'cgroup', flags, controllers.join(','), Resolve.InRoot));
      state.mounted.push({ destination: dest, flags });
    } else {
      const source = controllers.map((c) => state.ctx.cgroup?.v1[c]).find((dir) => dir);
      if (!source) {
        state.ctx.logger?.debug(`${plan.label}: the container has no cgroup in ${mountPoint}`);
        continue;
      }
      await mountBind(state, {
        ...plan, label: `mount ${source} on ${dest}`, source, destination: dest,
        fstype: 'bind', flags: plan.flags | MS_BIND | MS_REC, data: '',
      });
    }
    names.push(name);
  }

  // Programs look for "cpu" and "cpuacct" even where the two share one hierarchy.
  for (const name of names.filter((n) => n.includes(','))) {
    for (const part of name.split(',')) {
      const link = posix.join(plan.destination, part);
      await sysStep(`symlink ${link} -> ${name}`, sys.symlink(name, link, Resolve.InRoot));
    }
  }
}

/** Host mount point → the controllers mounted there, in mountinfo order. */
function hierarchies(layout: CgroupLayout): Map<string, string[]> {
  const byMountPoint = new Map<string, string[]>();
  for (const [controller, mountPoint] of layout.v1) {
    const list = byMountPoint.get(mountPoint) ?? [];
    list.push(controller);
    byMountPoint.set(mountPoint, list);
  }
  return byMountPoint;
}
