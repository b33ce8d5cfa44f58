// Runs the shipped examples: builds each example's rootfs from busybox-static (plus, for the
// wasm examples, the program built from examples/wasm-hello/hello.wat), then runs the bundle
// with ./bin/hako and shows what the workload printed and its exit status.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { makeRootfs } from './make-rootfs.mjs';
import { buildComponent, buildModule } from './wasm-hello.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const hako = join(repo, 'bin', 'hako');

if (process.getuid() !== 0) {
  console.error('the examples create real containers: run them as root (sudo npm run examples)');
  process.exit(1);
}

// `build` puts the wasm program into a rootfs; it runs every time, so an edit of hello.wat
// shows in the next run. `status` is the exit status the example is expected to end with.
const examples = [
  {
    dir: 'busybox', status: 3,
    what: 'a busybox container: hostname, user, pid namespace, exit status 3',
  },
  { dir: 'userns', status: 0, what: 'a user namespace mapping root to host uid 100000' },
  {
    dir: 'wasm-hello', status: 3,
    what: 'hello.wat, compiled by wabt, run by the wasm handler: args, env, exit status 3',
    build: (rootfs) => buildModule(join(rootfs, 'hello.wasm')),
  },
  {
    dir: 'wasm-component', status: 1,
    what: 'the same program as a component: the preview1 adapter turns exit=3 into status 1',
    build: async (rootfs) => {
      const module = await buildModule(join(rootfs, 'hello.wasm'));
      buildComponent(module, join(rootfs, 'hello.component.wasm'));
    },
  },
];

let failed = 0;
for (const example of examples) {
  const bundle = join(repo, 'examples', example.dir);
  const rootfs = join(bundle, 'rootfs');
  if (!existsSync(join(rootfs, 'bin', 'busybox'))) {
    rmSync(rootfs, { recursive: true, force: true });
    makeRootfs(rootfs);
  }
  await example.build?.(rootfs);
  console.log(`\n== examples/${example.dir}: ${example.what}`);
  console.log(`$ ./bin/hako run --bundle examples/${example.dir} example-${example.dir}`);
  const result = spawnSync(hako, ['run', '--bundle', bundle, `example-${example.dir}`], {
    stdio: 'inherit',
  });
  console.log(`(exit status ${result.status})`);
  if (result.status !== example.status) failed++;
}
process.exit(failed ? 1 : 0);
