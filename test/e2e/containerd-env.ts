/**
 * A containerd of its own for the end-to-end tests, started from test/e2e/containerd/config.toml
 * with its root, state and socket in a temporary directory, a busybox image imported from an
 * OCI archive built here, and `ctr` calls that run tasks through the runc v2 shim with hako as
 * the shim's runtime binary.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import {
  closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, rmdirSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ociArchive } from './oci-image.js';
import {
  HAKO, REPO, type Outcome, type RunOptions, busyboxTarball, inPty, mountsUnder,
  processesMentioning, removeCgroupTree, requireTools, run, unmountUnder, waitFor,
} from './tools.js';

export const IMAGE = 'localhost/hako-busybox:e2e';

/** The containerd namespace of the tests; ctr also makes it the tasks' cgroup parent. */
export const NAMESPACE = 'hako-e2e';

export class Containerd {
  readonly dir = mkdtempSync(join(tmpdir(), 'hako-containerd-'));
  readonly socket = join(this.dir, 'containerd.sock');
  /** The `--root` the shim passes to hako (runc's default would be /run/containerd/runc). */
  readonly hakoRoot = join(this.dir, 'hako-root');
  private daemon: ChildProcess | undefined;
  /** containerd 1.6 puts shim sockets in /run/containerd/s whatever its state dir: ours if new. */
  private readonly sharedDirs = ['/run/containerd/s', '/run/containerd']
    .filter((dir) => !existsSync(dir));
  private exited: Promise<void> | undefined;

  /**
   * Checks the tools, starts containerd, waits for its socket and imports the busybox image,
   * with the `extra` files of busyboxTarball.
   */
  async start(extra: Record<string, string> = {}): Promise<void> {
    requireTools({
      containerd: 'containerd', ctr: 'containerd', 'containerd-shim-runc-v2': 'containerd',
      script: 'bsdutils', tar: 'tar',
    });
    const config = join(this.dir, 'config.toml');
    writeFileSync(config, readFileSync(join(REPO, 'test', 'e2e', 'containerd', 'config.toml'),
      'utf8').replaceAll('@DIR@', this.dir));

    const log = openSync(join(this.dir, 'containerd.log'), 'a');
    const daemon = spawn('containerd', ['--config', config], { stdio: ['ignore', log, log] });
    closeSync(log);
    this.daemon = daemon;
    this.exited = new Promise((resolve) => daemon.once('exit', () => resolve()));
    await waitFor('containerd to answer on its socket', () => {
      if (daemon.exitCode !== null) throw new Error(`containerd exited:\n${this.log()}`);
      return run('ctr', ['--address', this.socket, 'version'], { timeoutMs: 5_000 }).status === 0;
    }, 30_000);

    const layer = join(this.dir, 'busybox.tar');
    const archive = join(this.dir, 'busybox-oci.tar');
    busyboxTarball(this.dir, layer, extra);
    ociArchive(this.dir, layer, IMAGE, archive);
    this.ok(['images', 'import', archive]);
  }

  log(): string {
    try {
      return readFileSync(join(this.dir, 'containerd.log'), 'utf8');
    } catch {
      return '';
    }
  }

  /** `ctr --address <socket> --namespace hako-e2e <args>` */
  ctr(args: string[], opts: RunOptions = {}): Outcome {
    return run('ctr', ['--address', this.socket, '--namespace', NAMESPACE, ...args], opts);
  }

  ok(args: string[], opts: RunOptions = {}): string {
    const out = this.ctr(args, opts);
    if (out.status !== 0) {
      throw new Error(`ctr ${args.join(' ')}: exit ${out.status}\n${out.stdout}${out.stderr}`);
    }
    return out.stdout;
  }

  /** The options of `ctr run` that make the runc v2 shim call hako instead of runc. */
  runtimeOptions(): string[] {
    return ['--runc-binary', HAKO, '--runc-root', this.hakoRoot, '--fifo-dir', this.fifoDir()];
  }

