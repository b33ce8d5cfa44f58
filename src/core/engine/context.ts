/**
 * What the engine gives a handler (src/handlers/api.ts): the context of each phase, the
 * plugin module loaded from the host, and the timeout that bounds validate and prepare.
 */
import { spawn } from 'node:child_process';
import { writeSync } from 'node:fs';
import { constants } from 'node:os';
import { pathToFileURL } from 'node:url';

import { type Handler, type HandlerContext, handlerOf } from '../../handlers/api.js';
import { HakoError } from '../errors.js';
import type { Spec } from '../spec/types.js';

export const TIMEOUT_ANNOTATION = 'run.oci.handler.timeout';
const DEFAULT_TIMEOUT_S = 30;

/** Seconds validate and prepare may take together, from the annotation or the default. */
export function handlerTimeout(spec: Spec): number {
  const value = spec.annotations?.[TIMEOUT_ANNOTATION];
  if (value === undefined) return DEFAULT_TIMEOUT_S;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new HakoError(`${TIMEOUT_ANNOTATION}: must be a positive number of seconds ` +
      `(got ${JSON.stringify(value)})`);
  }
  return seconds;
}

/** Imports a plugin module and checks it exports a handler of the expected name. */
export async function loadPluginHandler(path: string, expected?: string): Promise<Handler> {
  const module = await import(pathToFileURL(path).href) as Record<string, unknown>;
  const handler = handlerOf(module, path);
  if (expected !== undefined && handler.name !== expected) {
    throw new HakoError(`${path}: exports the handler "${handler.name}", not "${expected}"`);
  }
  return handler;
}

/** Runs one phase of a handler, failing with the handler's name and the phase's. */
export async function phase<T>(
  handler: Handler, what: string, timeoutS: number, body: () => Promise<T> | T,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HakoError(
      `handler "${handler.name}": ${what} did not finish within ${timeoutS} s`)), timeoutS * 1000);
  });
  try {
    return await Promise.race([Promise.resolve().then(body), timeout]);
  } catch (err) {
    if (err instanceof HakoError) throw err;
    const cause = err instanceof Error ? err.message : String(err);
    throw new HakoError(`handler "${handler.name}": ${what}: ${cause}`);
  } finally {
    clearTimeout(timer);
  }
}

export function handlerContext(name: string, spec: Spec, id: string, root: string): HandlerContext {
  const debug = (spec.process?.env ?? []).some((e) => e.startsWith('HAKO_DEBUG='));
  const say = (text: string) => writeSync(2, `hako handler ${name}: ${text}\n`);
  return {
    spec,
    id,
    root,
    stdio: { stdin: 0, stdout: 1, stderr: 2 },
    logger: { warn: say, debug: (text) => { if (debug) say(text); } },
    exec: (argv, opts = {}) => {
      if (root !== '/') {
        return Promise.reject(new HakoError(`handler "${name}": exec is only possible in run`));
      }
      return execInContainer(argv, opts.env ?? spec.process?.env ?? [], opts.cwd
        ?? spec.process?.cwd ?? '/');
    },
  };
}

/**
 * Signals `hako kill` may send that the engine passes on to a process it exec'd, as an init
 * such as tini does: the engine is the container's pid 1, which the kernel spares from any
 * signal it does not handle.
 */
const FORWARDED: NodeJS.Signals[] = [
  'SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH', 'SIGCONT',
];

function execInContainer(argv: readonly string[], env: readonly string[], cwd: string) {
  if (argv.length === 0) return Promise.reject(new HakoError('exec: argv is empty'));
  return new Promise<number>((done) => {
    const child = spawn(argv[0], argv.slice(1), {
      env: envObject(env), cwd, stdio: 'inherit', argv0: argv[0],
    });
    const forward = (signal: NodeJS.Signals) => { child.kill(signal); };
    for (const signal of FORWARDED) process.on(signal, forward);
    const finish = (status: number) => {
      for (const signal of FORWARDED) process.off(signal, forward);
      done(status);
    };
    child.on('error', (err: NodeJS.ErrnoException) => {
      writeSync(2, `exec: ${JSON.stringify(argv[0])}: ${err.code === 'ENOENT'
        ? 'executable file not found' : err.message}\n`);
      finish(err.code === 'ENOENT' ? 127 : 126);
    });
    child.on('close', (code, signal) => {
      finish(code ?? 128 + ((signal && constants.signals[signal]) || 0));
    });
  });
}

export function envObject(env: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of env) {
    const eq = entry.indexOf('=');
    if (eq > 0) out[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return out;
}
