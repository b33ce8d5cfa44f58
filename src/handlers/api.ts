/**
 * The handler API: what a plugin module exports to run a workload inside hako's sandbox.
 * hako's own wasm handler is written against it (src/handlers/wasm/plugin.ts).
 *
 * A plugin is an ES module whose default export (or export named `handler`) is a Handler.
 * It runs in hako's Node engine, which is the container's init: the agent has entered the
 * container's namespaces and cgroup and made its mounts. The engine then calls, in order:
 *   1. validate(ctx)  before anything is prepared: throw to refuse the container;
 *   2. prepare(ctx)   while the host is still visible (ctx.root is the rootfs' host path):
 *                     read host files, open descriptors, compile;
 *   then pivot_root, read-only and masked paths, rlimits, the user, capabilities and the
 *   seccomp filter are applied to the engine, and `hako create` returns;
 *   3. run(ctx, prepared) after `hako start`, inside the container (ctx.root is '/');
 *      it resolves to the workload's exit status.
 * validate and prepare are bounded by a timeout (run.oci.handler.timeout, seconds; 30 by
 * default): a hang fails `create`, which then removes everything it made.
 *
 * Import the types with `import type { Handler } from 'hako/handler-api'`; plain JavaScript
 * plugins need nothing from hako at run time.
 */
import type { Spec } from '../core/spec/types.js';

export type { Spec };

export interface HandlerLogger {
  /** One line to the engine's stderr (the container's), prefixed with the handler's name. */
  warn(message: string): void;
  /** Written only when HAKO_DEBUG is set in the process environment of the config. */
  debug(message: string): void;
}

export interface ExecOptions {
  /** KEY=VALUE entries; the config's process.env by default. */
  env?: readonly string[];
  /** Inside the container; process.cwd by default. */
  cwd?: string;
}

export interface HandlerContext {
  /** The container's config.json. */
  readonly spec: Spec;
  /** The container id. */
  readonly id: string;
  /**
   * The container's root: its host path during validate and prepare, '/' during run.
   * Join container paths to it to read the image's files before pivot_root.
   */
  readonly root: string;
  /** The container's stdio: descriptors 0, 1 and 2 of the engine. */
  readonly stdio: { readonly stdin: number; readonly stdout: number; readonly stderr: number };
  readonly logger: HandlerLogger;
  /**
   * Runs a program inside the container (only during run), with the container's stdio,
   * and resolves to its exit status (128 + the signal number when it was killed).
   * argv[0] is looked up in the PATH of the environment when it has no slash.
   */
  exec(argv: readonly string[], opts?: ExecOptions): Promise<number>;
}

export interface Handler<Prepared = unknown> {
  /** What `run.oci.handler` names; unique among the built-in handlers and plugins. */
  readonly name: string;
  /** Whether this handler can run the config at all; false fails `create` (before validate). */
  canHandle?(spec: Spec): boolean;
  validate?(ctx: HandlerContext): void | Promise<void>;
  prepare?(ctx: HandlerContext): Promise<Prepared | void> | Prepared | void;
  run(ctx: HandlerContext, prepared: Prepared | undefined): Promise<number>;
}

/** For plugin authors: identity at run time, checked types at compile time. */
export function defineHandler<Prepared>(handler: Handler<Prepared>): Handler<Prepared> {
  return handler;
}

/** The handler a plugin module exports: its default export, else an export named `handler`. */
export function handlerOf(module: Record<string, unknown>, where: string): Handler {
  const found = (module.default ?? module.handler) as Partial<Handler> | undefined;
  if (!found || typeof found !== 'object') {
    throw new Error(`${where}: exports no handler (a default export or one named "handler")`);
  }
  if (typeof found.name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(found.name)) {
    throw new Error(`${where}: handler.name must be a name of letters, digits, '.', '_', '-'`);
  }
  if (typeof found.run !== 'function') throw new Error(`${where}: handler.run is not a function`);
  return found as Handler;
}
