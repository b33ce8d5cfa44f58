// Builds the WebAssembly program of examples/wasm-hello from its source, so no binary is
// committed: hello.wat → hello.wasm with the wabt npm package (no clang or native tool), and
// that core module → a wasi:cli/command component with jco's `new --wasi-command`, which wraps
// it with the WASI preview1 command adapter shipped in @bytecodealliance/jco.
//
//   node scripts/wasm-hello.mjs <dir>               writes <dir>/hello.wasm
//   node scripts/wasm-hello.mjs <dir> --component   also writes <dir>/hello.component.wasm
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');

export const HELLO_WAT = join(repo, 'examples', 'wasm-hello', 'hello.wat');

/** Compiles examples/wasm-hello/hello.wat to a core module at `out`; returns `out`. */
export async function buildModule(out) {
  const { default: loadWabt } = await import('wabt');
  const wabt = await loadWabt();
  const module = wabt.parseWat(HELLO_WAT, readFileSync(HELLO_WAT, 'utf8'));
  try {
    module.resolveNames();
    module.validate();
    writeFileSync(out, Buffer.from(module.toBinary({}).buffer));
  } finally {
    module.destroy();
  }
  return out;
}

/** Wraps the core module `coreModule` as a command component at `out`; returns `out`. */
export function buildComponent(coreModule, out) {
  const jco = join(repo, 'node_modules', '@bytecodealliance', 'jco', 'dist', 'jco.js');
  if (!existsSync(jco)) {
    throw new Error('jco new: @bytecodealliance/jco is not installed (run npm ci)');
  }
  execFileSync(process.execPath, [jco, 'new', coreModule, '--wasi-command', '-o', out], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [dir, flag] = process.argv.slice(2);
  if (!dir || (flag !== undefined && flag !== '--component')) {
    console.error('usage: node scripts/wasm-hello.mjs <dir> [--component]');
    process.exit(2);
  }
  const module = await buildModule(join(dir, 'hello.wasm'));
  if (flag === '--component') buildComponent(module, join(dir, 'hello.component.wasm'));
}
