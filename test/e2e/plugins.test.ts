/**
 * Plugin handlers through podman: the caller adds `run.oci.handler=<plugin>`. A real host
 * names its plugins in /etc/hako/config.json; the test must not change the host's, and podman
 * does not pass its environment (HAKO_CONFIG, HAKO_PLUGIN_PATH) on to the runtime, so it
 * names the directory with hako's global flag: `podman --runtime-flag plugin-path=DIR`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { IMAGE, PODMAN_CGROUP_PARENT, PodmanEnv } from './podman-env.js';
import { REPO } from './tools.js';

const podman = new PodmanEnv();
const work = mkdtempSync(join(tmpdir(), 'hako-e2e-plugins-'));

beforeAll(() => {
  const script = join(work, 'hello.mjs');
  writeFileSync(script, "console.log('hello from js', process.argv.slice(2).join(' '), " +
    'process.env.WHO, process.cwd());\nprocess.exitCode = 6;\n');
  podman.setup({ '/hello.mjs': script });
}, 180_000);

afterAll(() => {
  try {
    podman.cleanup();
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}, 120_000);

const FLAG = ['--runtime-flag', `plugin-path=${join(REPO, 'plugins')}`];
const PARENT = ['--cgroup-parent', PODMAN_CGROUP_PARENT];

describe('podman', () => {
  it('runs a .mjs entrypoint with run.oci.handler=js: args, env, workdir, exit status', () => {
    const out = podman.podman([...FLAG, 'run', ...PARENT, '--rm',
      '--annotation', 'run.oci.handler=js', '--env', 'WHO=podman', '--workdir', '/tmp',
      IMAGE, '/hello.mjs', 'a', 'b']);
    expect(out.stderr).toBe('');
    expect(out.stdout).toBe('hello from js a b podman /tmp\n');
    expect(out.status).toBe(6);
  });

  it('reports a handler that matches nothing', () => {
    const out = podman.podman([...FLAG, 'run', ...PARENT, '--rm',
      '--annotation', 'run.oci.handler=nope', IMAGE, 'true']);
    expect(out.status).not.toBe(0);
    expect(out.stderr).toContain(
      'run.oci.handler: no handler named "nope" (available: linux, wasm, env-file, js)');
  });
});
