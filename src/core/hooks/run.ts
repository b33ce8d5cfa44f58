import { spawn, type ChildProcess } from 'node:child_process';

import { HakoError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Hook } from '../spec/types.js';

export interface RunHooksOptions {
  /** Hook stderr goes here at debug level; warnings of warnOnly hooks too. */
  logger?: Logger;
  /**
   * Report a failing hook as a warning and go on with the next one. The runtime-spec asks
   * this of poststart and poststop hooks: the container has started, or is already gone.
   */
  warnOnly?: boolean;
}

/**
 * Runs `hooks` one after the other, as the runtime-spec describes: each gets the container
 * state as JSON on stdin, exactly its own `args` (args[0] is argv[0]) and `env`, and must exit
 * 0 within `timeout` seconds. The first failure rejects with a HakoError, unless warnOnly.
 * `kind` names the hook list in messages: "prestart", "createRuntime", ...
 */
export async function runHooks(
  hooks: Hook[] | undefined,
  state: object,
  kind: string,
  opts: RunHooksOptions = {},
): Promise<void> {
  if (hooks === undefined || hooks.length === 0) return;
  const input = JSON.stringify(state);

  for (const hook of hooks) {
    try {
      await runHook(hook, input, kind, opts.logger);
    } catch (err) {
      if (!opts.warnOnly || !(err instanceof HakoError)) throw err;
      opts.logger?.warn(err.message);
    }
  }
}

/** Bytes of a hook's stderr kept for the error message: its tail. */
const STDERR_KEEP = 16 * 1024;

/** How long to wait for a hook's stderr to close after it exited (a child may hold it). */
const DRAIN_GRACE_MS = 200;

/** Hooks running now: a command ended by a signal ends them too (killRunningHooks). */
const running = new Set<ChildProcess>();

/**
 * SIGKILL to every hook still running, for a hako that is about to exit on a signal: a hook
 * may wait for the container it was told about, and would be left behind, reparented to init.
 */
export function killRunningHooks(): void {
  for (const child of running) killGroup(child);
}

function killGroup(child: ChildProcess): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

function runHook(hook: Hook, input: string, kind: string, logger?: Logger): Promise<void> {
  const what = `${kind} hook ${hook.path}`;
  const [argv0, ...rest] = hook.args ?? [hook.path];
  const timeout = hook.timeout !== undefined && hook.timeout > 0 ? hook.timeout : undefined;

  return new Promise((resolvePromise, rejectPromise) => {
    let child: ChildProcess;
    try {
      child = spawn(hook.path, rest, {
        argv0: argv0 ?? hook.path,
        env: envObject(hook.env ?? []),
        stdio: ['pipe', 'ignore', 'pipe'],
        // Its own process group, so that a kill reaches what the hook started too.
        detached: true,
      });
    } catch (err) {
      // Arguments Node refuses outright, such as a NUL byte in a path.
      const reason = err instanceof Error ? err.message : String(err);
      return rejectPromise(new HakoError(`${what}: cannot execute: ${reason}`));
    }

    running.add(child);
    let timedOut = false;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let settled = false;
    let drainTimer: NodeJS.Timeout | undefined;
    const killTimer =
      timeout === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            killGroup(child);
          }, timeout * 1000);
    const stderr = new StderrTail(logger, what);

    const finish = (err?: HakoError): void => {
      if (settled) return;
      settled = true;
      running.delete(child);
      clearTimeout(killTimer);
      clearTimeout(drainTimer);
      child.stderr?.destroy();
      stderr.flush();
      if (err) rejectPromise(err);
      else resolvePromise();
    };

    const conclude = (): void => {
      if (exit === undefined) return;
      if (timedOut) return finish(new HakoError(`${what}: timed out after ${timeout} s`));
      if (exit.code === 0) return finish();
      const how =
        exit.code !== null ? `exited with status ${exit.code}` : `killed by ${exit.signal}`;
      const line = stderr.lastLine();
      finish(new HakoError(`${what}: ${how}${line === '' ? '' : `: ${line}`}`));
    };

    child.on('error', (err: NodeJS.ErrnoException) => {
      finish(new HakoError(`${what}: cannot execute: ${errnoText(err)}`));
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => stderr.add(chunk));
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      // stderr normally closes with the hook; if a process it started keeps the pipe open,
      // the hook's own exit still decides, shortly after.
      drainTimer = setTimeout(conclude, DRAIN_GRACE_MS);
    });
    child.on('close', conclude);

    // A hook that does not read its stdin closes the pipe early: EPIPE is not its failure.
    child.stdin?.on('error', () => {});
    child.stdin?.end(input);
  });
}

/** Keeps the tail of a hook's stderr and passes its lines to the debug log. */
class StderrTail {
  private text = '';
  private partial = '';

  constructor(
    private readonly logger: Logger | undefined,
    private readonly what: string,
  ) {}

  add(chunk: string): void {
    this.text = (this.text + chunk).slice(-STDERR_KEEP);
    if (this.logger?.debugEnabled !== true) return;
    const lines = (this.partial + chunk).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) this.logger.debug(`${this.what}: stderr: ${line}`);
  }

  flush(): void {
    if (this.partial !== '') this.logger?.debug(`${this.what}: stderr: ${this.partial}`);
    this.partial = '';
  }

  lastLine(): string {
    const lines = this.text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
    return lines[lines.length - 1] ?? '';
  }
}

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  ENOEXEC: 'exec format error',
  ENOTDIR: 'not a directory',
};

function errnoText(err: NodeJS.ErrnoException): string {
  return err.code !== undefined && ERRNO_TEXT[err.code] !== undefined
    ? ERRNO_TEXT[err.code] as string
    : err.message;
}

/**
 * Node takes the environment as an object. The first of duplicate KEY=value entries wins,
 * as getenv(3) would find it; an entry without '=' cannot be passed and is left out.
 */
function envObject(env: string[]): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const entry of env) {
    const eq = entry.indexOf('=');
    if (eq <= 0) continue;
    const key = entry.slice(0, eq);
    if (!Object.hasOwn(out, key)) out[key] = entry.slice(eq + 1);
  }
  return out;
}
