// Validation of config.json's "process": what the runtime relies on when it sets up the
// container's first process (and, through `hako exec --process`, any later one).

import { Checker, type JsonObject } from './check.js';
import { isCapability, isRlimit } from './linux.js';

const CAPABILITY_SETS = ['bounding', 'effective', 'inheritable', 'permitted', 'ambient'] as const;

const SCHEDULER_POLICIES = [
  'SCHED_OTHER', 'SCHED_FIFO', 'SCHED_RR', 'SCHED_BATCH', 'SCHED_ISO', 'SCHED_IDLE',
  'SCHED_DEADLINE',
] as const;

const IOPRIO_CLASSES = ['IOPRIO_CLASS_RT', 'IOPRIO_CLASS_BE', 'IOPRIO_CLASS_IDLE'] as const;

export function validateProcess(c: Checker, path: string, value: unknown): void {
  const p = c.object(path, value);

  c.optBoolean(`${path}.terminal`, p.terminal);
  const box = c.optObject(`${path}.consoleSize`, p.consoleSize);
  if (box) {
    c.integer(`${path}.consoleSize.height`, box.height, 0, 65535);
    c.integer(`${path}.consoleSize.width`, box.width, 0, 65535);
  }

  validateUser(c, `${path}.user`, p.user);

  if (!Array.isArray(p.args) || p.args.length === 0
    || !p.args.every((a) => typeof a === 'string')) {
    c.fail(`${path}.args`, 'must be a non-empty array of strings');
  }

  validateEnv(c, `${path}.env`, p.env);
  c.absolutePath(`${path}.cwd`, p.cwd);

  validateCapabilities(c, `${path}.capabilities`, p.capabilities);
  validateRlimits(c, `${path}.rlimits`, p.rlimits);

  c.optBoolean(`${path}.noNewPrivileges`, p.noNewPrivileges);
  c.optString(`${path}.apparmorProfile`, p.apparmorProfile);
  c.optString(`${path}.selinuxLabel`, p.selinuxLabel);
  // The kernel's own bounds for /proc/<pid>/oom_score_adj.
  c.optInteger(`${path}.oomScoreAdj`, p.oomScoreAdj, -1000, 1000);

  validateScheduler(c, `${path}.scheduler`, p.scheduler);
  const io = c.optObject(`${path}.ioPriority`, p.ioPriority);
  if (io) {
    c.oneOf(`${path}.ioPriority.class`, io.class, IOPRIO_CLASSES, 'I/O priority class');
    c.integer(`${path}.ioPriority.priority`, io.priority, 0, 7);
  }
  const affinity = c.optObject(`${path}.execCPUAffinity`, p.execCPUAffinity);
  if (affinity) {
    c.optString(`${path}.execCPUAffinity.initial`, affinity.initial);
    c.optString(`${path}.execCPUAffinity.final`, affinity.final);
  }
}

function validateUser(c: Checker, path: string, value: unknown): void {
  const user = c.object(path, value);
  c.uint32(`${path}.uid`, user.uid);
  c.uint32(`${path}.gid`, user.gid);
  c.optInteger(`${path}.umask`, user.umask, 0, 0o777);
  c.optArray(`${path}.additionalGids`, user.additionalGids)
    ?.forEach((gid, i) => c.uint32(`${path}.additionalGids[${i}]`, gid));
  c.optString(`${path}.username`, user.username);
}

function validateEnv(c: Checker, path: string, value: unknown): void {
  const env = c.optStringArray(path, value);
  env?.forEach((entry, i) => {
    // execve(2) would accept these, but a variable without a name cannot be looked up and
    // runc refuses them too, so a typo surfaces here instead of as a missing variable.
    const eq = entry.indexOf('=');
    if (eq <= 0) {
      c.fail(`${path}[${i}]`, `must be of the form NAME=VALUE, got ${JSON.stringify(entry)}`);
    }
  });
}

function validateCapabilities(c: Checker, path: string, value: unknown): void {
  const caps = c.optObject(path, value);
  if (!caps) return;
  for (const set of CAPABILITY_SETS) {
    c.optStringArray(`${path}.${set}`, caps[set])?.forEach((name, i) => {
      if (!isCapability(name)) c.fail(`${path}.${set}[${i}]`, `unknown capability "${name}"`);
    });
  }
}

function validateRlimits(c: Checker, path: string, value: unknown): void {
  const seen = new Set<string>();
  c.optArray(path, value)?.forEach((item, i) => {
    const at = `${path}[${i}]`;
    const limit = c.object(at, item);
    const type = c.string(`${at}.type`, limit.type);
    if (!isRlimit(type)) c.fail(`${at}.type`, `unknown rlimit type "${type}"`);
    // The spec requires an error for a type given twice rather than picking one.
    if (seen.has(type)) c.fail(`${at}.type`, `duplicate rlimit type "${type}"`);
    seen.add(type);

    const soft = c.integer(`${at}.soft`, limit.soft, 0, 2 ** 64);
    const hard = c.integer(`${at}.hard`, limit.hard, 0, 2 ** 64);
    if (soft > hard) c.fail(at, `soft limit ${soft} exceeds hard limit ${hard}`);
  });
}

function validateScheduler(c: Checker, path: string, value: unknown): void {
  const s: JsonObject | undefined = c.optObject(path, value);
  if (!s) return;
  c.oneOf(`${path}.policy`, s.policy, SCHEDULER_POLICIES, 'scheduler policy');
  c.optInteger(`${path}.nice`, s.nice, -20, 19);
  c.optInteger(`${path}.priority`, s.priority, 0, 99);
  c.optStringArray(`${path}.flags`, s.flags);
  for (const key of ['runtime', 'deadline', 'period'] as const) {
    c.optInt64(`${path}.${key}`, s[key]);
  }
}
