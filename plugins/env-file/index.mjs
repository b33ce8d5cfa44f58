/**
 * hako plugin `env-file`: runs the container's process (as the Linux handler would, through
 * a shell-free exec inside the sandbox) with extra environment variables read from a file on
 * the host, named by the annotation `io.hako.env-file`. The file is read in `prepare`, while
 * the host is still visible, so its values (API keys, database passwords) never appear in the
 * image, in config.json or in `hako state`.
 *
 * Only files beneath the allowed directories may be named: those listed in `allowedDirs` of
 * config.json next to this file, else /etc/hako/env. Links are resolved before the check.
 * The file holds KEY=VALUE lines; blank lines and lines starting with # are skipped, a value
 * may be wrapped in single or double quotes. Its variables override process.env's.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ANNOTATION = 'io.hako.env-file';
const DEFAULT_DIRS = ['/etc/hako/env'];

/** @type {import('hako/handler-api').Handler<string[]>} */
export default {
  name: 'env-file',

  canHandle(spec) {
    return typeof spec.annotations?.[ANNOTATION] === 'string';
  },

  validate(ctx) {
    if (!ctx.spec.process?.args?.length) throw new Error('process.args is required');
    if (ctx.spec.process.terminal) throw new Error('process.terminal is not supported');
  },

  prepare(ctx) {
    const file = allowedFile(ctx.spec.annotations?.[ANNOTATION] ?? '');
    const vars = parseEnvFile(readFileSync(file, 'utf8'), file);
    ctx.logger.debug(`${Object.keys(vars).length} variables from ${file}`);
    return Object.entries(vars).map(([key, value]) => `${key}=${value}`);
  },

  async run(ctx, extra = []) {
    const env = new Map();
    for (const entry of [...(ctx.spec.process?.env ?? []), ...extra]) {
      const eq = entry.indexOf('=');
      if (eq > 0) env.set(entry.slice(0, eq), entry);
    }
    return ctx.exec(ctx.spec.process?.args ?? [], { env: [...env.values()] });
  },
};

/** The file's real path, when it lies beneath an allowed directory. */
export function allowedFile(name, dirs = allowedDirs()) {
  if (!name.startsWith('/')) throw new Error(`${ANNOTATION}: must be an absolute host path`);
  const real = realpathSync(name);
  const allowed = dirs.some((dir) => {
    try {
      return real.startsWith(realpathSync(dir) + sep);
    } catch {
      return false;
    }
  });
  if (!allowed) {
    throw new Error(`${ANNOTATION}: ${name} is not beneath an allowed directory ` +
      `(${dirs.join(', ')})`);
  }
  return real;
}

function allowedDirs() {
  const here = dirname(fileURLToPath(import.meta.url));
  let config;
  try {
    config = JSON.parse(readFileSync(join(here, 'config.json'), 'utf8'));
  } catch (err) {
    if (err.code === 'ENOENT') return DEFAULT_DIRS;
    throw new Error(`${join(here, 'config.json')}: ${err.message}`);
  }
  const dirs = config.allowedDirs;
  if (!Array.isArray(dirs) || dirs.some((d) => typeof d !== 'string' || !d.startsWith('/'))) {
    throw new Error(`${join(here, 'config.json')}: allowedDirs: must be absolute paths`);
  }
  return dirs;
}

/** KEY=VALUE lines; # comments and blank lines skipped; quotes around a value removed. */
export function parseEnvFile(text, file = 'env file') {
  const vars = {};
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!match) throw new Error(`${file}:${i + 1}: not a KEY=VALUE line`);
    let value = match[2];
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.at(-1) === value[0]) {
      value = value.slice(1, -1);
    }
    vars[match[1]] = value;
  });
  return vars;
}
