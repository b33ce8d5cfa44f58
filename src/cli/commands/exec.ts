import { isatty } from 'node:tty';

import type { Command } from 'commander';

import { HakoError } from '../../core/errors.js';
import { type ExecOptions, type Forked, execInContainer } from '../../core/lifecycle/exec.js';
import type { ExecFlags } from '../../core/process/from-flags.js';
import { globalsOf } from '../globals.js';
import { parseCount } from './options.js';

/** The options commander collects for `exec` (runc's names). */
export interface ExecCliOptions {
  consoleSocket?: string;
  cwd?: string;
  env?: string[];
  tty?: boolean;
  user?: string;
  additionalGids?: string[];
  process?: string;
  detach?: boolean;
  pidFile?: string;
  processLabel?: string;
  apparmor?: string;
  /** commander's name for --no-new-privs: false when the flag is given. */
  newPrivs?: boolean;
  cap?: string[];
  preserveFds?: string;
  cgroup?: string[];
  ignorePaused?: boolean;
}

/** Signals a person or a supervisor sends to a foreground exec, passed on to its process. */
const FORWARDED: NodeJS.Signals[] = [
  'SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH', 'SIGCONT',
];

export async function execCommand(command: Command, id: unknown, args: unknown): Promise<number> {
  const opts = command.opts<ExecCliOptions>();
  const globals = globalsOf(command);
  const forwarder = opts.detach ? undefined : new SignalForwarder();
  let restoreTerminal: () => void = () => undefined;
  try {
    const request = execRequest(String(id), originalTail(asStrings(args)), opts);
    const started = await execInContainer({
      ...request,
      root: globals.root,
      logger: globals.logger,
      onForked: (forked) => forwarder?.target(forked),
    });
    if (opts.detach) return 0;
    // The agent relays the pty: this terminal goes raw, as runc makes it, so that every key
    // reaches the container's.
    if (started.proxy) restoreTerminal = rawStdin();
    return await started.exited;
  } catch (err) {
    // runc's exec ends every failure the same way: this prefix, status 255.
    const message = err instanceof Error ? err.message : String(err);
    throw new HakoError(`exec failed: ${message}`, 255);
  } finally {
    restoreTerminal();
    forwarder?.stop();
  }
}

/** The command line turned into what the lifecycle takes (no I/O). */
export function execRequest(
  id: string,
  command: string[],
  opts: ExecCliOptions,
): Omit<ExecOptions, 'root' | 'logger' | 'onForked'> {
  const flags: ExecFlags = {
    args: command,
    cwd: opts.cwd,
    env: opts.env ?? [],
    tty: opts.tty === true,
    user: opts.user,
    additionalGids: opts.additionalGids ?? [],
    caps: opts.cap ?? [],
    noNewPrivs: opts.newPrivs === false,
    apparmor: opts.apparmor,
    processLabel: opts.processLabel,
  };
  return {
    id,
    source: opts.process ? { processFile: opts.process } : { flags },
    detach: opts.detach === true,
    pidFile: opts.pidFile,
    consoleSocket: opts.consoleSocket,
    preserveFds: parseCount('--preserve-fds', opts.preserveFds ?? '0'),
    cgroups: opts.cgroup ?? [],
    ignorePaused: opts.ignorePaused === true,
  };
}

/**
 * The command after the id exactly as typed. The CLI rewrites Go-style flags such as `-user`
 * to `--user` in the whole argv before parsing, which must not reach the container
 * (`find / -user 0`); the command is always the tail of argv, so it is taken back from there.
 */
export function originalTail(tail: string[], argv: readonly string[] = process.argv): string[] {
  if (tail.length === 0 || tail.length > argv.length) return tail;
  const raw = argv.slice(argv.length - tail.length);
  const same = raw.every((arg, i) => arg === tail[i] || `-${arg}` === tail[i]);
  return same ? raw : tail;
}

function asStrings(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [];
}

/** Raw mode for a stdin that is a terminal; returns what restores it. */
function rawStdin(): () => void {
  if (!isatty(0)) return () => undefined;
  process.stdin.setRawMode(true);
  return () => process.stdin.setRawMode(false);
}

/**
 * Passes signals on to the exec'd process; SIGWINCH goes to the agent when it relays the pty
 * (it copies the new size onto it). One that arrives before the program runs is held and sent
 * once it does, rather than ending hako and leaving the agent behind, or ending the setup.
 */
class SignalForwarder {
  private forked: Forked | undefined;
  private readonly pending: NodeJS.Signals[] = [];
  private readonly handlers = new Map<NodeJS.Signals, () => void>();

  constructor() {
    for (const signal of FORWARDED) {
      const handler = () => {
        if (this.forked === undefined) this.pending.push(signal);
        else this.send(signal);
      };
      this.handlers.set(signal, handler);
      process.on(signal, handler);
    }
  }

  target(forked: Forked): void {
    this.forked = forked;
    for (const signal of this.pending.splice(0)) this.send(signal);
  }

  stop(): void {
    for (const [signal, handler] of this.handlers) process.removeListener(signal, handler);
  }

  private send(signal: NodeJS.Signals): void {
    const forked = this.forked as Forked;
    const pid = forked.proxy && signal === 'SIGWINCH' ? forked.agentPid : forked.pid;
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone: its exit status is on its way.
    }
  }
}
