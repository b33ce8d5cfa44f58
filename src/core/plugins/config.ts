/**
 * Where plugin handlers come from, in this order:
 *   1. the global flag --plugin-path (colon-separated directories);
 *   2. HAKO_PLUGIN_PATH (colon-separated directories);
 *   3. the host's config file, /etc/hako/config.json (HAKO_CONFIG overrides the path):
 *      { "pluginPaths": ["/dir", ...], "plugins": ["npm-package-name", ...] }
 *      Relative directories are relative to the file; packages are looked up in the
 *      node_modules directories above the file, then above hako itself.
 * A missing config file is no error; a malformed one is.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

import { HakoError } from '../errors.js';

export const DEFAULT_CONFIG = '/etc/hako/config.json';

export interface PluginSources {
  /** Directories holding plugin folders or module files, with where each was named. */
  dirs: { dir: string; from: string }[];
  /** npm package names, with the directory to look them up from. */
  packages: { name: string; from: string; base: string }[];
}

export interface SourceOptions {
  flag?: string;
  env?: NodeJS.ProcessEnv;
}

export function pluginSources(opts: SourceOptions = {}): PluginSources {
  const env = opts.env ?? process.env;
  const sources: PluginSources = { dirs: [], packages: [] };
  for (const dir of splitPath(opts.flag)) sources.dirs.push({ dir, from: '--plugin-path' });
  for (const dir of splitPath(env.HAKO_PLUGIN_PATH)) {
    sources.dirs.push({ dir, from: 'HAKO_PLUGIN_PATH' });
  }
  const file = env.HAKO_CONFIG || DEFAULT_CONFIG;
  const config = readConfig(file);
  const base = dirname(resolve(file));
  for (const dir of config.pluginPaths) sources.dirs.push({ dir: resolve(base, dir), from: file });
  for (const name of config.plugins) sources.packages.push({ name, from: file, base });
  return sources;
}

function splitPath(value: string | undefined): string[] {
  return (value ?? '').split(':').filter((dir) => dir !== '').map((dir) => resolve(dir));
}

export interface HostConfig {
  pluginPaths: string[];
  plugins: string[];
}

export function readConfig(file: string): HostConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { pluginPaths: [], plugins: [] };
    throw new HakoError(`read ${file}: ${(err as Error).message}`);
  }
  return parseConfig(text, file);
}

export function parseConfig(text: string, file: string): HostConfig {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new HakoError(`${file}: not JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HakoError(`${file}: must be a JSON object`);
  }
  const record = value as Record<string, unknown>;
  return {
    pluginPaths: stringList(record.pluginPaths, `${file}: pluginPaths`),
    plugins: stringList(record.plugins, `${file}: plugins`),
  };
}

function stringList(value: unknown, what: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string' || item === '')) {
    throw new HakoError(`${what}: must be an array of non-empty strings`);
  }
  return value as string[];
}
