// Runs the shipped examples: builds each example's rootfs from busybox-static, then runs the
// bundle with ./bin/hako and shows what the workload printed and its exit status.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { makeRootfs } from './make-rootfs.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const hako = join(repo, 'bin', 'hako');

if (process.getuid() !== 0) {
  console.error('the examples create real containers: run them as root (sudo npm run examples)');
  process.exit(1);
}

const examples = [
  { dir: 'busybox', what: 'a busybox container: hostname, user, pid namespace, exit status 3' },
  { dir: 'userns', what: 'a user namespace mapping root to host uid 100000' },
];

let failed = 0;
for (const example of examples) {
  const bundle = join(repo, 'examples', example.dir);
  const rootfs = join(bundle, 'rootfs');
  if (!existsSync(join(rootfs, 'bin', 'busybox'))) {
    rmSync(rootfs, { recursive: true, force: true });
    makeRootfs(rootfs);
  }
  console.log(`\n== examples/${example.dir}: ${example.what}`);
  console.log(`$ ./bin/hako run --bundle examples/${example.dir} example-${example.dir}`);
  const result = spawnSync(hako, ['run', '--bundle', bundle, `example-${example.dir}`], {
    stdio: 'inherit',
  });
  console.log(`(exit status ${result.status})`);
  const expected = example.dir === 'busybox' ? 3 : 0;
  if (result.status !== expected) failed++;
}
process.exit(failed ? 1 : 0);
