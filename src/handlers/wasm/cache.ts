/**
 * Transpiled components, cached on disk by the sha256 of the component's bytes.
 *
 * jco-transpile turns a component into an ES module plus a few core modules. That takes
 * 0.2 to 0.5 s for a small command; loading the result takes milliseconds, so each component
 * is transpiled once per cache. An entry is written to a temporary directory next to the
 * final one and renamed into place, so a reader sees a complete entry or none, and two
 * runtimes transpiling the same component at once both end up with a usable entry.
 *
 * Layout of `<cacheDir>/<sha256>/`: `component.js` (the ES module), `component.core*.wasm`,
 * `package.json` (marks the directory as ES modules for Node) and `manifest.json`, written
 * last, that records the transpiler version and what the component imports and exports.
 *
 * Only root writes here. Others may enter the directories but not list them (0711) and may
 * read the files (0644): an entry is found only by the hash of the component's bytes, so
 * reading it requires having the component already. That lets the engine of a container
 * with a user namespace, which runs as an unprivileged host uid, load what `create`
 * transpiled for it.
 */

import { createHash } from 'node:crypto';
import { chmod, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

import { distRequire } from '../../core/dist.js';
import { HakoError } from '../../core/errors.js';
import { mkdirAll } from '../../core/mkdir-all.js';

export const DEFAULT_CACHE_DIR = '/var/cache/hako/wasm';
export const CACHE_DIR_ENV = 'HAKO_WASM_CACHE';

/** The generated module's base name; the files are `component.js`, `component.core.wasm`... */
const NAME = 'component';
const MANIFEST = 'manifest.json';
const DIR_MODE = 0o711;
const FILE_MODE = 0o644;

export interface TranspiledComponent {
  /** The entry's directory. */
  dir: string;
  /** Absolute path of the generated ES module, which exports `instantiate`. */
  entry: string;
  /** File names (in `dir`) of the core modules that `instantiate` asks for. */
  coreModules: string[];
  /** Interfaces the component imports, without versions (`wasi:cli/environment`). */
  imports: string[];
  /** Names of the component's exports, with versions (`wasi:cli/run@0.2.12`). */
  exports: string[];
  /** True when the entry was already in the cache. */
  hit: boolean;
}

interface Manifest {
  transpiler: string;
  coreModules: string[];
  imports: string[];
  exports: string[];
}

/** `HAKO_WASM_CACHE` if set and not empty, else /var/cache/hako/wasm. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env[CACHE_DIR_ENV];
  return dir !== undefined && dir !== '' ? dir : DEFAULT_CACHE_DIR;
}

export function componentKey(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Whether the cache holds an entry for these bytes made by this transpiler version. Loads
 * nothing but package.json files, so it also works where `import()` does not (a start-up
 * snapshot).
 */
export async function isCached(bytes: Uint8Array, cacheDir: string): Promise<boolean> {
  const cached = await readManifest(join(cacheDir, componentKey(bytes)));
  return cached !== null && cached.transpiler === transpilerVersion();
}

/**
 * Returns the transpiled form of a component, transpiling it only when the cache has no
 * entry for these bytes made by this transpiler version. `file` names the component in errors.
 */
export async function transpileCached(
  bytes: Uint8Array,
  file: string,
  cacheDir: string = defaultCacheDir(),
): Promise<TranspiledComponent> {
  const dir = join(cacheDir, componentKey(bytes));
  const transpiler = transpilerVersion();

  const cached = await readManifest(dir);
  if (cached !== null && cached.transpiler === transpiler) {
    return entry(dir, cached, true);
  }

  // Only hako writes here and the ES module in it is code hako will run: others may not
  // write, nor list what is there (see above).
  try {
    mkdirAll(cacheDir, DIR_MODE);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new HakoError(`wasm cache ${cacheDir}: cannot create: ${e.code ?? e.message}`);
  }
  const manifest = await transpile(bytes, file, transpiler);
  await publish(cacheDir, dir, manifest.files, transpiler);
  return entry(dir, manifest.manifest, false);
}

function entry(dir: string, manifest: Manifest, hit: boolean): TranspiledComponent {
  const { coreModules, imports, exports } = manifest;
  return { dir, entry: join(dir, `${NAME}.js`), coreModules, imports, exports, hit };
}

async function readManifest(dir: string): Promise<Manifest | null> {
  let text: string;
  try {
    text = await readFile(join(dir, MANIFEST), 'utf8');
  } catch {
    return null;
  }
  try {
    return JSON.parse(text) as Manifest;
  } catch {
    return null;
  }
}

async function transpile(
  bytes: Uint8Array,
  file: string,
  transpiler: string,
): Promise<{ manifest: Manifest; files: Map<string, Uint8Array | string> }> {
  const { transpileBytes } = await import('@bytecodealliance/jco-transpile');
  let result: Awaited<ReturnType<typeof transpileBytes>>;
  try {
    // `async` instantiation: the module imports nothing and exports `instantiate(getCore,
    // imports)`, so the caller supplies the WASI implementation and the compiled core
    // modules, and the entry does not depend on where node_modules is.
    result = await transpileBytes(bytes, {
      name: NAME,
      instantiation: 'async',
      emitTypescriptDeclarations: false,
      outDir: '',
    });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    throw new HakoError(`${file}: cannot transpile component: ${message.split('\n')[0]}`);
  }

  const files = new Map<string, Uint8Array | string>();
  for (const [path, content] of Object.entries(result.files)) {
    const name = path.replace(/^\.?\//, '');
    // The names derive from NAME; anything else would be written outside the entry.
    if (!/^[\w.-]+$/.test(name) || name.startsWith('.')) {
      throw new HakoError(`${file}: transpiler produced an unexpected file name: ${path}`);
    }
    files.set(name, content);
  }
  const manifest: Manifest = {
    transpiler,
    coreModules: [...files.keys()].filter((name) => name.endsWith('.wasm')).sort(),
    imports: result.imports,
    exports: result.exports.map(([name]) => name),
  };
  files.set('package.json', '{ "type": "module" }\n');
  files.set(MANIFEST, `${JSON.stringify(manifest, null, 2)}\n`);
  return { manifest, files };
}

async function publish(
  cacheDir: string,
  dir: string,
  files: Map<string, Uint8Array | string>,
  transpiler: string,
): Promise<void> {
  const tmp = await mkdtemp(join(cacheDir, '.tmp-'));
  try {
    for (const [name, content] of files) {
      if (name !== MANIFEST) {
        await writeFile(join(tmp, name), content, { mode: FILE_MODE });
      }
    }
    await writeFile(join(tmp, MANIFEST), files.get(MANIFEST) ?? '', { mode: FILE_MODE });
    // mkdtemp makes 0700 whatever the umask; the umask may also have narrowed the files.
    await chmod(tmp, DIR_MODE);
    for (const name of files.keys()) await chmod(join(tmp, name), FILE_MODE);

    // Another runtime may have published the same bytes meanwhile; its entry may be in use.
    const current = await readManifest(dir);
    if (current !== null && current.transpiler === transpiler) {
      return;
    }
    // A stale entry (other versions) is moved aside first: rename() does not replace a
    // non-empty directory.
    const stale = `${tmp}.stale`;
    const moved = await rename(dir, stale).then(
      () => true,
      () => false,
    );
    try {
      await rename(tmp, dir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // Someone else published the same bytes meanwhile: theirs is as good as ours.
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') {
        throw new HakoError(`wasm cache ${dir}: cannot publish entry: ${code ?? String(e)}`);
      }
    }
    if (moved) {
      await rm(stale, { recursive: true, force: true });
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

let version: string | undefined;

/**
 * The installed transpiler and shim: the generated code calls into preview2-shim, so an
 * entry made with other versions of either is not reused.
 */
function transpilerVersion(): string {
  version ??= ['@bytecodealliance/jco-transpile', '@bytecodealliance/preview2-shim']
    .map((name) => `${name}@${packageVersion(name)}`)
    .join(' ');
  return version;
}

/** Finds a package's own package.json above its resolved entry (its exports hide it). */
function packageVersion(name: string): string {
  const require = distRequire();
  let dir = dirname(require.resolve(name));
  while (dir !== dirname(dir)) {
    try {
      const pkg = require(join(dir, 'package.json')) as { name?: unknown; version?: unknown };
      if (pkg.name === name && typeof pkg.version === 'string') {
        return pkg.version;
      }
    } catch {
      // No package.json at this level: keep walking up.
    }
    dir = dirname(dir);
  }
  return 'unknown';
}
