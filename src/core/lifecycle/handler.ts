/**
 * Which handler runs a container, decided by `create` before it makes anything, and what
 * that changes in the setup. The rules are crun's (src/handlers/wasm/select.ts):
 * - linux: execve, as always;
 * - wasm: the agent execs the Node engine instead of pivoting (engine.ts);
 * - wasmtime: a Linux exec of the host's wasmtime CLI. After pivot_root the host's binary is
 *   out of reach, so it is bound read-only into the container's /dev (a tmpfs the container
 *   gets fresh, so nothing is added to the image) and exec'd from there with
 *   wasmtimeArgs(). Its Linux release is linked against glibc: the image must provide the
 *   loader and libraries it needs (libc, libm, libgcc_s), or the CLI must be a static build.
 */
import { posix } from 'node:path';

import {
  HANDLER_ANNOTATION, LINUX_HANDLER, WASMTIME_HANDLER, WASM_HANDLER, selectHandler,
} from '../../handlers/wasm/select.js';
import { findWasmtime, wasmtimeArgs } from '../../handlers/wasm/wasmtime.js';
import { HakoError } from '../errors.js';
import type { PluginInfo } from '../plugins/registry.js';
import type { Spec } from '../spec/types.js';

/** Where the host's wasmtime CLI appears inside the container. */
export const WASMTIME_IN_CONTAINER = '/dev/.hako-wasmtime';

export interface HandlerChoice {
  name: string;
  /** The workload runs in the Node engine, which does the setup after the mounts itself. */
  engine: boolean;
  /** The config the rootfs and process setup follow (wasmtime's adds the CLI). */
  spec: Spec;
  /** The plugin module of a plugin handler, on the host. */
  pluginPath?: string;
}

/** Built-in handler names, which `run.oci.handler` may name without loading any plugin. */
export const BUILTIN_NAMES = [LINUX_HANDLER, WASM_HANDLER, WASMTIME_HANDLER, 'wasm-smart'];

/**
 * Chooses the handler; throws, naming the annotation, when it cannot run here. Plugins are
 * loaded (`plugins` called) only when `run.oci.handler` names no built-in handler.
 */
export function chooseHandler(
  spec: Spec,
  env: NodeJS.ProcessEnv = process.env,
  plugins: () => PluginInfo[] = () => [],
): HandlerChoice {
  const wasmtime = wantsWasmtime(spec) ? findWasmtime(env.PATH) : null;
  const available = [LINUX_HANDLER, WASM_HANDLER, ...(wasmtime ? [WASMTIME_HANDLER] : [])];
  const annotated = spec.annotations?.[HANDLER_ANNOTATION];
  const loaded = annotated !== undefined && !BUILTIN_NAMES.includes(annotated) ? plugins() : [];
  available.push(...loaded.map((p) => p.name));
  const name = selectHandler(spec.annotations, spec.process?.args, available);

  const plugin = loaded.find((p) => p.name === name);
  if (plugin) {
    if (spec.process?.terminal) {
      throw new HakoError(`config.json: process.terminal: the handler "${name}" (a plugin) ` +
        'has no terminal support');
    }
    return { name, engine: true, spec, pluginPath: plugin.path };
  }

  if (name === WASM_HANDLER) {
    if (spec.process?.terminal) {
      throw new HakoError(
        'config.json: process.terminal: the wasm handler has no terminal support',
      );
    }
    return { name, engine: true, spec };
  }
  if (name === WASMTIME_HANDLER && wasmtime) {
    return { name, engine: false, spec: withWasmtime(spec, wasmtime) };
  }
  return { name, engine: false, spec };
}

function wantsWasmtime(spec: Spec): boolean {
  return Object.values(spec.annotations ?? {}).includes(WASMTIME_HANDLER);
}

/**
 * The config with the CLI bound at WASMTIME_IN_CONTAINER (after every other mount, so none
 * hides it) and process.args turned into the wasmtime command line.
 */
export function withWasmtime(spec: Spec, hostPath: string): Spec {
  const proc = spec.process;
  if (!proc?.args?.length) throw new HakoError('config.json: process.args: is required');
  const mounts = spec.mounts ?? [];
  const devTmpfs = mounts.some((m) => posix.resolve('/', m.destination) === '/dev'
    && m.type === 'tmpfs' && !(m.options ?? []).includes('bind'));
  if (!devTmpfs) {
    throw new HakoError(
      `run.oci.handler: ${WASMTIME_HANDLER}: needs a tmpfs mounted on /dev to hold the ` +
        'wasmtime CLI (config.json has none)',
    );
  }

  const args = wasmtimeArgs({
    module: proc.args[0],
    args: proc.args,
    env: proc.env ?? [],
    // wasmtime sets the guest's cwd itself (-S cwd, given when it is not /).
    preopens: { '/': '/' },
    cwd: proc.cwd,
  });
  return {
    ...spec,
    mounts: [...mounts, {
      destination: WASMTIME_IN_CONTAINER,
      type: 'bind',
      source: hostPath,
      options: ['bind', 'ro', 'nosuid', 'nodev'],
    }],
    process: { ...proc, args: [WASMTIME_IN_CONTAINER, ...args] },
  };
}
