/**
 * examples/mixed-pod/run.sh end to end: a podman pod with hako as the runtime, holding a
 * busybox container that listens on 127.0.0.1:8080 and a wasm container that reads the pod's
 * TCP sockets through WASI. Checks what the script prints and that it leaves nothing behind.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type Outcome, REPO, cgroupDirs, mountsUnder, requireTools, run } from './tools.js';

const SCRIPT = join(REPO, 'examples', 'mixed-pod', 'run.sh');

/** The script's temporary directory goes in here, so the test can see it was removed. */
const tmp = mkdtempSync(join(tmpdir(), 'hako-mixed-'));
let out: Outcome;

beforeAll(() => {
  requireTools({ podman: 'podman', conmon: 'conmon', catatonit: 'catatonit', tar: 'tar' });
  out = run(SCRIPT, [], { env: { ...process.env, TMPDIR: tmp }, timeoutMs: 150_000 });
}, 180_000);

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** `name: pid N, /proc/N/ns/net -> net:[inode]` lines of the script: name → netns. */
function netnsByName(stdout: string): Record<string, string> {
  const found: Record<string, string> = {};
  for (const m of stdout.matchAll(/^(\w+): pid \d+, \/proc\/\d+\/ns\/net -> (net:\[\d+\])$/gm)) {
    found[m[1]!] = m[2]!;
  }
  return found;
}

describe('examples/mixed-pod/run.sh', () => {
  it('succeeds', () => {
    expect(out.stderr).not.toMatch(/run\.sh:|Error:/);
    expect(out.status).toBe(0);
  });

  it('runs the wasm container in the pod: greeting, args, env', () => {
    expect(out.stdout).toContain('hello from wasm\narg: /hello.wasm\narg: cat=/proc/net/tcp\n' +
      'arg: cat=-\nenv: HELLO=pod\n');
  });

  it('the wasm container sees the busybox container listening on 127.0.0.1:8080', () => {
    expect(out.stdout).toMatch(/^ +\d+: 0100007F:1F90 00000000:0000 0A /m);
  });

  it('the infra, busybox and wasm containers share one network namespace', () => {
    const netns = netnsByName(out.stdout);
    expect(Object.keys(netns).sort()).toEqual(['infra', 'wasm', 'web']);
    expect(netns.web).toBe(netns.infra);
    expect(netns.wasm).toBe(netns.infra);
    expect(out.stdout).toContain(`same network namespace: ${netns.infra}\n`);
  });

  it('SIGTERM from podman stop ends the wasm container with status 143', () => {
    expect(out.stdout).toMatch(/podman stop wasm && podman wait wasm\n143\n$/);
  });

  it('leaves no directory, mount or cgroup behind', () => {
    expect(readdirSync(tmp)).toEqual([]);
    expect(mountsUnder(tmp)).toEqual([]);
    expect(cgroupDirs('hako-mixed-pod')).toEqual([]);
  });
});
