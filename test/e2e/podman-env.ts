/**
 * A podman of its own for the end-to-end tests: containers.conf and storage.conf from
 * test/e2e/podman/ with paths in a temporary directory, a busybox image made with
 * `podman import` (no registry), hako as the OCI runtime, and a dedicated cgroup parent.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  HAKO, HAKO_DEFAULT_ROOT, REPO, type Outcome, type RunOptions, busyboxTarball, inPty,
  mountsUnder, mustRun, removeCgroupTree, requireTools, run, unmountUnder,
} from './tools.js';

export const IMAGE = 'localhost/hako-busybox:e2e';

/** Every test container's cgroups go below this parent, removed at the end. */
export const PODMAN_CGROUP_PARENT = '/hako-e2e-podman';

export class PodmanEnv {
  readonly dir = mkdtempSync(join(tmpdir(), 'hako-podman-'));
  readonly env: NodeJS.ProcessEnv;

  constructor() {
    const fill = (name: string): string =>
      readFileSync(join(REPO, 'test', 'e2e', 'podman', name), 'utf8')
        .replaceAll('@HAKO@', HAKO)
        .replaceAll('@DIR@', this.dir);
    writeFileSync(join(this.dir, 'containers.conf'), fill('containers.conf'));
    writeFileSync(join(this.dir, 'storage.conf'), fill('storage.conf'));
    this.env = {
      ...process.env,
      CONTAINERS_CONF: join(this.dir, 'containers.conf'),
      CONTAINERS_STORAGE_CONF: join(this.dir, 'storage.conf'),
    };
  }

  /** Checks the tools and imports the busybox image, with the `extra` files of busyboxTarball. */
  setup(extra: Record<string, string> = {}): void {
    requireTools({
      podman: 'podman', conmon: 'conmon', catatonit: 'catatonit', script: 'bsdutils', tar: 'tar',
    });
    const tarball = join(this.dir, 'busybox.tar');
    busyboxTarball(this.dir, tarball, extra);
    mustRun('podman', ['import', '--quiet', tarball, IMAGE], { env: this.env });
  }

  /** `podman --runtime <repo>/bin/hako <args>` with the test's configuration. */
  podman(args: string[], opts: RunOptions = {}): Outcome {
    return run('podman', ['--runtime', HAKO, ...args], { env: this.env, ...opts });
  }

  /** `podman run` in the test cgroup parent; `args` are run's options, image and command. */
  run(args: string[], opts: RunOptions = {}): Outcome {
    return this.podman(['run', '--cgroup-parent', PODMAN_CGROUP_PARENT, ...args], opts);
  }

  /** Like `run`, but podman's stdin, stdout and stderr are a pty made by script(1). */
  runInPty(args: string[], opts: Parameters<typeof inPty>[1] = {}): Outcome {
    return inPty([
      'podman', '--runtime', HAKO, 'run', '--cgroup-parent', PODMAN_CGROUP_PARENT, ...args,
    ], { env: this.env, ...opts });
  }

  /** Starts a detached container named `name` running `script`; returns its full id. */
  detached(name: string, script: string, extra: string[] = []): string {
    const out = this.run(['-d', '--name', name, ...extra, IMAGE, 'sh', '-c', script]);
    if (out.status !== 0 || out.stderr !== '') {
      throw new Error(`podman run -d --name ${name}: exit ${out.status}\n${out.stderr}`);
    }
    return out.stdout.trim();
  }

  /** Output of a podman command that must succeed, trimmed. */
  ok(args: string[]): string {
    const out = this.podman(args);
    if (out.status !== 0) {
      throw new Error(`podman ${args.join(' ')}: exit ${out.status}\n${out.stdout}${out.stderr}`);
    }
    return out.stdout.trim();
  }

  /** `podman inspect --format <format> <name>`, trimmed. */
  inspect(name: string, format: string): string {
    return this.ok(['inspect', '--format', format, name]);
  }

  /** hako states (under its default root) of containers whose bundle is in this podman. */
  hakoStates(): string[] {
    if (!existsSync(HAKO_DEFAULT_ROOT)) return [];
    return readdirSync(HAKO_DEFAULT_ROOT).filter((id) => {
      try {
        const state = JSON.parse(readFileSync(join(HAKO_DEFAULT_ROOT, id, 'state.json'), 'utf8'));
        return typeof state.bundle === 'string' && state.bundle.startsWith(this.dir);
      } catch {
        return false;
      }
    });
  }

  /**
   * Removes every container and image, then the directory and the cgroup parent. Throws when
   * hako state or a mount outlived podman's containers.
   */
  cleanup(): void {
    this.podman(['rm', '--all', '--force', '--time', '0']);
    this.podman(['rmi', '--all', '--force']);
    const states = this.hakoStates();
    for (const id of states) run(HAKO, ['delete', '--force', id]);
    const leftover = mountsUnder(this.dir);
    unmountUnder(this.dir);
    rmSync(this.dir, { recursive: true, force: true });
    removeCgroupTree(PODMAN_CGROUP_PARENT);
    if (states.length > 0) throw new Error(`hako state left behind: ${states.join(', ')}`);
    if (leftover.length > 0) throw new Error(`podman left mounts behind:\n${leftover.join('\n')}`);
  }
}
