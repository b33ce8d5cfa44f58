// Bundles for the benchmark: one busybox rootfs shared read-only by every container, and one
// small bundle directory per container (its config.json names its own cgroup).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { makeRootfs } from '../../scripts/make-rootfs.mjs';

/** The cgroup parent of every benchmark container, so the host's own cgroups stay untouched. */
export const CGROUP_PARENT = 'hako-bench';

/**
 * Makes the shared rootfs and the config.json template. The template comes from `runc spec` (or
 * `hako spec` when runc is missing), so every runtime reads the same defaults.
 */
export function prepareBundles({ scratch, runtimes }) {
  const rootfs = makeRootfs(join(scratch, 'rootfs'));
  const templateDir = join(scratch, 'template');
  mkdirSync(templateDir, { recursive: true });
  const source = runtimes.find((r) => r.name === 'runc' && r.bin) ??
    runtimes.find((r) => r.name === 'hako' && r.bin);
  if (!source) throw new Error('bench: neither runc nor hako is available to write a config.json');
  execFileSync(source.bin, ['spec', '--bundle', templateDir]);
  const template = JSON.parse(readFileSync(join(templateDir, 'config.json'), 'utf8'));
  return { scratch, rootfs, template, source: source.name };
}

/**
 * Writes the bundle of container `id` and returns its directory. `args` is process.args;
 * `memoryBytes` sets linux.resources.memory (with swap equal to it off cgroup v2, so that a v1
 * memsw limit cannot let the workload escape into swap); `annotations` are merged in.
 */
export function writeBundle(bundles, id, { args, memoryBytes, annotations, layout }) {
  const dir = join(bundles.scratch, 'bundles', id);
  mkdirSync(dir, { recursive: true });
  const config = structuredClone(bundles.template);
  config.root = { path: bundles.rootfs, readonly: true };
  config.process.terminal = false;
  config.process.args = args;
  config.hostname = 'bench';
  config.linux.cgroupsPath = `/${CGROUP_PARENT}/${id}`;
  if (memoryBytes !== undefined) {
    const memory = { limit: memoryBytes };
    if (layout !== 'v2') memory.swap = memoryBytes;
    config.linux.resources = { ...config.linux.resources, memory };
  }
  if (annotations) config.annotations = { ...config.annotations, ...annotations };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  return dir;
}

export function removeBundle(bundles, id) {
  rmSync(join(bundles.scratch, 'bundles', id), { recursive: true, force: true });
}
