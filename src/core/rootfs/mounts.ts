/**
 * The spec's `mounts`, in order. Each entry is classified the way runc classifies it
 * (type "bind" or a bind option makes a bind, whatever the type says) and performed by
 * mount-one.ts; cgroup mounts have their own module.
 */
import { resolve } from 'node:path';

import { HakoError } from '../errors.js';
import { MS_BIND, MS_REC } from '../spec/linux.js';
import { type MountOptions, parseMountOptions } from '../spec/mount-options.js';
import type { Mount } from '../spec/types.js';
import { mountCgroup } from './cgroup-mount.js';
import { type RootfsState, cleanPath, hasNamespace } from './context.js';
import { type MountPlan, mountBind, mountFilesystem } from './mount-one.js';

export async function mountAll(state: RootfsState): Promise<void> {
  for (const m of state.spec.mounts ?? []) await mountEntry(state, m);
}

/** Whether the spec binds the host's /dev (or any directory) over the container's /dev. */
export function bindsDev(mounts: readonly Mount[]): boolean {
  return mounts.some((m) => cleanPath(m.destination) === '/dev' && isBind(m));
}

export function isBind(m: Mount): boolean {
  return m.type === 'bind' || parseMountOptions(m.options ?? []).bind;
}

async function mountEntry(state: RootfsState, m: Mount): Promise<void> {
  const options = parseMountOptions(m.options ?? []);
  const type = m.type ?? '';
  const destination = cleanPath(m.destination);
  const bind = type === 'bind' || options.bind;
  const source = bind && m.source ? resolve(state.ctx.bundle, m.source) : m.source ?? '';
  const label = `mount ${source || type || 'none'} on ${destination}`;
  rejectUnsupported(label, m, options);

  const plan: MountPlan = {
    label,
    source,
    destination,
    fstype: type,
    flags: options.flags,
    clearFlags: options.clearFlags,
    propagation: options.propagation,
    data: options.data.join(','),
    copyUp: options.extensions.tmpcopyup,
  };

  if (bind) {
    if (!source) throw new HakoError(`${label}: a bind mount needs a source`);
    return mountBind(state, { ...plan, fstype: 'bind', flags: options.flags | MS_BIND, data: '' });
  }
  if (type === 'cgroup') return mountCgroup(state, plan);
  if (type === 'sysfs' && hasNamespace(state.spec, 'user')
    && !hasNamespace(state.spec, 'network')) {
    // sysfs can only be mounted by the user namespace that owns the network namespace; with
    // the host's network the host's /sys is bound instead, as crun and podman do.
    state.ctx.logger?.debug(`${label}: no network namespace of its own: binding the host's /sys`);
    return mountBind(state, {
      ...plan, source: '/sys', fstype: 'bind', flags: options.flags | MS_BIND | MS_REC, data: '',
    });
  }
  return mountFilesystem(state, plan);
}

function rejectUnsupported(label: string, m: Mount, options: MountOptions): void {
  const { attrSet, attrClr } = options.recursiveAttrs;
  if (attrSet !== 0 || attrClr !== 0) {
    throw new HakoError(`${label}: recursive mount options (rro, rnosuid, ...) are not supported`);
  }
  if (options.extensions.tmpcopyup && m.type !== 'tmpfs') {
    throw new HakoError(`${label}: tmpcopyup applies to tmpfs mounts only`);
  }
  if (options.extensions.idmap || options.extensions.ridmap || m.uidMappings || m.gidMappings) {
    throw new HakoError(`${label}: id-mapped mounts are not supported`);
  }
}
