import {
  mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { CgroupHandle, CgroupLayout } from '../../src/core/cgroups/index.js';
import { detectLayout } from '../../src/core/cgroups/index.js';

/*
 * A fake cgroup hierarchy in a temp directory: regular files stand in for cgroup files.
 * The kernel fills a new cgroup directory with its files; the fake cannot, so a file the
 * code writes simply appears, and tests read it back.
 */

export interface Fake {
  root: string;
  layout: CgroupLayout;
  /** Reads a file under the fake root, trimmed. */
  read(path: string): string;
  write(path: string, text: string): void;
  cleanup(): void;
}

const V1_HIERARCHIES: [dir: string, options: string][] = [
  ['cpu,cpuacct', 'rw,cpu,cpuacct'],
  ['cpuset', 'rw,cpuset'],
  ['memory', 'rw,memory'],
  ['pids', 'rw,pids'],
  ['blkio', 'rw,blkio'],
  ['devices', 'rw,devices'],
  ['freezer', 'rw,freezer'],
  ['hugetlb', 'rw,hugetlb'],
  ['net_cls,net_prio', 'rw,net_cls,net_prio'],
  ['systemd', 'rw,xattr,name=systemd'],
];

function base(prefix: string): Omit<Fake, 'layout'> {
  const root = mkdtempSync(join(tmpdir(), prefix));
  return {
    root,
    read: (path) => readFileSync(join(root, path), 'utf8').trim(),
    write: (path, text) => writeFileSync(join(root, path), text),
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** A v1 (or, with `unified`, hybrid) hierarchy and the mountinfo that describes it. */
export function fakeV1(opts: { unified?: boolean; skip?: string[] } = {}): Fake {
  const fake = base('hako-cg1-');
  const lines: string[] = [];
  let id = 30;
  for (const [dir, options] of V1_HIERARCHIES) {
    if (opts.skip?.includes(dir)) continue;
    mkdirSync(join(fake.root, dir));
    writeFileSync(join(fake.root, dir, 'cgroup.procs'), '');
    const mountpoint = `${fake.root}/${dir}`;
    lines.push(`${id++} 25 0:${id} / ${mountpoint} rw,relatime - cgroup cgroup ${options}`);
  }
  if (!opts.skip?.includes('cpuset')) {
    fake.write('cpuset/cpuset.cpus', '0-1\n');
    fake.write('cpuset/cpuset.mems', '0\n');
  }
  if (opts.unified === true) {
    mkdirSync(join(fake.root, 'unified'));
    lines.push(`${id} 25 0:99 / ${fake.root}/unified rw,relatime - cgroup2 cgroup2 rw`);
  }
  return { ...fake, layout: detectLayout(lines.join('\n')) };
}

/** A pure cgroup2 hierarchy whose root offers `controllers`. */
export function fakeV2(controllers = 'cpuset cpu io memory hugetlb pids rdma'): Fake {
  const fake = base('hako-cg2-');
  fake.write('cgroup.controllers', `${controllers}\n`);
  fake.write('cgroup.subtree_control', '');
  const mountinfo = `40 25 0:27 / ${fake.root} rw,nosuid - cgroup2 cgroup2 rw,nsdelegate`;
  return { ...fake, layout: detectLayout(mountinfo) };
}

/**
 * What rmdir does on cgroupfs for free: the cgroup's files go with the directory. The fake's
 * regular files must be deleted first, or rmdir fails with ENOTEMPTY.
 */
export function dropFiles(handle: CgroupHandle): void {
  for (const dir of handle.created) {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (!entry.isDirectory()) unlinkSync(join(dir, entry.name));
    }
  }
}

/** Collects debug lines. */
export function debugLog(): { lines: string[]; debug(message: string): void } {
  const lines: string[] = [];
  return { lines, debug: (message) => lines.push(message) };
}
