/**
 * WebAssembly text (`.wat`) to binary, with the wabt library (wabt compiled to wasm, so no
 * native tool is needed at run time). Core modules only: wabt does not know the component
 * text format.
 */

import { HakoError } from '../../core/errors.js';

type Wabt = Awaited<ReturnType<typeof import('wabt')>>;

/** Finished proposals that toolchains emit by default; wabt wants them named. */
const FEATURES = {
  mutable_globals: true,
  sat_float_to_int: true,
  sign_extension: true,
  multi_value: true,
  bulk_memory: true,
  reference_types: true,
  simd: true,
} as const;

let wabtPromise: Promise<Wabt> | undefined;

/** Loads wabt once (about 40 ms); call it early to keep that out of the first compile. */
export function loadWabt(): Promise<Wabt> {
  wabtPromise ??= import('wabt').then((m) => m.default());
  return wabtPromise;
}

/**
 * Compiles WebAssembly text to a validated binary module. `file` names the source in errors,
 * which carry wabt's first message and its position:
 * `/hello.wat:3:5: invalid WebAssembly text: unexpected token "i32.foo", expected an instr.`
 */
export async function compileWat(
  source: string | Uint8Array,
  file: string,
): Promise<Uint8Array<ArrayBuffer>> {
  const text = typeof source === 'string' ? source : Buffer.from(source).toString('utf8');
  if (/^\s*(?:\(;[\s\S]*?;\)\s*|;;[^\n]*\n\s*)*\(\s*component\b/.test(text)) {
    throw new HakoError(
      `${file}: the component text format is not supported; compile it to a binary first`,
    );
  }

  const wabt = await loadWabt();
  let module: ReturnType<Wabt['parseWat']> | undefined;
  try {
    module = wabt.parseWat(file, text, FEATURES);
    module.resolveNames();
    module.validate();
    const { buffer } = module.toBinary({ write_debug_names: true });
    return new Uint8Array(buffer);
  } catch (e) {
    throw new HakoError(watError(file, e));
  } finally {
    module?.destroy();
  }
}

/**
 * wabt reports "parseWat failed:\n<file>:<line>:<col>: error: <message>\n<source line>..."
 * for every error; the first one, with its position, is what a user needs.
 */
function watError(file: string, e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  const errors = message.split('\n').filter((line) => line.includes(': error: '));
  const first = errors[0];
  if (first === undefined) {
    return `${file}: invalid WebAssembly text: ${message.split('\n')[0]}`;
  }

  const at = first.indexOf(': error: ');
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
  return `${first.slice(0, at)}: invalid WebAssembly text: ${first.slice(at + 9)}${more}`;
}
