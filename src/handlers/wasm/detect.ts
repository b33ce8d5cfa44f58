/**
 * What kind of WebAssembly a workload file holds, judged from its first 8 bytes.
 *
 * A binary starts with `\0asm` and a u32 that is really two u16 fields, version and layer:
 * a core module is version 1, layer 0; a component (as `wasm-tools` and `jco new` write it
 * today) is version 0x0d, layer 1. Text files are recognised by their first token, or by a
 * `.wat` name: the text parser then says what is wrong with one that is not text.
 */

import { open } from 'node:fs/promises';

import { HakoError } from '../../core/errors.js';

export type WasmKind = 'module' | 'component' | 'wat';

/** Bytes that decide the kind; more are ignored. */
export const HEADER_SIZE = 8;

const MAGIC = [0x00, 0x61, 0x73, 0x6d];
const COMPONENT_VERSION = 0x0d;

/**
 * Tells a core module, a component and WebAssembly text apart. `file` names the workload in
 * the error of anything else, e.g. `/hello.wasm: not a WebAssembly binary (bad magic)`.
 */
export function detectWasm(bytes: Uint8Array, file: string): WasmKind {
  const named = file.endsWith('.wat') ? 'WebAssembly text' : 'a WebAssembly binary';
  if (bytes.length === 0) {
    throw new HakoError(`${file}: empty file (not ${named})`);
  }

  const magicLength = Math.min(bytes.length, MAGIC.length);
  if (MAGIC.slice(0, magicLength).every((b, i) => bytes[i] === b)) {
    return binaryKind(bytes, file);
  }

  // A `.wat` file that does not start like text is still meant as text: "bad magic" would
  // send its author looking for a binary, where wabt's error gives the line and the token.
  if (file.endsWith('.wat') || looksLikeWat(bytes.subarray(0, HEADER_SIZE))) {
    return 'wat';
  }
  throw new HakoError(`${file}: not a WebAssembly binary (bad magic)`);
}

/** Reads the first bytes of `path` and detects its kind; `file` is the name used in errors. */
export async function detectWasmFile(path: string, file: string = path): Promise<WasmKind> {
  const handle = await open(path, 'r').catch((e: NodeJS.ErrnoException) => {
    throw new HakoError(`${file}: cannot open: ${e.code ?? e.message}`);
  });
  try {
    const head = new Uint8Array(HEADER_SIZE);
    const { bytesRead } = await handle.read(head, 0, HEADER_SIZE, 0);
    return detectWasm(head.subarray(0, bytesRead), file);
  } finally {
    await handle.close();
  }
}

function binaryKind(bytes: Uint8Array, file: string): WasmKind {
  if (bytes.length < HEADER_SIZE) {
    throw new HakoError(
      `${file}: truncated WebAssembly header (${bytes.length} of ${HEADER_SIZE} bytes)`,
    );
  }

  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_SIZE);
  const version = view.getUint16(4, true);
  const layer = view.getUint16(6, true);
  if (layer === 0 && version === 1) {
    return 'module';
  }
  if (layer === 1 && version === COMPONENT_VERSION) {
    return 'component';
  }

  const what = layer === 1 ? 'component encoding' : 'core module version';
  throw new HakoError(
    `${file}: unsupported WebAssembly ${what} 0x${version.toString(16).padStart(4, '0')} ` +
      '(expected a core module, version 1, or a component, version 0x0d)',
  );
}

/**
 * Text starts, after blanks, with a comment or with `(module` / `(component`. Only 8 bytes
 * are looked at, so a token cut short counts as long as it is a prefix of one of those.
 */
function looksLikeWat(head: Uint8Array): boolean {
  // latin1 keeps one character per byte; a UTF-8 byte order mark is three of them.
  const text = Buffer.from(head).toString('latin1').replace(/^\xEF\xBB\xBF/, '');
  const rest = text.replace(/^[ \t\r\n]+/, '');
  if (rest.length === 0) {
    return false;
  }
  if (rest.startsWith(';;') || rest.startsWith('(;')) {
    return true;
  }
  if (!rest.startsWith('(')) {
    return false;
  }

  const word = rest.slice(1).replace(/^[ \t\r\n]+/, '');
  if (word.length === 0) {
    return true;
  }
  return ['module', 'component'].some((keyword) => {
    const n = Math.min(word.length, keyword.length);
    return word.slice(0, n) === keyword.slice(0, n) && isBoundary(word, keyword.length);
  });
}

function isBoundary(word: string, at: number): boolean {
  return word.length <= at || /[ \t\r\n();$]/.test(word[at] ?? '');
}
