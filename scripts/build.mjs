// Builds hako: the TypeScript CLI bundled by esbuild into dist/, and the native agent and the
// engine's signal library with the system C compiler. Run by `npm install` (prepare) and
// `npm run build`.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { spawnSync } from 'node:child_process';

import { buildAgent, buildSignalLibrary } from '../native/build.mjs';

/**
 * `node --build-snapshot`. Node says it has not verified child_process in snapshots;
 * commander loads it at start without using it, and hako uses it only after deserialisation,
 * where the integration tests exercise it. That warning is the only output expected.
 */
function buildSnapshot(script, blob) {
  rmSync(blob, { force: true });
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  delete env.NODE_OPTIONS;
  const result = spawnSync(
    process.execPath, ['--snapshot-blob', blob, '--build-snapshot', script],
    { env, encoding: 'utf8' },
  );
  if (result.status !== 0) {
    rmSync(blob, { force: true });
    console.warn(`hako build: no start-up snapshot (${(result.stderr || '').trim()}); ` +
      'hako will start a little slower');
  }
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
mkdirSync(dist, { recursive: true });
// Chunk names carry content hashes: drop the previous build's so they do not pile up.
for (const name of readdirSync(dist)) {
  if (/\.(mjs|cjs|blob)$/.test(name)) rmSync(join(dist, name));
}

try {
  buildAgent(dist);
  buildSignalLibrary(dist);
} catch (err) {
  console.error(`hako build: ${err.message}`);
  process.exit(1);
}

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  console.error('hako build: esbuild is missing: run `npm install` (with dev dependencies)');
  process.exit(1);
}

// The CLI as ES modules, split so that each subcommand loads only the chunks it needs, and
// what plugin authors import (`import { defineHandler } from 'hako/handler-api'`).
await esbuild.build({
  entryPoints: {
    hako: join(root, 'src/cli/main.ts'),
    'handler-api': join(root, 'src/handlers/api.ts'),
  },
  outdir: dist,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outExtension: { '.js': '.mjs' },
  external: ['koffi', '@bytecodealliance/*', 'wabt'],
  logLevel: 'warning',
  legalComments: 'none',
  // commander is CommonJS: its require() calls need a real require in an ES module bundle.
  banner: {
    js: "import { createRequire as __hakoRequire } from 'node:module';" +
      'const require = __hakoRequire(import.meta.url);',
  },
});

/**
 * One entry as one CommonJS file, names kept but whitespace dropped (a snapshot holds the
 * source). `import.meta.url` becomes the file's own URL, as it was when the file was loaded:
 * in the snapshot, the build tree's, so hako's own files are found with src/core/dist.ts.
 */
function commonJsBundle(entry, outfile) {
  return esbuild.build({
    entryPoints: [join(root, entry)],
    outfile: join(dist, outfile),
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    external: ['koffi', '@bytecodealliance/*', 'wabt'],
    logLevel: 'warning',
    legalComments: 'none',
    minifyWhitespace: true,
    minifySyntax: true,
    define: { 'import.meta.url': '__hakoUrl' },
    banner: { js: "const __hakoUrl = require('node:url').pathToFileURL(__filename).href;" },
  });
}

// The CLI once more, as one CommonJS file for a start-up snapshot: Node then starts with
// hako's modules already loaded, which saves some 10 ms of every command (the ES module
// loader is the larger part of a Node start here). The launcher falls back to the plain file
// when no snapshot could be built.
await commonJsBundle('src/cli/main.ts', 'hako.cjs');
buildSnapshot(join(dist, 'hako.cjs'), join(dist, 'hako.blob'));

// The Node engine that runs wasm and plugin workloads inside the container
// (src/core/engine/main.ts), as one CommonJS file: Node loads it in some 15 ms, where the same
// code as ES module chunks took 45 ms (the ES module loader resolves and links each chunk).
// Packages that are ES modules only (jco, preview2-shim) and plugins stay dynamic import()s.
await commonJsBundle('src/core/engine/main.ts', 'engine.cjs');

// The launcher cannot count on PATH (callers start runtimes with an empty environment), so
// it reads the node that built hako from here.
writeFileSync(join(dist, 'node-path'), `${process.execPath}\n`);