  fifoDir(): string {
    return join(this.dir, 'fifo');
  }

  /** `ctr run <hako options> <args>`; `args` are further options, image, id and command. */
  run(args: string[], opts: RunOptions = {}): Outcome {
    return this.ctr(['run', ...this.runtimeOptions(), ...args], opts);
  }

  /** Like `run`, with ctr's stdio on a pty made by script(1). */
  runInPty(args: string[], opts: Parameters<typeof inPty>[1] = {}): Outcome {
    return inPty(['ctr', '--address', this.socket, '--namespace', NAMESPACE, 'run',
      ...this.runtimeOptions(), ...args], opts);
  }

  /** hako's state directory of a task: the shim passes `--root <runc-root>/<namespace>`. */
  hakoState(id: string): string {
    return join(this.hakoRoot, NAMESPACE, id);
  }

  /** The status column of `ctr task ls` for `id` (RUNNING, PAUSED, STOPPED...), or "none". */
  taskStatus(id: string): string {
    const line = this.ok(['tasks', 'list']).split('\n').find((l) => l.startsWith(`${id} `));
    return line?.trim().split(/\s+/)[2] ?? 'none';
  }

  /** Starts a detached task running `script`, its stdout and stderr going to a file. */
  detached(id: string, script: string): { log: () => string } {
    const logFile = join(this.dir, `${id}.log`);
    const out = this.run(['--detach', '--log-uri', `file://${logFile}`, IMAGE, id,
      'sh', '-c', script]);
    if (out.status !== 0 || out.stderr !== '') {
      throw new Error(`ctr run --detach ${id}: exit ${out.status}\n${out.stderr}`);
    }
    return { log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '') };
  }

  /** Deletes a stopped task and its container; returns what `ctr task delete` said. */
  removeTask(id: string): string {
    const out = this.ctr(['tasks', 'delete', id]);
    if (out.status !== 0) throw new Error(`ctr tasks delete ${id}: ${out.stderr}`);
    this.ok(['containers', 'delete', id]);
    return out.stdout + out.stderr;
  }

  /** Kills and deletes every task and container left by a failed test. */
  removeAll(): void {
    const ids = this.ctr(['containers', 'list', '--quiet']).stdout.split('\n').filter(Boolean);
    for (const id of ids) {
      this.ctr(['tasks', 'kill', '--signal', 'SIGKILL', id]);
      this.ctr(['tasks', 'delete', '--force', id]);
      this.ctr(['containers', 'delete', id]);
    }
  }

  /**
   * Removes what the tests left, stops containerd and deletes its directory. Throws when a
   * shim, a mount or a cgroup outlived its containers.
   */
  async stop(): Promise<void> {
    const problems: string[] = [];
    if (this.daemon && this.daemon.exitCode === null) {
      this.removeAll();
      this.ctr(['images', 'remove', IMAGE]);
      this.daemon.kill('SIGTERM');
      const killer = setTimeout(() => this.daemon?.kill('SIGKILL'), 10_000);
      await this.exited;
      clearTimeout(killer);
    }

    const shims = processesMentioning(`-namespace ${NAMESPACE} `)
      .filter((pid) => processesMentioning(this.socket).includes(pid));
    if (shims.length > 0) problems.push(`shims still running: ${shims.join(', ')}`);
    for (const pid of shims) process.kill(pid, 'SIGKILL');
    const mounts = mountsUnder(this.dir);
    if (mounts.length > 0) problems.push(`mounts left:\n${mounts.join('\n')}`);
    unmountUnder(this.dir);
    rmSync(this.dir, { recursive: true, force: true });
    for (const dir of this.sharedDirs) {
      try {
        rmdirSync(dir);
      } catch {
        // Not empty: another containerd uses it now.
      }
    }
    try {
      removeCgroupTree(NAMESPACE);
    } catch (error) {
      problems.push(`cgroups left under /${NAMESPACE}: ${(error as Error).message}`);
    }
    if (problems.length > 0) throw new Error(problems.join('\n'));
  }
}
