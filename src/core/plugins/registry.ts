/**
 * The plugin registry: finds plugin modules in the sources config.ts lists and learns their
 * names. Learning a name means importing the module, and the CLI may run from a start-up
 * snapshot where `import()` of an outside file is unavailable: the modules are imported by
 * the engine's entry in its describe mode, a Node process of its own. This happens only in
 * `create` (for a handler that is not built in), `hako handlers` and `hako features`.
 *
 * A plugin is a module file (*.mjs, *.js) in a plugin directory, or a folder there (or an
 * npm package) whose package.json names its entry ("exports" "." or "main") or that holds
 * index.mjs or index.js.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

import { HakoError } from '../errors.js';
import { type PluginSources, type SourceOptions, pluginSources } from './config.js';

export const DESCRIBE_FLAG = '--describe-plugin';

export interface PluginModule {
  /** The module file to import. */
  path: string;
  /** Which source named it: --plugin-path, HAKO_PLUGIN_PATH or the config file's path. */
  from: string;
}

export interface PluginInfo extends PluginModule {
  name: string;
}

/** Sources whose missing directories are worth a warning: what the caller typed. */
const WARN_MISSING = ['--plugin-path', 'HAKO_PLUGIN_PATH'];

/**
 * Every plugin module the sources name, in order; nothing is imported. A directory that does
 * not exist is skipped, not an error: callers that speak runc's command line may pass paths
 * that only some hosts have. One given on the command line or in the environment is reported
 * through `warn`, once, since a typo there would otherwise look like a plugin that is gone.
 */
export function findPluginModules(
  sources: PluginSources,
  hakoDir: string,
  warn: (message: string) => void = () => undefined,
): PluginModule[] {
  const found: PluginModule[] = [];
  const missing = new Set<string>();
  for (const { dir, from } of sources.dirs) {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new HakoError(`plugin directory ${dir}: ${(err as Error).message}`);
      }
      if (WARN_MISSING.includes(from) && !missing.has(dir)) {
        warn(`${from}: plugin directory ${dir} does not exist (skipped)`);
      }
      missing.add(dir);
      continue;
    }
    for (const name of names) {
      if (name.startsWith('.')) continue;
      const path = join(dir, name);
      const entry = moduleOf(path);
      if (entry) found.push({ path: entry, from });
    }
  }
  for (const pkg of sources.packages) {
    const folder = findPackage(pkg.name, [pkg.base, hakoDir]);
    const entry = folder && moduleOf(folder);
    if (!entry) throw new HakoError(`${pkg.from}: plugins: npm package "${pkg.name}" not found`);
    found.push({ path: entry, from: `${pkg.from} (npm ${pkg.name})` });
  }
  return found;
}

/** The module file of a plugin file or folder, or undefined for anything else. */
export function moduleOf(path: string): string | undefined {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    return undefined;
  }
  if (stat.isFile()) return /\.(mjs|js)$/.test(path) ? path : undefined;
  if (!stat.isDirectory()) return undefined;
  const pkgFile = join(path, 'package.json');
  if (existsSync(pkgFile)) {
    const entry = packageEntry(pkgFile);
    if (entry) return resolve(path, entry);
  }
  for (const index of ['index.mjs', 'index.js']) {
    if (existsSync(join(path, index))) return join(path, index);
  }
  return undefined;
}

function packageEntry(pkgFile: string): string | undefined {
  let pkg: { main?: unknown; exports?: unknown };
  try {
    pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as typeof pkg;
  } catch (err) {
    throw new HakoError(`${pkgFile}: ${(err as Error).message}`);
  }
  const exported = exportTarget(pkg.exports);
  if (exported) return exported;
  return typeof pkg.main === 'string' ? pkg.main : undefined;
}

/** "exports": "./x.mjs", {".": ...}, or conditions (import, node, default). */
function exportTarget(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  if ('.' in record) return exportTarget(record['.']);
  for (const condition of ['import', 'node', 'default']) {
    const target = exportTarget(record[condition]);
    if (target) return target;
  }
  return undefined;
}

function findPackage(name: string, bases: string[]): string | undefined {
  for (const base of bases) {
    for (let dir = base; ; dir = dirname(dir)) {
      const candidate = join(dir, 'node_modules', name);
      if (existsSync(candidate)) return candidate;
      if (dirname(dir) === dir) break;
    }
  }
  return undefined;
}

/** Imports each module in the engine's describe mode and returns the handlers' names. */
export function describePlugins(
  modules: PluginModule[], engine: string, timeoutMs = 30_000,
): PluginInfo[] {
  if (modules.length === 0) return [];
  const result = spawnSync(process.execPath, ['--no-warnings', engine, DESCRIBE_FLAG,
    ...modules.map((m) => m.path)], { encoding: 'utf8', timeout: timeoutMs, env: {} });
  if (result.error || result.status !== 0) {
    const why = result.error?.message ?? (result.stderr.trim().split('\n').pop() || '');
    throw new HakoError(`load plugins: ${why || `status ${result.status}`}`);
  }
  const described = JSON.parse(result.stdout) as ({ name: string } | { error: string })[];
  const infos: PluginInfo[] = [];
  const seen = new Map<string, PluginInfo>();
  modules.forEach((module, i) => {
    const answer = described[i];
    if (!answer || 'error' in answer) {
      throw new HakoError(`load plugin ${module.path}: ${answer?.error ?? 'no answer'}`);
    }
    const info = { ...module, name: answer.name };
    const other = seen.get(info.name);
    if (other) {
      throw new HakoError(`plugins: two handlers are named "${info.name}": ${other.path} ` +
        `(${other.from}) and ${info.path} (${info.from})`);
    }
    seen.set(info.name, info);
    infos.push(info);
  });
  return infos;
}

export interface LoadOptions extends SourceOptions {
  /** Names of the built-in handlers, which no plugin may take. */
  builtins: readonly string[];
  /** dist/engine.cjs, whose describe mode imports the plugins. */
  engine: string;
  /** Gets a line for each plugin directory named on the command line that does not exist. */
  warn?: (message: string) => void;
}

/** Discovers and describes every plugin; a plugin named like a built-in handler is an error. */
export function loadPlugins(opts: LoadOptions): PluginInfo[] {
  const hakoDir = dirname(dirname(opts.engine));
  const modules = findPluginModules(pluginSources(opts), hakoDir, opts.warn);
  const plugins = describePlugins(modules, opts.engine);
  for (const plugin of plugins) {
    if (opts.builtins.includes(plugin.name)) {
      throw new HakoError(`load plugin ${plugin.path}: "${plugin.name}" is the name of a ` +
        'built-in handler');
    }
  }
  return plugins;
}
