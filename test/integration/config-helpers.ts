/**
 * Pieces shared by the config-*.test.ts files, which check that each config.json item is
 * applied by looking at it from inside a real container.
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync, closeSync, mkdirSync, openSync, readFileSync, readlinkSync,
} from 'node:fs';
import { join } from 'node:path';

import { expect } from 'vitest';

import type { Spec } from '../../src/core/spec/types.js';
import { type Result, type Scratch } from './helpers.js';

/**
 * `scratch.bundle` with a rootfs whose / is 0755 as in any image: the shared template is a
 * mkdtemp directory (0700), which a workload running as another user could not even enter.
 */
export function makeBundle(scratch: Scratch, edit: (spec: Spec) => void = () => {}): string {
  const bundle = scratch.bundle(edit);
  chmodSync(join(bundle, 'rootfs'), 0o755);
  return bundle;
}

/** `run` that must succeed: returns stdout, and shows stderr when it did not. */
export function runOk(scratch: Scratch, script: string, edit: (spec: Spec) => void = () => {}) {
  const r = runScript(scratch, script, edit);
  expect(r.status, `hako run failed: ${r.stderr}`).toBe(0);
  return r.stdout;
}

/** `run` of a script whose status and output the test looks at. */
export function runScript(
  scratch: Scratch,
  script: string,
  edit: (spec: Spec) => void = () => {},
): Result {
  const bundle = makeBundle(scratch, (spec) => {
    spec.process!.args = ['sh', '-c', script];
    edit(spec);
  });
  return runBundle(scratch, bundle);
}

/** Lines of output as `key=value` pairs, for scripts that print several observations. */
export function fields(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

export interface Detached {
  id: string;
  pid: number;
  bundle: string;
}

/**
 * A container left running (`run -d`): its stdio goes nowhere, or the workload would hold
 * the pipes of spawnSync open. Delete it with `scratch.hako(['delete', '--force', id])`.
 */
export function runDetached(
  scratch: Scratch,
  args: string[],
  edit: (spec: Spec) => void = () => {},
): Detached {
  const bundle = makeBundle(scratch, (spec) => {
    spec.process!.args = args;
    edit(spec);
  });
  const id = scratch.id('bg');
  const errFile = join(scratch.dir, `${id}.stderr`);
  const errFd = openSync(errFile, 'w');
  let r: Result;
  try {
    r = scratch.hako(['run', '-d', '--bundle', bundle, id], { stdio: ['ignore', 'ignore', errFd] });
  } finally {
    closeSync(errFd);
  }
  expect(r.status, `hako run -d failed: ${readFileSync(errFile, 'utf8')}`).toBe(0);
  const state = scratch.hako(['state', id]);
  expect(state.status, state.stderr).toBe(0);
  const pid = (JSON.parse(state.stdout) as { pid: number }).pid;
  expect(pid).toBeGreaterThan(0);
  return { id, pid, bundle };
}

/** The namespace a process is in, as `readlink /proc/<pid>/ns/<type>` prints it. */
export function nsOf(pid: number | 'self', type: string): string {
  return readlinkSync(`/proc/${pid}/ns/${type}`);
}

/** A spec's namespace list with `type` removed. */
export function withoutNamespace(spec: Spec, type: string): void {
  spec.linux!.namespaces = spec.linux!.namespaces!.filter((ns) => ns.type !== type);
}

/** A spec's namespace list with `type` added (new, or joined when `path` is given). */
export function withNamespace(spec: Spec, type: string, path?: string): void {
  withoutNamespace(spec, type);
  const ns = { type, ...(path ? { path } : {}) } as NonNullable<
    NonNullable<Spec['linux']>['namespaces']
  >[number];
  spec.linux!.namespaces!.push(ns);
}

/** Collapses runs of blanks, as /proc/self/uid_map pads its columns. */
export function squash(text: string): string {
  return text.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' ')).join('\n');
}

/** `run` of a bundle made beforehand (to put files in its rootfs). */
export function runBundle(scratch: Scratch, bundle: string, extra: string[] = []): Result {
  return scratch.hako(['run', ...extra, '--bundle', bundle, scratch.id('run')]);
}

export interface MountInfo {
  dev: string;
  root: string;
  mountPoint: string;
  options: string[];
  /** Optional fields: shared:N, master:N, propagate_from:N, unbindable. */
  tags: string[];
  fstype: string;
  source: string;
  superOptions: string[];
}

/** Parses /proc/<pid>/mountinfo text (mount points with spaces are not expected here). */
export function parseMountinfo(text: string): MountInfo[] {
  const mounts: MountInfo[] = [];
  for (const line of text.split('\n')) {
    const parts = line.trim().split(' ');
    const dash = parts.indexOf('-');
    if (dash < 6) continue;
    mounts.push({
      dev: parts[2],
      root: parts[3],
      mountPoint: parts[4],
      options: parts[5].split(','),
      tags: parts.slice(6, dash),
      fstype: parts[dash + 1],
      source: parts[dash + 2],
      superOptions: (parts[dash + 3] ?? '').split(','),
    });
  }
  return mounts;
}

/** The topmost mount at `mountPoint` (the last one listed there). */
export function mountAt(mounts: MountInfo[], mountPoint: string): MountInfo {
  const found = mounts.filter((m) => m.mountPoint === mountPoint);
  expect(found.length, `a mount at ${mountPoint}`).toBeGreaterThan(0);
  return found[found.length - 1];
}

/** Mounts a test makes on the host, undone at the end, newest first. */
export class HostMounts {
  private readonly targets: string[] = [];

  mount(args: string[], target: string): void {
    mkdirSync(target, { recursive: true });
    execFileSync('mount', [...args, target]);
    this.targets.push(target);
  }

  unmountAll(): void {
    for (const target of this.targets.splice(0).reverse()) {
      try {
        execFileSync('umount', ['-l', target]);
      } catch {
        // Already gone.
      }
    }
  }
}
