/**
 * The user change: supplementary groups, then gid, then uid (after setuid the init could no
 * longer change its groups). PR_SET_KEEPCAPS around it is the caller's part.
 */
import { HakoError } from '../errors.js';
import type { LinuxIDMapping, Spec, User } from '../spec/types.js';
import { sysStep } from '../sys/failure.js';
import type { Sys } from '../sys/sys.js';

export async function setUser(
  sys: Sys,
  spec: Spec,
  user: User,
  setgroupsDenied: boolean,
): Promise<void> {
  checkMapped(spec, user);

  // As runc: exactly additionalGids, which also drops the groups the agent started with.
  const groups = user.additionalGids ?? [];
  if (setgroupsDenied) {
    if (groups.length > 0) {
      throw new HakoError(
        'config.json: process.user.additionalGids: setgroups is denied in this user namespace',
      );
    }
  } else {
    await sysStep(`setgroups ${groups.join(',') || '(none)'}`, sys.setgroups(groups));
  }
  await sysStep(`setresgid ${user.gid}`, sys.setresgid(user.gid));
  await sysStep(`setresuid ${user.uid}`, sys.setresuid(user.uid));
}

/** A new user namespace's mappings are in the spec: an unmapped id is named before EINVAL. */
function checkMapped(spec: Spec, user: User): void {
  const userns = spec.linux?.namespaces?.find((ns) => ns.type === 'user');
  if (!userns || userns.path) return;
  const check = (id: number, maps: LinuxIDMapping[] | undefined, field: string) => {
    if (!maps?.length || maps.some((m) => id >= m.containerID && id < m.containerID + m.size)) {
      return;
    }
    throw new HakoError(
      `config.json: process.user.${field}: ${id} is not mapped in the user namespace`,
    );
  };
  check(user.uid, spec.linux?.uidMappings, 'uid');
  check(user.gid, spec.linux?.gidMappings, 'gid');
  for (const gid of user.additionalGids ?? []) {
    check(gid, spec.linux?.gidMappings, 'additionalGids');
  }
}
