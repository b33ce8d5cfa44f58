/**
 * HOME for a process whose environment has none: the user's home in the container's
 * /etc/passwd, "/" when the user has no entry (runc's rule).
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

const DEFAULT_HOME = '/';
/** A passwd file past this size is not read: the lookup is a convenience, not a must. */
const MAX_PASSWD = 1 << 20;

/** The home field of the first entry for `uid`, or "/". */
export function homeFromPasswd(text: string, uid: number): string {
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields.length < 7 || fields[2] !== String(uid)) continue;
    return fields[5] || DEFAULT_HOME;
  }
  return DEFAULT_HOME;
}

/**
 * Reads the container's /etc/passwd from the host through /proc/<init>/root. The container
 * owns that tree, so a symlink there must not lead the host's root to one of its own files:
 * `etc` and `passwd` are each opened without following a final symlink, the second relative
 * to the first through /proc/self/fd, which leaves no window to swap a link in between. An
 * image whose /etc or /etc/passwd is a symlink therefore gets "/".
 */
export function containerHome(initPid: number, uid: number): string {
  let dir: number | undefined;
  let file: number | undefined;
  try {
    dir = openSync(`/proc/${initPid}/root/etc`,
      constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
    file = openSync(`/proc/self/fd/${dir}/passwd`,
      constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    const st = fstatSync(file);
    if (!st.isFile() || st.size > MAX_PASSWD) return DEFAULT_HOME;
    const buffer = Buffer.alloc(st.size);
    let length = 0;
    while (length < buffer.length) {
      const n = readSync(file, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
    }
    return homeFromPasswd(buffer.toString('utf8', 0, length), uid);
  } catch {
    return DEFAULT_HOME;
  } finally {
    if (file !== undefined) closeSync(file);
    if (dir !== undefined) closeSync(dir);
  }
}
