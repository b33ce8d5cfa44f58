/**
 * Shared harness of the integration tests: real bundles from busybox-static, the real CLI
 * (./bin/hako, built by `npm run build`), a state root per test file, and checks that nothing
 * is left behind.
 */
import { type SpawnSyncOptions, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// @ts-expect-error: a plain JS module without types.
import { makeRootfs } from '../../scripts/make-rootfs.mjs';
import type { Spec } from '../../src/core/spec/types.js';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const HAKO = join(REPO, 'bin', 'hako');

let templateRootfs: string | undefined;

/** One busybox rootfs per test process, copied into each bundle (cheap: one binary + links). */
function rootfsTemplate(): string {
  if (!templateRootfs) {
    const dir = mkdtempSync(join(tmpdir(), 'hako-rootfs-'));
    templateRootfs = dir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    makeRootfs(dir);
    // mkdtemp makes it 0700: a workload running as another user could not enter `/`.
    chmodSync(dir, 0o755);
  }
  return templateRootfs;
}

export interface Result {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI synchronously; `input` goes to its stdin. */
export function hako(args: string[], opts: SpawnSyncOptions & { input?: string } = {}): Result {
  const result = spawnSync(HAKO, args, { encoding: 'utf8', timeout: 30_000, ...opts });
  if (result.error) throw result.error;
  return {
    status: result.status ?? 128 + 9,
    stdout: String(result.stdout ?? ''),
    stderr: String(result.stderr ?? ''),
  };
}

/** A temp dir for a test file: its state root and bundles. Remove with `cleanup()`. */
export class Scratch {
  readonly dir = mkdtempSync(join(tmpdir(), 'hako-it-'));
  readonly root = join(this.dir, 'state');
  private readonly ids = new Set<string>();
  private counter = 0;

  /** A unique container id (also remembered, so cleanup can delete it). */
  id(prefix = 'c'): string {
    const id = `${prefix}-${process.pid}-${++this.counter}`;
    this.ids.add(id);
    return id;
  }

  /**
   * A bundle with a busybox rootfs and hako's default config (runc's), terminal off, changed
   * by `edit`. Returns the bundle directory.
   */
  bundle(edit: (spec: Spec) => void = () => undefined): string {
    const dir = join(this.dir, `bundle-${++this.counter}`);
    mkdirSync(dir, { recursive: true });
    cpSync(rootfsTemplate(), join(dir, 'rootfs'), { recursive: true, verbatimSymlinks: true });
    const made = hako(['spec', '--bundle', dir]);
    if (made.status !== 0) throw new Error(`hako spec failed: ${made.stderr}`);
    const spec = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Spec;
    spec.process!.terminal = false;
    edit(spec);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(spec, null, 2));
    return dir;
  }

  /** `hako --root <root> ...` */
  hako(args: string[], opts: SpawnSyncOptions & { input?: string } = {}): Result {
    return hako(['--root', this.root, ...args], opts);
  }

  /** `run` of a bundle whose process is `args`, returning what it printed and its status. */
  run(args: string[], edit: (spec: Spec) => void = () => undefined): Result {
    const bundle = this.bundle((spec) => {
      spec.process!.args = args;
      edit(spec);
    });
    return this.hako(['run', '--bundle', bundle, this.id('run')]);
  }

  cleanup(): void {
    for (const id of this.ids) this.hako(['delete', '--force', id]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Lines of /proc/self/mountinfo that mention `text` (to prove no mount leaked to the host). */
export function hostMountsMentioning(text: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((line) => line.includes(text));
}

/** Pids of processes whose command line contains `text`. */
export function processesMentioning(text: string): number[] {
  const out = spawnSync('/bin/ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).stdout ?? '';
  return out
    .split('\n')
    .filter((line) => line.includes(text) && !line.includes('ps -eo'))
    .map((line) => Number(line.trim().split(/\s+/)[0]));
}

export function cgroupExists(relative: string): boolean {
  return existsSync(join('/sys/fs/cgroup/memory', relative)) ||
    existsSync(join('/sys/fs/cgroup/pids', relative));
}
