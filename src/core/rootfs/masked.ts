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
  const paths = unique(state.spec.linux?.readonlyPaths ?? []);
  const found = await statAll(state, paths, (path) => `make ${path} read-only: stat`);
  for (const [i, path] of paths.entries()) {
    if (!found[i]) continue;
    const label = `make ${path} read-only`;
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
  const paths = unique(state.spec.linux?.maskedPaths ?? []);
  const found = await statAll(state, paths, (path) => `mask ${path}: stat`);
  const hidden: string[] = [];
  for (const [i, path] of paths.entries()) {
    const st = found[i];
    // What an earlier masked directory covers is already out of sight.
    if (!st || hidden.some((dir) => path.startsWith(`${dir}/`))) continue;
    const label = `mask ${path}`;
    if (isDirectory(st)) {
      await sysStep(label, sys.mount('tmpfs', path, 'tmpfs', MS_RDONLY, '', Resolve.Plain));
      hidden.push(path);
    } else {
      await sysStep(label, sys.mount('/dev/null', path, '', MS_BIND, '', Resolve.Plain));
    }
  }
}

/**
 * Every path looked at in one go: the stats travel to the agent together instead of one
 * round trip each (a default config has some fifteen masked paths). None of the mounts that
 * follow changes what another path is, but for the directories a mask covers (maskPaths).
 */
function statAll(
  state: RootfsState,
  paths: readonly string[],
  label: (path: string) => string,
): Promise<(StatResult | null)[]> {
  return Promise.all(paths.map((path) => sysStep(label(path), state.sys.stat(path, Resolve.Plain))));
}

function unique(paths: readonly string[]): string[] {
  return [...new Set(paths.map(cleanPath))];
}

function isDirectory(st: StatResult): boolean {
  return (st.mode & S_IFMT) === S_IFDIR;
}
