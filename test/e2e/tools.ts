/**
 * What the podman and containerd end-to-end tests share: running host tools with a timeout,
 * a busybox rootfs tarball, a pseudo-terminal through script(1), and the leak checks.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';

// @ts-expect-error: a plain JS module without types.
import { makeRootfs } from '../../scripts/make-rootfs.mjs';
import { HAKO, REPO } from '../integration/helpers.js';

export { HAKO, REPO };

/** Where hako keeps its state when the caller passes no `--root` (podman never does). */
export const HAKO_DEFAULT_ROOT = '/run/hako';

export interface Outcome {
  status: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  input?: string;
  timeoutMs?: number;
}

/**
 * Runs a program and returns its status and output. A tool that hangs is a test failure, not
 * a stuck suite: it is killed after the timeout and the outcome says so.
 */
export function run(file: string, args: string[], opts: RunOptions = {}): Outcome {
  const timeout = opts.timeoutMs ?? 60_000;
  const result = spawnSync(file, args, {
    encoding: 'utf8',
    env: opts.env ?? process.env,
    input: opts.input ?? '',
    timeout,
    killSignal: 'SIGKILL',
  });
  if (result.error && (result.error as NodeJS.ErrnoException).code !== 'ETIMEDOUT') {
    throw new Error(`${file} ${args.join(' ')}: ${result.error.message}`);
  }
  const timedOut = result.status === null && result.signal === 'SIGKILL';
  return {
    status: result.status ?? 128 + 9,
    stdout: String(result.stdout ?? ''),
    stderr: String(result.stderr ?? '') + (timedOut ? `\n[killed after ${timeout} ms]` : ''),
  };
}

/** Throws with the command's output unless it exited 0; returns its stdout. */
export function mustRun(file: string, args: string[], opts: RunOptions = {}): string {
  const out = run(file, args, opts);
  if (out.status !== 0) {
    throw new Error(`${file} ${args.join(' ')}: exit ${out.status}\n${out.stdout}${out.stderr}`);
  }
  return out.stdout;
}

/** Fails the suite early, with the package to install, when a host tool is missing. */
export function requireTools(tools: Record<string, string>): void {
  const missing = Object.entries(tools).filter(([tool]) => run('/bin/sh', [
    '-c', `command -v ${tool}`,
  ]).status !== 0);
  if (missing.length > 0) {
    const list = missing.map(([tool, pkg]) => `${tool} (apt-get install ${pkg})`).join(', ');
    throw new Error(`end-to-end tests need: ${list}`);
  }
}

/**
 * A tarball of the busybox rootfs of scripts/make-rootfs.mjs, written to `tarball`, with the
 * host files `extra` maps to (absolute paths in the rootfs) copied in.
 */
export function busyboxTarball(workDir: string, tarball: string,
  extra: Record<string, string> = {}): void {
  const rootfs = join(workDir, 'busybox-rootfs');
  makeRootfs(rootfs);
  for (const [inside, host] of Object.entries(extra)) copyFileSync(host, join(rootfs, inside));
  mustRun('tar', ['--numeric-owner', '-C', rootfs, '-cf', tarball, '.']);
}

/** Quotes one word for /bin/sh. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * Runs `argv` on the slave side of a fresh pty made by script(1), as an interactive user
 * would; `input` is typed into the terminal, whose size is `rows` x `cols` (24 x 80 by
 * default). script exits with the command's status.
 */
export function inPty(argv: string[], opts: RunOptions & { rows?: number; cols?: number } = {}):
Outcome {
  // script(1) leaves the window size at 0x0, as no terminal emulator is behind it.
  const size = `stty rows ${opts.rows ?? 24} cols ${opts.cols ?? 80}; `;
  const command = size + 'exec ' + argv.map(shellQuote).join(' ');
  const out = run('script', ['-q', '-e', '-c', command, '/dev/null'], opts);
  return { ...out, stdout: out.stdout.replace(/\r/g, '') };
}

/**
 * Shell code that prints the terminal size once it is set. Callers resize the pty after the
 * process starts (ctr does, as with runc), so the first look may find 0 x 0.
 */
export const PRINT_TTY_SIZE = 'for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do ' +
  's=$(stty size 2>/dev/null); [ -n "$s" ] && [ "$s" != "0 0" ] && break; sleep 0.1; done; ' +
  'echo "size $s"';

/** Polls `check` every 100 ms until it returns true or `timeoutMs` passes. */
export async function waitFor(what: string, check: () => boolean, timeoutMs = 10_000):
Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Lines of /proc/self/mountinfo under `dir`: what a test left mounted. */
export function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((line) => line.split(' ')[4]?.startsWith(dir));
}

/** Unmounts (lazily, deepest first) whatever is still mounted under `dir`. */
export function unmountUnder(dir: string): void {
  const points = mountsUnder(dir).map((line) => line.split(' ')[4]!).sort().reverse();
  for (const point of points) run('umount', ['-l', point]);
}

/** Pids of processes whose command line contains `text`. */
export function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmdline.includes(text)) pids.push(Number(entry));
    } catch {
      // The process exited while we looked.
    }
  }
  return pids;
}

const CGROUP_ROOT = '/sys/fs/cgroup';

/** Every controller directory (v1 and the unified one) that holds cgroup `relative`. */
export function cgroupDirs(relative: string): string[] {
  if (!existsSync(CGROUP_ROOT)) return [];
  return readdirSync(CGROUP_ROOT)
    .map((controller) => join(CGROUP_ROOT, controller, relative))
    .filter((dir) => existsSync(dir));
}

/**
 * Removes the test's cgroup parent in every hierarchy, children first. Only empty cgroups can
 * be removed, so a process left behind makes this throw, which is the leak check.
 */
export function removeCgroupTree(relative: string): void {
  const remove = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) remove(join(dir, entry.name));
    }
    rmdirSync(dir);
  };
  for (const dir of cgroupDirs(relative)) remove(dir);
}
