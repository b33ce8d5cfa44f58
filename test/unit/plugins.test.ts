import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { handlerContext, handlerTimeout, phase } from '../../src/core/engine/context.js';
import { chooseHandler } from '../../src/core/lifecycle/handler.js';
import { parseConfig, pluginSources } from '../../src/core/plugins/config.js';
import { findPluginModules, moduleOf } from '../../src/core/plugins/registry.js';
import type { Spec } from '../../src/core/spec/types.js';
import { type Handler, handlerOf } from '../../src/handlers/api.js';
// @ts-expect-error: a plain JavaScript plugin, without type declarations
import * as envFile from '../../plugins/env-file/index.mjs';

const dir = mkdtempSync(join(tmpdir(), 'hako-plugins-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function put(path: string, text: string): string {
  const file = join(dir, path);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, text);
  return file;
}

describe('host config file', () => {
  it('reads pluginPaths and plugins', () => {
    expect(parseConfig('{"pluginPaths": ["/a", "b"], "plugins": ["p"]}', 'c.json'))
      .toEqual({ pluginPaths: ['/a', 'b'], plugins: ['p'] });
    expect(parseConfig('{}', 'c.json')).toEqual({ pluginPaths: [], plugins: [] });
  });

  it('refuses malformed files with the file and field named', () => {
    expect(() => parseConfig('{', 'c.json')).toThrow(/^c\.json: not JSON: /);
    expect(() => parseConfig('[]', 'c.json')).toThrow('c.json: must be a JSON object');
    expect(() => parseConfig('{"plugins": "x"}', 'c.json'))
      .toThrow('c.json: plugins: must be an array of non-empty strings');
    expect(() => parseConfig('{"pluginPaths": [1]}', 'c.json'))
      .toThrow('c.json: pluginPaths: must be an array of non-empty strings');
  });

  it('orders the flag, then HAKO_PLUGIN_PATH, then the config file (relative to it)', () => {
    const config = put('etc/config.json', '{"pluginPaths": ["plug"], "plugins": ["pkg"]}');
    const sources = pluginSources({
      flag: '/f1:/f2',
      env: { HAKO_PLUGIN_PATH: '/e1::/e2', HAKO_CONFIG: config },
    });
    expect(sources.dirs).toEqual([
      { dir: '/f1', from: '--plugin-path' }, { dir: '/f2', from: '--plugin-path' },
      { dir: '/e1', from: 'HAKO_PLUGIN_PATH' }, { dir: '/e2', from: 'HAKO_PLUGIN_PATH' },
      { dir: join(dir, 'etc', 'plug'), from: config },
    ]);
    expect(sources.packages).toEqual([{ name: 'pkg', from: config, base: join(dir, 'etc') }]);
  });

  it('treats a missing config file as empty', () => {
    const sources = pluginSources({ env: { HAKO_CONFIG: join(dir, 'none.json') } });
    expect(sources).toEqual({ dirs: [], packages: [] });
  });
});

describe('finding plugin modules', () => {
  const plugins = join(dir, 'plugins');
  put('plugins/a.mjs', '');
  put('plugins/b.js', '');
  put('plugins/notes.txt', '');
  put('plugins/.hidden.mjs', '');
  put('plugins/c/index.mjs', '');
  put('plugins/d/package.json', '{"main": "lib/main.js"}');
  put('plugins/e/package.json', '{"exports": {".": {"import": "./esm.mjs"}}, "main": "x.js"}');
  put('plugins/f/README.md', '');
  put('modules/node_modules/hako-plugin-x/index.js', '');

  it('takes module files and plugin folders, in name order', () => {
    const found = findPluginModules({ dirs: [{ dir: plugins, from: 'F' }], packages: [] }, '/');
    expect(found).toEqual([
      { path: join(plugins, 'a.mjs'), from: 'F' },
      { path: join(plugins, 'b.js'), from: 'F' },
      { path: join(plugins, 'c', 'index.mjs'), from: 'F' },
      { path: join(plugins, 'd', 'lib', 'main.js'), from: 'F' },
      { path: join(plugins, 'e', 'esm.mjs'), from: 'F' },
    ]);
  });

  it('skips a missing directory and finds npm packages above the config file', () => {
    const found = findPluginModules({
      dirs: [{ dir: join(dir, 'absent'), from: 'F' }],
      packages: [{ name: 'hako-plugin-x', from: 'C', base: join(dir, 'modules', 'etc') }],
    }, '/');
    expect(found).toEqual([{
      path: join(dir, 'modules', 'node_modules', 'hako-plugin-x', 'index.js'),
      from: 'C (npm hako-plugin-x)',
    }]);
  });

  it('warns once for a missing --plugin-path or HAKO_PLUGIN_PATH directory', () => {
    const warnings: string[] = [];
    const absent = join(dir, 'absent');
    const found = findPluginModules({
      dirs: [
        { dir: absent, from: '--plugin-path' },
        { dir: plugins, from: '--plugin-path' },
        { dir: absent, from: 'HAKO_PLUGIN_PATH' },
        { dir: join(dir, 'gone'), from: 'HAKO_PLUGIN_PATH' },
        { dir: join(dir, 'optional'), from: '/etc/hako/config.json' },
      ],
      packages: [],
    }, '/', (message) => warnings.push(message));
    expect(found).toHaveLength(5);
    expect(warnings).toEqual([
      `--plugin-path: plugin directory ${absent} does not exist (skipped)`,
      `HAKO_PLUGIN_PATH: plugin directory ${join(dir, 'gone')} does not exist (skipped)`,
    ]);
  });

  it('names a package that is not installed', () => {
    expect(() => findPluginModules({
      dirs: [], packages: [{ name: 'nope', from: 'C', base: dir }],
    }, dir)).toThrow('C: plugins: npm package "nope" not found');
  });

  it('follows a symlinked plugin folder', () => {
    symlinkSync(join(plugins, 'c'), join(dir, 'link'));
    expect(moduleOf(join(dir, 'link'))).toBe(join(dir, 'link', 'index.mjs'));
  });
});

