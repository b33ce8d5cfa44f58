/**
 * The process `hako exec` starts, built as runc builds it: either a whole process.json given
 * with --process, or the container's own config.json process changed by the command line.
 * Pure functions: the kernel is not touched here.
 */
import { readFileSync } from 'node:fs';

import { HakoError } from '../errors.js';
import { Checker, isJsonObject, withoutNulls } from '../spec/check.js';
import { isCapability } from '../spec/linux.js';
import type { LinuxCapabilities, Process, Spec } from '../spec/types.js';
import { validateProcess } from '../spec/validate-process.js';
import { nodeErrorDescription } from '../sys/failure.js';

/** The command line of `exec` that shapes the process, as given (no defaults applied). */
export interface ExecFlags {
  /** The command and its arguments: everything after the container id. */
  args: string[];
  cwd?: string;
  /** NAME=VALUE entries, in order; a name given again replaces the earlier value. */
  env: string[];
  tty: boolean;
  /** `uid[:gid]`, numbers only, as runc takes it. */
  user?: string;
  additionalGids: string[];
  caps: string[];
  /** True when --no-new-privs was given; otherwise the config's value stands. */
  noNewPrivs: boolean;
  apparmor?: string;
  processLabel?: string;
}

/** The config's process with the command line's changes (runc's getProcess without -p). */
export function processFromFlags(base: Process, flags: ExecFlags): Process {
  if (flags.args.length === 0) throw new HakoError('exec args cannot be empty');
  const proc: Process = structuredClone(base);
  proc.args = [...flags.args];
  if (flags.cwd) proc.cwd = flags.cwd;
  if (flags.apparmor) proc.apparmorProfile = flags.apparmor;
  if (flags.processLabel) proc.selinuxLabel = flags.processLabel;
  if (flags.caps.length > 0) proc.capabilities = withCaps(proc.capabilities, flags.caps);
  proc.env = [...(proc.env ?? []), ...flags.env];
  // The config's terminal setting is for the init: an exec'd process has one only if asked.
  proc.terminal = flags.tty;
  if (flags.noNewPrivs) proc.noNewPrivileges = true;
  if (flags.user) {
    const { uid, gid } = parseUser(flags.user);
    proc.user.uid = uid;
    if (gid !== undefined) proc.user.gid = gid;
  }
  for (const text of flags.additionalGids) {
    proc.user.additionalGids = [...(proc.user.additionalGids ?? []), parseGid(text)];
  }
  return proc;
}

/**
 * runc adds each --cap to the bounding, effective and permitted sets; to the ambient set only
 * when the config has an inheritable set, since the kernel raises an ambient capability only
 * if it is also inheritable. A name is checked here, where the flag can be named: the check
 * of the merged process would point at `process.capabilities.bounding[n]`, which the user
 * never wrote. (runc 1.1 logs a warning and drops it; hako refuses unknown names everywhere.)
 */
function withCaps(caps: LinuxCapabilities | undefined, added: string[]): LinuxCapabilities {
  const unknown = added.find((name) => !isCapability(name));
  if (unknown !== undefined) {
    throw new HakoError(`--cap: unknown capability ${JSON.stringify(unknown)}`);
  }

  const next: LinuxCapabilities = { ...caps };
  const add = (set: string[] | undefined) => [...(set ?? []), ...added];
  next.bounding = add(next.bounding);
  next.effective = add(next.effective);
  next.permitted = add(next.permitted);
  if (next.inheritable !== undefined) next.ambient = add(next.ambient);
  return next;
}

/** `1000` or `1000:1000`. */
export function parseUser(text: string): { uid: number; gid?: number } {
  const [uidText, gidText] = splitOnce(text, ':');
  const uid = parseId(uidText, `--user ${JSON.stringify(text)}: uid`);
  if (gidText === undefined) return { uid };
  return { uid, gid: parseId(gidText, `--user ${JSON.stringify(text)}: gid`) };
}

function parseGid(text: string): number {
  return parseId(text, `--additional-gids ${JSON.stringify(text)}`);
}

function parseId(text: string, what: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 0xffffffff) {
    throw new HakoError(`${what}: must be a number from 0 to 4294967295`);
  }
  return Number(text);
}

function splitOnce(text: string, sep: string): [string, string | undefined] {
  const at = text.indexOf(sep);
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + sep.length)];
}

/**
 * A process.json (--process): parsed and checked like config.json's process. A missing
 * `user` is uid 0, gid 0, as Go's decoder leaves it in runc.
 */
export function readProcessFile(path: string): Process {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new HakoError(`open ${path}: ${nodeErrorDescription(err)}`);
  }
  return parseProcessJson(text, path);
}

export function parseProcessJson(text: string, where: string): Process {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new HakoError(`${where}: cannot parse: ${(err as Error).message}`);
  }
  const c = new Checker(where);
  if (!isJsonObject(raw)) c.fail('', 'must be a JSON object');
  const proc = withoutNulls(raw) as Record<string, unknown>;
  if (proc.user === undefined) proc.user = { uid: 0, gid: 0 };
  validateProcess(c, 'process', proc);
  return proc as unknown as Process;
}

/**
 * What the container supplies to every exec'd process (runc's newInitConfig): its
 * capabilities and rlimits when the process names none, and its oom_score_adj, which runc
 * takes from the container and never from the process. The environment loses duplicate names
 * (the last value wins, in the first one's place), so `--env PATH=...` replaces the config's.
 */
export function execProcessFor(config: Spec, proc: Process): Process {
  const container = config.process;
  // An empty HOME counts as none: the user's home is filled in later, as runc does.
  const env = dedupEnv(proc.env ?? []).filter((entry) => entry !== 'HOME=');
  const merged: Process = { ...proc, env };
  if (!merged.capabilities && container?.capabilities) {
    merged.capabilities = container.capabilities;
  }
  if (!merged.rlimits?.length && container?.rlimits?.length) merged.rlimits = container.rlimits;
  merged.oomScoreAdj = container?.oomScoreAdj;
  if (merged.oomScoreAdj === undefined) delete merged.oomScoreAdj;
  return merged;
}

export function dedupEnv(env: readonly string[]): string[] {
  const at = new Map<string, number>();
  const out: string[] = [];
  for (const entry of env) {
    const eq = entry.indexOf('=');
    const name = eq < 0 ? entry : entry.slice(0, eq);
    const index = at.get(name);
    if (index === undefined) {
      at.set(name, out.length);
      out.push(entry);
    } else {
      out[index] = entry;
    }
  }
  return out;
}

/** The whole exec'd process: from --process or from the flags, checked either way. */
export function buildExecProcess(
  config: Spec,
  source: { processFile: string } | { flags: ExecFlags },
): Process {
  let proc: Process;
  if ('processFile' in source) {
    proc = readProcessFile(source.processFile);
  } else {
    if (!config.process) throw new HakoError('config.json: process: is required');
    proc = processFromFlags(config.process, source.flags);
    // The flags may have added what config.json could not have held: check the result too.
    validateProcess(new Checker('exec'), 'process', proc);
  }
  return execProcessFor(config, proc);
}
