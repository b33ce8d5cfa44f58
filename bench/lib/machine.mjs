// What the numbers were measured on, and the cgroup hierarchy the runtimes see.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmdirSync, statfsSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

const CGROUP2_SUPER_MAGIC = 0x63677270;

/** 'v2' when /sys/fs/cgroup is cgroup2 itself, 'hybrid' with a cgroup2 beside v1, else 'v1'. */
export function cgroupLayout() {
  if (statfsSync('/sys/fs/cgroup').type === CGROUP2_SUPER_MAGIC) return 'v2';
  const unified = '/sys/fs/cgroup/unified';
  if (existsSync(unified) && statfsSync(unified).type === CGROUP2_SUPER_MAGIC) return 'hybrid';
  return 'v1';
}

/** `hakoDir` and `baselineDir`: where the launchers under test are, to name their commits. */
export function describeMachine({ layout, runtimes, loadAtStart, hakoDir, baselineDir }) {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const cpu = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  const controllers = layout === 'v2'
    ? readFileSync('/sys/fs/cgroup/cgroup.controllers', 'utf8').trim() || 'none'
    : readdirSync('/sys/fs/cgroup').filter((n) => n !== 'unified').join(', ');
  return {
    date: new Date().toISOString(),
    kernel: `${os.type()} ${os.release()}`,
    os: osName(),
    cpu,
    cores: os.cpus().length,
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    node: process.version,
    cgroups: layout === 'v2' ? `cgroup v2 (controllers: ${controllers})`
      : `${layout}: v1 controllers (${controllers})` +
        (layout === 'hybrid' ? ', empty cgroup2 on /sys/fs/cgroup/unified' : ''),
    runtimes: runtimes.map((r) => ({
      name: r.label ?? r.name, version: r.version, bin: r.where ?? r.bin,
    })),
    load: `${loadAtStart.map((l) => l.toFixed(2)).join(', ')} at start, ` +
      `${os.loadavg().map((l) => l.toFixed(2)).join(', ')} at the end (1, 5, 15 min)`,
    hakoCommit: gitCommit(hakoDir ?? process.cwd()),
    baselineCommit: baselineDir ? gitCommit(baselineDir) : undefined,
  };
}

function osName() {
  try {
    return /^PRETTY_NAME="?([^"\n]*)/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

/** "abc1234", with " (work tree modified)" when tracked files differ from it; else 'unknown'. */
export function gitCommit(dir) {
  const head = gitHead(dir);
  if (!head) return 'unknown';
  return `${head.commit}${head.modified ? ' (work tree modified)' : ''}`;
}

/** { commit, modified } of the git checkout holding `dir`, or undefined outside one. */
export function gitHead(dir) {
  try {
    const run = (args) => execFileSync('git', ['-C', dir, ...args],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const commit = run(['rev-parse', '--short', 'HEAD']);
    const modified = run(['status', '--porcelain', '--untracked-files=no']) !== '';
    return { commit, modified };
  } catch {
    return undefined;
  }
}

/**
 * Removes the benchmark's cgroup parent from every hierarchy. Container cgroups still below it
 * were leaked by a runtime: they are removed when empty and returned so the report names them.
 */
export function removeCgroupParent(parent) {
  const leaked = [];
  const hierarchies = existsSync('/sys/fs/cgroup/cgroup.controllers')
    ? ['/sys/fs/cgroup']
    : readdirSync('/sys/fs/cgroup').map((n) => join('/sys/fs/cgroup', n));
  for (const hierarchy of hierarchies) {
    const dir = join(hierarchy, parent);
    if (!existsSync(dir)) continue;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      leaked.push(join(dir, entry.name));
      try {
        rmdirSync(join(dir, entry.name));
      } catch {
        // Still holds processes: left for a human, and named in the report.
      }
    }
    try {
      rmdirSync(dir);
    } catch {
      // Same: a leaked child keeps the parent.
    }
  }
  return leaked;
}