describe('the handler a module exports', () => {
  const run = async () => 0;
  it('is the default export, else `handler`', () => {
    expect(handlerOf({ default: { name: 'x', run } }, 'm').name).toBe('x');
    expect(handlerOf({ handler: { name: 'y', run } }, 'm').name).toBe('y');
  });
  it('must have a usable name and a run function', () => {
    expect(() => handlerOf({}, 'm.mjs')).toThrow('m.mjs: exports no handler');
    expect(() => handlerOf({ default: { name: 'a b', run } }, 'm')).toThrow('handler.name');
    expect(() => handlerOf({ default: { name: 'a' } }, 'm'))
      .toThrow('m: handler.run is not a function');
  });
});

describe('choosing a plugin handler', () => {
  const spec = (handler?: string): Spec => ({
    ociVersion: '1.0.2',
    process: { args: ['/app.mjs'], cwd: '/', user: { uid: 0, gid: 0 } },
    annotations: handler ? { 'run.oci.handler': handler } : {},
  } as Spec);
  const plugins = () => [{ name: 'js', path: '/p/js/index.mjs', from: 'F' }];

  it('selects a plugin by run.oci.handler, as an engine handler', () => {
    expect(chooseHandler(spec('js'), {}, plugins))
      .toMatchObject({ name: 'js', engine: true, pluginPath: '/p/js/index.mjs' });
  });

  it('loads no plugin for a built-in handler or no annotation', () => {
    const never = () => { throw new Error('plugins were loaded'); };
    expect(chooseHandler(spec('linux'), {}, never).name).toBe('linux');
    expect(chooseHandler(spec('wasm'), {}, never).name).toBe('wasm');
    expect(chooseHandler(spec(), {}, never).name).toBe('linux');
  });

  it('names a handler that matches nothing', () => {
    expect(() => chooseHandler(spec('jss'), {}, plugins))
      .toThrow('run.oci.handler: no handler named "jss" (available: linux, wasm, js)');
  });

  it('refuses a terminal for a plugin handler', () => {
    const s = spec('js');
    s.process!.terminal = true;
    expect(() => chooseHandler(s, {}, plugins)).toThrow('no terminal support');
  });
});

describe('handler phases', () => {
  const handler: Handler = { name: 'slow', run: async () => 0 };

  it('reads run.oci.handler.timeout', () => {
    expect(handlerTimeout({ ociVersion: '1' } as Spec)).toBe(30);
    expect(handlerTimeout({ annotations: { 'run.oci.handler.timeout': '2.5' } } as never))
      .toBe(2.5);
    expect(() => handlerTimeout({ annotations: { 'run.oci.handler.timeout': 'x' } } as never))
      .toThrow('run.oci.handler.timeout: must be a positive number of seconds (got "x")');
  });

  it('names the handler and the phase of a failure or a hang', async () => {
    await expect(phase(handler, 'prepare', 1, () => { throw new Error('boom'); }))
      .rejects.toThrow('handler "slow": prepare: boom');
    await expect(phase(handler, 'validate', 0.05, () => new Promise(() => undefined)))
      .rejects.toThrow('handler "slow": validate did not finish within 0.05 s');
    await expect(phase(handler, 'prepare', 1, async () => 7)).resolves.toBe(7);
  });

  it('refuses exec before pivot_root', async () => {
    const ctx = handlerContext('x', { ociVersion: '1' } as Spec, 'id', '/host/rootfs');
    await expect(ctx.exec(['true'])).rejects.toThrow('exec is only possible in run');
  });
});

describe('the env-file plugin', () => {
  it('parses KEY=VALUE lines, comments, quotes and export', () => {
    expect(envFile.parseEnvFile('# c\n\nA=1\nexport B="two words"\nC=\'x\'\nD=a=b\n'))
      .toEqual({ A: '1', B: 'two words', C: 'x', D: 'a=b' });
    expect(() => envFile.parseEnvFile('A=1\nnot a line\n', 'f.env'))
      .toThrow('f.env:2: not a KEY=VALUE line');
  });

  it('reads only files beneath an allowed directory, links resolved', () => {
    const allowed = join(dir, 'env');
    const file = put('env/app.env', 'A=1\n');
    const outside = put('secret.env', 'A=1\n');
    symlinkSync(outside, join(allowed, 'link.env'));
    expect(envFile.allowedFile(file, [allowed])).toBe(file);
    expect(() => envFile.allowedFile(join(allowed, 'link.env'), [allowed]))
      .toThrow('is not beneath an allowed directory');
    expect(() => envFile.allowedFile('env/app.env', [allowed])).toThrow('absolute host path');
  });
});
