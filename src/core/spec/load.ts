// Reading and validating a bundle's config.json. Validation covers what hako relies on later,
// so that a bad bundle fails here with the field's path instead of half-way through setup.
// Unknown fields and annotations are ignored, as the runtime-spec requires.

import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';

import { HakoError } from '../errors.js';
import { Checker, isJsonObject, withoutNulls, type JsonObject } from './check.js';
import type { Mount, Spec } from './types.js';
import { validateLinux } from './validate-linux.js';
import { validateProcess } from './validate-process.js';

const HOOK_KINDS = [
  'prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop',
] as const;

/** Receives what is accepted but deprecated, one line each (create sends it to the log). */
export type SpecWarn = (message: string) => void;

/**
 * Reads <bundleDir>/config.json, validates it and returns it with root.path made absolute
 * (relative root paths are relative to the bundle, not to the caller's cwd).
 */
export function loadSpec(bundleDir: string, warn: SpecWarn = () => undefined): Spec {
  const bundle = resolve(bundleDir);
  const file = join(bundle, 'config.json');

  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new HakoError(`open ${file}: ${describeFsError(err)}`);
  }

  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new HakoError(`config.json: cannot parse: ${describeParseError(err, text)}`);
  }

  const spec = validateSpec(raw, 'config.json', warn);
  const root = spec.root!;
  return { ...spec, root: { ...root, path: resolve(bundle, root.path) } };
}

/**
 * Checks parsed JSON against the parts of the runtime-spec hako uses and returns it typed.
 * The result is a copy: members set to null are dropped (Go decoders treat them as absent) and
 * relative mount destinations are made absolute. `where` prefixes every error message.
 */
export function validateSpec(
  raw: unknown,
  where = 'config.json',
  warn: SpecWarn = () => undefined,
): Spec {
  const c = new Checker(where);
  if (!isJsonObject(raw)) c.fail('', 'must be a JSON object');
  const spec = withoutNulls(raw) as JsonObject;

  const version = c.nonEmptyString('ociVersion', spec.ociVersion);
  const major = /^(\d+)\./.exec(version)?.[1];
  if (major !== undefined && major !== '1') {
    c.fail('ociVersion', `unsupported version "${version}": hako implements 1.x`);
  }

  // The spec makes root and process optional for other platforms; a Linux container needs both.
  const root = c.object('root', spec.root);
  c.nonEmptyString('root.path', root.path);
  c.optBoolean('root.readonly', root.readonly);
  validateProcess(c, 'process', spec.process);

  const hostname = c.optString('hostname', spec.hostname);
  c.optString('domainname', spec.domainname);
  const mounts = validateMounts(c, 'mounts', spec.mounts, warn);
  validateHooks(c, 'hooks', spec.hooks);
  c.stringMap('annotations', spec.annotations);
  const namespaces = validateLinux(c, 'linux', spec.linux);

  // sethostname(2) would change the host's name without a uts namespace of the container's own.
  if (hostname && !namespaces.has('uts')) {
    c.fail('hostname', 'cannot be set without a uts namespace');
  }

  return { ...spec, ...(mounts && { mounts }) } as unknown as Spec;
}

function validateMounts(
  c: Checker,
  path: string,
  value: unknown,
  warn: SpecWarn,
): Mount[] | undefined {
  return c.optArray(path, value)?.map((item, i) => {
    const at = `${path}[${i}]`;
    const m = c.object(at, item);
    const destination = c.nonEmptyString(`${at}.destination`, m.destination);
    c.optString(`${at}.type`, m.type);
    c.optString(`${at}.source`, m.source);
    c.optStringArray(`${at}.options`, m.options);
    for (const key of ['uidMappings', 'gidMappings'] as const) {
      c.optArray(`${at}.${key}`, m[key])?.forEach((mapItem, j) => {
        const mapAt = `${at}.${key}[${j}]`;
        const mapping = c.object(mapAt, mapItem);
        c.uint32(`${mapAt}.containerID`, mapping.containerID);
        c.uint32(`${mapAt}.hostID`, mapping.hostID);
        c.integer(`${mapAt}.size`, mapping.size, 1, 0xffffffff);
      });
    }
    const mount = m as unknown as Mount;
    if (isAbsolute(destination)) return mount;

    // runc 1.1 accepts a relative destination with a warning and mounts it under the
    // container's root, which is what prefixing '/' means once the rootfs is the root.
    warn(`${c.where}: ${at}.destination ${JSON.stringify(destination)} is not absolute: ` +
      `mounted at /${destination} (relative destinations are deprecated)`);
    return { ...mount, destination: `/${destination}` };
  });
}

function validateHooks(c: Checker, path: string, value: unknown): void {
  const hooks = c.optObject(path, value);
  if (!hooks) return;
  for (const kind of HOOK_KINDS) {
    c.optArray(`${path}.${kind}`, hooks[kind])?.forEach((item, i) => {
      const at = `${path}.${kind}[${i}]`;
      const hook = c.object(at, item);
      c.absolutePath(`${at}.path`, hook.path);
      c.optStringArray(`${at}.args`, hook.args);
      c.optStringArray(`${at}.env`, hook.env);
      // The spec requires a timeout, when given, to be greater than zero.
      c.optInteger(`${at}.timeout`, hook.timeout, 1, 2 ** 31 - 1);
    });
  }
}

/** "no such file or directory" from Node's "ENOENT: no such file or directory, open '...'". */
function describeFsError(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const match = /^[A-Z0-9]+: ([^,]+)/.exec(message);
  return match?.[1] ?? message;
}

/**
 * V8's JSON.parse message on one line: it may quote the offending text, newlines included.
 * When it gives a character position, the line and column are added for the person editing.
 */
function describeParseError(err: unknown, text: string): string {
  const message = (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ');
  const position = /at position (\d+)/.exec(message);
  if (!position) return message;
  const before = text.slice(0, Number(position[1]));
  const line = before.split('\n').length;
  const column = before.length - before.lastIndexOf('\n');
  return `${message} (line ${line} column ${column})`;
}
