/**
 * Which handler runs a container, decided from its annotations and entrypoint the way crun
 * decides (crun: src/libcrun/custom-handler.c, src/libcrun/handlers/handler-utils.c), so that
 * bundles written for `crun` with wasm support behave the same under hako:
 *
 * 1. A Kubernetes sandbox (pause) container always runs natively.
 * 2. `run.oci.handler` names a handler, which is used whatever the entrypoint; the value
 *    `wasm-smart` picks wasm only for a `.wasm`/`.wat` entrypoint. When this annotation is
 *    present, `module.wasm.image/variant` is ignored.
 * 3. `module.wasm.image/variant`: `compat` picks wasm, `compat-smart` picks wasm only for a
 *    `.wasm`/`.wat` entrypoint; any other value is ignored.
 * 4. Otherwise the Linux handler.
 *
 * One deliberate difference: crun silently runs a container natively when `run.oci.handler`
 * names no handler it has; hako fails instead, since the user asked for something specific.
 */

import { HakoError } from '../../core/errors.js';

export const LINUX_HANDLER = 'linux';
export const WASM_HANDLER = 'wasm';
export const WASMTIME_HANDLER = 'wasmtime';

export const HANDLER_ANNOTATION = 'run.oci.handler';
export const VARIANT_ANNOTATION = 'module.wasm.image/variant';
export const CONTAINER_TYPE_ANNOTATION = 'io.kubernetes.cri.container-type';

export interface SelectOptions {
  /**
   * A handler every container must use, as crun does when it runs as `crun-<handler>`
   * (e.g. through a `crun-wasm` symlink). A `run.oci.handler` annotation is then an error.
   */
  forced?: string;
}

/**
 * Returns the name of the handler for a container. `available` lists the handlers that can
 * run here (built-in ones and loaded plugins), in the order shown in errors; `wasmtime` is
 * in it only when the wasmtime CLI was found.
 */
export function selectHandler(
  annotations: Readonly<Record<string, string>> | undefined,
  args: readonly string[] | undefined,
  available: readonly string[],
  options: SelectOptions = {},
): string {
  const get = (key: string): string | undefined =>
    annotations !== undefined && Object.hasOwn(annotations, key) ? annotations[key] : undefined;

  // Pods' pause containers share the pod's annotations but are never wasm (crun #798).
  if (get(CONTAINER_TYPE_ANNOTATION) === 'sandbox') {
    return LINUX_HANDLER;
  }

  const annotated = get(HANDLER_ANNOTATION);
  if (options.forced !== undefined && annotated !== undefined) {
    throw new HakoError(
      `${HANDLER_ANNOTATION}: cannot override the handler "${options.forced}" ` +
        `this runtime was started for (got "${annotated}")`,
    );
  }

  const explicit = options.forced ?? annotated;
  if (explicit !== undefined) {
    if (explicit === 'wasm-smart') {
      return hasWasmEntrypoint(args) ? lookUp(WASM_HANDLER, available) : LINUX_HANDLER;
    }
    return lookUp(explicit, available);
  }

  const variant = get(VARIANT_ANNOTATION);
  if (variant === 'compat') {
    return lookUp(WASM_HANDLER, available, VARIANT_ANNOTATION);
  }
  if (variant === 'compat-smart' && hasWasmEntrypoint(args)) {
    return lookUp(WASM_HANDLER, available, VARIANT_ANNOTATION);
  }
  return LINUX_HANDLER;
}

/** The `-smart` rule: the entrypoint's name ends in `.wasm` or `.wat` (case matters). */
export function hasWasmEntrypoint(args: readonly string[] | undefined): boolean {
  const entry = args?.[0];
  return entry !== undefined && (entry.endsWith('.wasm') || entry.endsWith('.wat'));
}

function lookUp(name: string, available: readonly string[], source = HANDLER_ANNOTATION): string {
  if (available.includes(name)) {
    return name;
  }
  if (name === WASMTIME_HANDLER) {
    throw new HakoError(
      `${source}: handler "${WASMTIME_HANDLER}" needs the wasmtime CLI, ` +
        'which was not found in PATH',
    );
  }
  throw new HakoError(
    `${source}: no handler named "${name}" (available: ${available.join(', ')})`,
  );
}
