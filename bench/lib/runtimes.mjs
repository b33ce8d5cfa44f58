// The runtimes under test: how each is invoked, which containers of each are alive, and how
// every one of them is removed again whatever happened.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { BASELINE } from './baseline.mjs';
import { invoke } from './proc.mjs';

/**
 * crun 1.8.1 refuses a hybrid cgroup hierarchy. In a private mount namespace with cgroup2 on
 * /sys/fs/cgroup and its cgroup manager disabled it runs; the price is an unshare, a shell and a
 * mount per invocation, measured separately as the wrapper's own cost.
 */
const CRUN_WRAPPER = 'mount -t cgroup2 none /sys/fs/cgroup && exec "$0" "$@"';

/**
 * Builds the runtimes. `layout` is 'v1', 'hybrid' or 'v2'; `only` optionally limits the names;
 * `baseline` ({ bin, label }) adds a second hako, whatever `only` says. Each runtime: { name,
 * label, bin, root, version (first line), versionText, argv(args), wrapped, live: Set of
 * container ids, broken?: why it cannot be measured }.
 */
export function makeRuntimes({ scratch, layout, hakoBin, only, baseline }) {
  const specs = [
    { name: 'runc', bin: findBinary(process.env.BENCH_RUNC, ['/usr/sbin/runc', '/usr/bin/runc']) },
    { name: 'crun', bin: findBinary(process.env.BENCH_CRUN, ['/usr/bin/crun', '/usr/sbin/crun']) },
    { name: 'hako', bin: existsSync(hakoBin) ? hakoBin : undefined },
  ].filter((s) => !only || only.includes(s.name));
  if (baseline) specs.push({ name: BASELINE, label: baseline.label, bin: baseline.bin });
  return specs
    .map((s) => {
      const root = join(scratch, `root-${s.name}`);
      mkdirSync(root, { recursive: true });
      const wrapped = s.name === 'crun' && layout !== 'v2';
      const versionText = version(s.bin);
      const runtime = {
        label: s.name, ...s, root, wrapped, live: new Set(), version: versionText.split('\n')[0],
        versionText,
      };
      runtime.argv = (args) => commandLine(runtime, args);
      if (!s.bin) runtime.broken = 'not installed';
      return runtime;
    });
}

/** hako under test or the baseline build: the runtimes with hako's wasm handler. */
export function isHako(runtime) {
  return runtime.name === 'hako' || runtime.name === BASELINE;
}

function commandLine(runtime, args) {
  if (runtime.name === 'crun' && runtime.wrapped) {
    return ['unshare', '-m', 'sh', '-c', CRUN_WRAPPER, runtime.bin,
      '--cgroup-manager=disabled', '--root', runtime.root, ...args];
  }
  return [runtime.bin, '--root', runtime.root, ...args];
}

/** The wrapper alone (unshare, sh, mount, exec of `true`): what crun's column pays extra. */
export function crunWrapperArgv() {
  return ['unshare', '-m', 'sh', '-c', CRUN_WRAPPER, 'true'];
}

function findBinary(override, candidates) {
  if (override) return override;
  return candidates.find((path) => existsSync(path));
}

function version(bin) {
  if (!bin) return 'not installed';
  try {
    const options = { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] };
    return execFileSync(bin, ['--version'], options).trim();
  } catch {
    return 'unknown (--version failed)';
  }
}

/**
 * Whether the runtime has a subcommand: its `<command> --help` must name the command in its
 * first lines. A CLI without it may print its general help instead, and exit 0 (commander does).
 */
export async function hasCommand(runtime, command, options) {
  const result = await invoke(runtime.argv([command, '--help']), options);
  if (result.code !== 0) return false;
  const head = result.stdout.split('\n').filter((l) => l.trim()).slice(0, 2).join('\n');
  return new RegExp(`\\b${command}\\b`).test(head);
}

/** `delete --force` of one container; forgets it when that worked. */
export async function forceDelete(runtime, id, options) {
  const result = await invoke(runtime.argv(['delete', '--force', id]), options);
  if (result.code === 0) runtime.live.delete(id);
  return result;
}

/**
 * Removes every container the benchmark may have left: those it knows of and any state directory
 * still under the runtime's root (runc, crun and hako all keep one directory per container id).
 * Returns the ids that survived, which the report names as leaks.
 */
export async function sweep(runtime, options) {
  if (!runtime.bin) return [];
  const ids = new Set(runtime.live);
  if (existsSync(runtime.root)) {
    for (const entry of readdirSync(runtime.root, { withFileTypes: true })) {
      if (entry.isDirectory()) ids.add(entry.name);
    }
  }
  const left = [];
  for (const id of ids) {
    const result = await forceDelete(runtime, id, options);
    if (result.code !== 0 || existsSync(join(runtime.root, id))) left.push(id);
  }
  return left;
}

/**
 * After a `run`, which deletes its own container: `delete --force` only when the container's
 * state directory is still there, so the cleanup does not cost a runtime start per container.
 */
export async function deleteIfLeft(runtime, id, options) {
  if (!existsSync(join(runtime.root, id))) {
    runtime.live.delete(id);
    return undefined;
  }
  return forceDelete(runtime, id, options);
}
