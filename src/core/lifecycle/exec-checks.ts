/** What `exec` checks before it starts anything, with runc's wording where runc has one. */
import { existsSync, fstatSync, readFileSync } from 'node:fs';

import { HakoError } from '../errors.js';
import type { Process } from '../spec/types.js';
import { errnoDescription, nodeErrno } from '../sys/failure.js';

/**
 * runc's rules: a pty master goes to --console-socket only from a detached exec; a foreground
 * one relays the terminal itself, and a detached one has nobody else to hand it to.
 */
export function checkTerminal(terminal: boolean, detach: boolean, consoleSocket?: string): void {
  if (detach && terminal && !consoleSocket) {
    throw new HakoError('cannot allocate tty if hako will detach without setting console socket');
  }
  if ((!detach || !terminal) && consoleSocket) {
    throw new HakoError('cannot use console socket if hako will not detach or allocate tty');
  }
}

/** The descriptors 3 .. 3+n-1 passed on must be open, as runc checks. */
export function checkPreservedFds(count: number): void {
  for (let i = 0; i < count; i++) {
    try {
      fstatSync(3 + i);
    } catch (err) {
      const errno = nodeErrno(err);
      const cause = errno === undefined ? (err as Error).message : errnoDescription(errno);
      throw new HakoError(`unable to stat preserved-fd ${i} (of ${count}): ${cause}`);
    }
  }
}

export interface LsmState {
  apparmor: boolean;
  selinux: boolean;
}

/**
 * hako applies no LSM label. On a host without that LSM a label could not be enforced
 * anyway, so it is dropped with a debug line; on a host that has it, running the process
 * unconfined would be a silent downgrade, so that is an error.
 */
export function checkLsmLabels(
  proc: Pick<Process, 'apparmorProfile' | 'selinuxLabel'>,
  log: { debug(message: string): void },
  host?: LsmState,
): void {
  if (!proc.apparmorProfile && !proc.selinuxLabel) return;
  const lsm = host ?? hostLsm();
  if (proc.apparmorProfile) {
    const what = `apparmor profile ${JSON.stringify(proc.apparmorProfile)}`;
    if (lsm.apparmor) throw new HakoError(`${what}: hako cannot apply AppArmor profiles`);
    log.debug(`exec: ${what} ignored: AppArmor is not enabled on this host`);
  }
  if (proc.selinuxLabel) {
    const what = `selinux label ${JSON.stringify(proc.selinuxLabel)}`;
    if (lsm.selinux) throw new HakoError(`${what}: hako cannot apply SELinux labels`);
    log.debug(`exec: ${what} ignored: SELinux is not enabled on this host`);
  }
}

function hostLsm(): LsmState {
  let apparmor = false;
  try {
    apparmor = readFileSync('/sys/module/apparmor/parameters/enabled', 'utf8').startsWith('Y');
  } catch {
    // No AppArmor module.
  }
  return { apparmor, selinux: existsSync('/sys/fs/selinux/enforce') };
}
