// A private copy of hako's build for the length of a run. Other people rebuild dist/ in the same
// checkout while the benchmark runs (the test scripts build first), and a rebuild deletes the
// chunk files a running hako is about to import; the copy keeps every round on one build.
import { cpSync, existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/**
 * Copies `<repo>/bin/hako` and `<repo>/dist` to `<scratch>/<name>` and returns the copied
 * launcher. node_modules is linked, not copied: the bundle leaves koffi, wabt and jco external.
 */
export function snapshotHako(launcher, scratch, name) {
  const home = resolve(dirname(launcher), '..');
  const copy = join(scratch, name);
  mkdirSync(join(copy, 'bin'), { recursive: true });
  cpSync(launcher, join(copy, 'bin', 'hako'));
  cpSync(join(home, 'dist'), join(copy, 'dist'), { recursive: true });
  if (existsSync(join(home, 'node_modules'))) {
    symlinkSync(join(home, 'node_modules'), join(copy, 'node_modules'));
  }
  return join(copy, 'bin', 'hako');
}
