/**
 * What the container may read but not change, and what it may not see: readonlyPaths
 * are bound onto themselves and remounted read-only, maskedPaths are covered by /dev/null (a
 * file) or an empty read-only tmpfs (a directory). A path the image lacks is skipped.
 */
import { MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_REC, MS_REMOUNT } from
  '../spec/linux.js';
import { sysStep } from '../sys/failure.js';
import { Resolve, type StatResult } from '../sys/sys.js';
import { type RootfsState, cleanPath, flagsAt } from './context.js';

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;

export async function makeReadonlyPaths(state: RootfsState): Promise<void> {
  const { sys } = state;
  for (const path of unique(state.spec.linux?.readonlyPaths ?? [])) {
    const label = `make ${path} read-only`;
    if (!await sysStep(`${label}: stat`, sys.stat(path, Resolve.Plain))) continue;
    await sysStep(label, sys.mount(path, path, '', MS_BIND | MS_REC, '', Resolve.Plain));
    // Dropping nosuid, nodev or noexec is refused on a mount a user namespace inherited, and
    // is not what was asked: the remount keeps those of the mount the path is on.
    const keep = flagsAt(state, path) & (MS_NOSUID | MS_NODEV | MS_NOEXEC);
    const flags = keep | MS_BIND | MS_REMOUNT | MS_RDONLY;
    await sysStep(`${label}: remount`, sys.mount(path, path, '', flags, '', Resolve.Plain));
    state.mounted.push({ destination: path, flags: keep | MS_RDONLY });
  }
}

export async function maskPaths(state: RootfsState): Promise<void> {
  const { sys } = state;
  for (const path of unique(state.spec.linux?.maskedPaths ?? [])) {
    const label = `mask ${path}`;
    const found = await sysStep(`${label}: stat`, sys.stat(path, Resolve.Plain));
    if (!found) continue;
    if (isDirectory(found)) {
      await sysStep(label, sys.mount('tmpfs', path, 'tmpfs', MS_RDONLY, '', Resolve.Plain));
    } else {
      await sysStep(label, sys.mount('/dev/null', path, '', MS_BIND, '', Resolve.Plain));
    }
  }
}

function unique(paths: readonly string[]): string[] {
  return [...new Set(paths.map(cleanPath))];
}

function isDirectory(st: StatResult): boolean {
  return (st.mode & S_IFMT) === S_IFDIR;
}
