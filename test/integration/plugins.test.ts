/**
 * Plugin handlers on real containers: discovery from each source, selection and its errors,
 * plugins that fail in every way (each leaves nothing behind), the js and env-file plugins,
 * and a plugin's workload in the same sandbox as a native one.
 */
import {
  chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Spec } from '../../src/core/spec/types.js';
import { nsOf } from './config-helpers.js';
import { REPO, Scratch } from './helpers.js';
import {
  hakoAsync, hakoDetached, isLive, stateOf, statusOf, waitFor,
} from './lifecycle-helpers.js';
import { wasmLeftovers } from './wasm-helpers.js';

/** A field of /proc/<pid>/status (an empty one stays empty: Groups of a root process). */
function statusField(pid: number | string, field: string): string {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  return new RegExp(`^${field}:[ \\t]*(.*)$`, 'm').exec(text)?.[1] ?? '';
}

const PLUGINS = join(REPO, 'plugins');
let scratch: Scratch;
let bad: string;

beforeAll(() => {
  scratch = new Scratch();
  bad = join(scratch.dir, 'bad-plugins');
  mkdirSync(bad);
  const plugin = (name: string, body: string) =>
    writeFileSync(join(bad, `${name}.mjs`), `export default { name: '${name}', ${body} };\n`);
  plugin('throws', "prepare() { throw new Error('no luck today'); }, run: async () => 0");
  plugin('refuses', "validate() { throw new Error('not this config'); }, run: async () => 0");
  plugin('hangs', 'prepare() { return new Promise(() => {}); }, run: async () => 0');
  plugin('spins', 'prepare() { for (;;) {} }, run: async () => 0');
  plugin('quits', 'prepare() { process.exit(3); }, run: async () => 0');
  plugin('fails-later', "run: async () => { throw new Error('run broke'); }");
});
afterAll(() => scratch.cleanup());

function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, HAKO_CONFIG: join(scratch.dir, 'no-config.json'), ...extra };
}

/** A busybox bundle (no node in it) whose process is `args`, run by handler `handler`. */
function bundle(handler: string | undefined, args: string[], edit: (s: Spec) => void = () => {}) {
  return scratch.bundle((spec) => {
    spec.process!.args = args;
    if (handler) spec.annotations = { 'run.oci.handler': handler };
    edit(spec);
  });
}

function run(dir: string, opts: { env?: NodeJS.ProcessEnv; flags?: string[] } = {}) {
  const id = scratch.id('p');
  const result = scratch.hako([...(opts.flags ?? []), 'run', '--bundle', dir, id], {
    env: opts.env ?? env({ HAKO_PLUGIN_PATH: PLUGINS }),
  });
  return { ...result, id };
}

function errorLine(stderr: string): string {
  const match = /msg="(.*)"$/m.exec(stderr);
  return (match?.[1] ?? stderr.trim()).replaceAll('\\"', '"');
}

function handlers(opts: { env?: NodeJS.ProcessEnv; flags?: string[] } = {}) {
  const r = scratch.hako([...(opts.flags ?? []), 'handlers', '--format', 'json'],
    { env: opts.env ?? env() });
  return { ...r, rows: r.status === 0 ? JSON.parse(r.stdout) as Record<string, string>[] : [] };
}

describe('discovery', () => {
  it('finds plugins in HAKO_PLUGIN_PATH, --plugin-path and the config file', () => {
    const byEnv = handlers({ env: env({ HAKO_PLUGIN_PATH: PLUGINS }) });
    expect(byEnv.rows.filter((r) => r.kind === 'plugin')).toEqual([
      { name: 'env-file', kind: 'plugin', source: join(PLUGINS, 'env-file', 'index.mjs'),
        from: 'HAKO_PLUGIN_PATH' },
      { name: 'js', kind: 'plugin', source: join(PLUGINS, 'js', 'index.mjs'),
        from: 'HAKO_PLUGIN_PATH' },
    ]);
    expect(byEnv.rows.slice(0, 2)).toEqual([
      { name: 'linux', kind: 'built-in', source: 'hako' },
      { name: 'wasm', kind: 'built-in', source: 'hako' },
    ]);

    const table = scratch.hako(['--plugin-path', PLUGINS, 'handlers'], { env: env() });
    expect(table.stdout.split('\n').map((line) => line.split(/\s+/).slice(0, 3).join(' ')))
      .toEqual(['NAME KIND SOURCE', 'linux built-in hako', 'wasm built-in hako',
        `env-file plugin ${join(PLUGINS, 'env-file', 'index.mjs')}`,
        `js plugin ${join(PLUGINS, 'js', 'index.mjs')}`, '']);

    const byFlag = handlers({ flags: ['--plugin-path', join(PLUGINS, 'js')] });
    expect(byFlag.rows.find((r) => r.name === 'js')?.from).toBe('--plugin-path');
    const flagDir = join(scratch.dir, 'flag-plugins');
    mkdirSync(flagDir);
    writeFileSync(join(flagDir, 'one.mjs'), "export default { name: 'one', run: async () => 0 };");
    expect(handlers({ flags: ['--plugin-path', flagDir] }).rows.at(-1))
      .toEqual({ name: 'one', kind: 'plugin', source: join(flagDir, 'one.mjs'),
        from: '--plugin-path' });

    const etc = join(scratch.dir, 'etc');
    const pkg = join(etc, 'node_modules', 'hako-plugin-two');
    mkdirSync(pkg, { recursive: true });
    writeFileSync(join(pkg, 'package.json'), '{"name": "hako-plugin-two", "main": "two.mjs"}');
    writeFileSync(join(pkg, 'two.mjs'),
      "export const handler = { name: 'two', run: async () => 0 };");
    const config = join(etc, 'config.json');
    writeFileSync(config, JSON.stringify({ pluginPaths: ['../flag-plugins'],
      plugins: ['hako-plugin-two'] }));
    const byConfig = handlers({ env: env({ HAKO_CONFIG: config }) });
    expect(byConfig.status, byConfig.stderr).toBe(0);
    expect(byConfig.rows.filter((r) => r.kind === 'plugin')).toEqual([
      { name: 'one', kind: 'plugin', source: join(flagDir, 'one.mjs'), from: config },
      { name: 'two', kind: 'plugin', source: join(pkg, 'two.mjs'),
        from: `${config} (npm hako-plugin-two)` },
    ]);

    const features = scratch.hako(['features'], { env: env({ HAKO_CONFIG: config }) });
    expect(JSON.parse(features.stdout).annotations['io.hako.handlers']).toBe('linux,wasm,one,two');
  });

  it('warns, on one line, of a --plugin-path or HAKO_PLUGIN_PATH that does not exist', () => {
    const absent = join(scratch.dir, 'no-such-plugins');
    const byFlag = handlers({ flags: ['--plugin-path', `${absent}:${PLUGINS}`] });
    expect(byFlag.status, byFlag.stderr).toBe(0);
    expect(byFlag.rows.filter((r) => r.kind === 'plugin')).toHaveLength(2);
    expect(byFlag.stderr.trim().split('\n')).toHaveLength(1);
    expect(byFlag.stderr).toMatch(/level=warning /);
    expect(errorLine(byFlag.stderr))
      .toBe(`--plugin-path: plugin directory ${absent} does not exist (skipped)`);

    // create sends it to the --log file, as every log line, and runs the workload.
    const log = join(scratch.dir, 'absent-plugins.log');
    const js = bundle('js', ['/x.mjs']);
    writeFileSync(join(js, 'rootfs', 'x.mjs'), "console.log('ran');\n");
    const r = run(js, { env: env({ HAKO_PLUGIN_PATH: `${absent}:${PLUGINS}` }),
      flags: ['--log', log] });
    expect(r.stdout, r.stderr).toBe('ran\n');
    expect(r.status).toBe(0);
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(errorLine(lines[0]))
      .toBe(`HAKO_PLUGIN_PATH: plugin directory ${absent} does not exist (skipped)`);
  });

  it('refuses two plugins with one name, at load and on create, leaving nothing', () => {
    const dup = join(scratch.dir, 'dup');
    mkdirSync(dup);
    writeFileSync(join(dup, 'other.mjs'), "export default { name: 'js', run: async () => 0 };");
    const e = env({ HAKO_PLUGIN_PATH: `${PLUGINS}:${dup}` });
    const listed = handlers({ env: e });
    expect(listed.status).toBe(1);
    const message = `plugins: two handlers are named "js": ${join(PLUGINS, 'js', 'index.mjs')} ` +
      `(HAKO_PLUGIN_PATH) and ${join(dup, 'other.mjs')} (HAKO_PLUGIN_PATH)`;
    expect(errorLine(listed.stderr)).toBe(message);
    const b = bundle('js', ['/x.mjs']);
    const r = run(b, { env: e });
    expect(r.status).toBe(1);
    expect(errorLine(r.stderr)).toBe(message);
    expect(wasmLeftovers(scratch, r.id, b)).toEqual([]);
  });

  it('fails create naming a handler that matches nothing', () => {
    const b = bundle('jss', ['/x.mjs']);
    const r = run(b);
    expect(r.status).toBe(1);
    expect(errorLine(r.stderr)).toBe(
      'run.oci.handler: no handler named "jss" (available: linux, wasm, env-file, js)');
    expect(wasmLeftovers(scratch, r.id, b)).toEqual([]);
  });
});

describe('plugins that fail', () => {
  const cases: [string, string, RegExp][] = [
    ['throws in prepare', 'throws', /^handler "throws": prepare: no luck today$/],
    ['refuses in validate', 'refuses', /^handler "refuses": validate: not this config$/],
    ['hangs in prepare', 'hangs', /^handler "hangs": prepare did not finish within 1 s$/],
    ['blocks its thread', 'spins',
      /^handler "spins": load, validate and prepare did not finish within 1 s$/],
    ['exits in prepare', 'quits', /^the engine of handler "quits" exited before it was ready$/],
  ];
  for (const [what, name, message] of cases) {
    it(`${what}: one error line, nothing left behind`, () => {
      const b = bundle(name, ['/x'], (s) => {
        s.annotations!['run.oci.handler.timeout'] = '1';
      });
      const r = run(b, { env: env({ HAKO_PLUGIN_PATH: bad }) });
      expect(r.status).toBe(1);
      expect(r.stdout).toBe('');
      expect(errorLine(r.stderr)).toMatch(message);
      expect(wasmLeftovers(scratch, r.id, b)).toEqual([]);
    });
  }

  it('fails after start with the handler named and status 1', () => {
    const b = bundle('fails-later', ['/x']);
    const r = run(b, { env: env({ HAKO_PLUGIN_PATH: bad }) });
    expect(r.stderr).toBe('handler "fails-later": run: run broke\n');
    expect(r.status).toBe(1);
    expect(wasmLeftovers(scratch, r.id, b)).toEqual([]);
  });

  it('keeps a failure after start in the container\'s state until delete', () => {
    const b = bundle('fails-later', ['/x']);
    const id = scratch.id('p');
    const e = env({ HAKO_PLUGIN_PATH: bad });
    const r = scratch.hako(['run', '--keep', '--bundle', b, id], { env: e });
    expect(r.status).toBe(1);
    const state = JSON.parse(scratch.hako(['state', id], { env: e }).stdout) as
      { status: string; error?: string };
    expect(state.status).toBe('stopped');
    expect(state.error).toBe('handler "fails-later": run: run broke');
    expect(scratch.hako(['delete', id], { env: e }).status).toBe(0);
    expect(wasmLeftovers(scratch, id, b)).toEqual([]);
  });

  it('refuses a module that does not load', () => {
    const dir = join(scratch.dir, 'broken');
    mkdirSync(dir);
    writeFileSync(join(dir, 'broken.mjs'), "throw new Error('top-level failure');\n");
    const b = bundle('linux', ['true']);
    const listed = handlers({ env: env({ HAKO_PLUGIN_PATH: dir }) });
    expect(errorLine(listed.stderr))
      .toBe(`load plugin ${join(dir, 'broken.mjs')}: top-level failure`);
    // A built-in handler does not load plugins: a broken one does not stop it.
    const r = run(b, { env: env({ HAKO_PLUGIN_PATH: dir }) });
    expect(r.status, r.stderr).toBe(0);
  });
});

describe('the js plugin', () => {
  it('runs a .mjs entrypoint with hako\'s Node: argv, env, cwd, exit status', () => {
    const b = bundle('js', ['app/main.mjs', 'one', 'two words'], (s) => {
      s.process!.env = [...s.process!.env!, 'GREETING=hello'];
      s.process!.cwd = '/srv';
    });
    const rootfs = join(b, 'rootfs');
    for (const dir of ['bin', 'sbin', 'usr/bin', 'usr/local/bin']) {
      expect(existsSync(join(rootfs, dir, 'node')), `${dir}/node in the image`).toBe(false);
    }
    mkdirSync(join(rootfs, 'srv', 'app'), { recursive: true });
    writeFileSync(join(rootfs, 'srv', 'app', 'main.mjs'), [
      "import { readFileSync } from 'node:fs';",
      "import { helper } from './lib.mjs';",
      'console.log(JSON.stringify({ argv: process.argv.slice(1), greeting: process.env.GREETING,',
      '  home: process.env.HOME, cwd: process.cwd(), helper: helper(),',
      "  hostname: readFileSync('/etc/hostname', 'utf8').trim() }));",
      'setTimeout(() => { process.exitCode = 9; }, 30);',
    ].join('\n'));
    writeFileSync(join(rootfs, 'srv', 'app', 'lib.mjs'), "export const helper = () => 'lib';\n");
    writeFileSync(join(rootfs, 'etc', 'hostname'), 'image-hostname\n');
    const r = run(b);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({
      argv: ['/srv/app/main.mjs', 'one', 'two words'], greeting: 'hello', home: '/root',
      cwd: '/srv', helper: 'lib', hostname: 'image-hostname',
    });
    expect(r.status).toBe(9);
  });

  it('exits 1 on an uncaught error and with process.exit\'s status', () => {
    const b = bundle('js', ['/a.js']);
    writeFileSync(join(b, 'rootfs', 'a.js'), "throw new Error('oops');\n");
    const thrown = run(b);
    expect(thrown.stderr).toContain('Error: oops');
    expect(thrown.status).toBe(1);
    writeFileSync(join(b, 'rootfs', 'a.js'), 'process.exit(42);\n');
    expect(run(b).status).toBe(42);
  });

  it('runs in a user namespace, the engine an unprivileged host uid', () => {
    // The engine is mapped root: it reaches the plugin and the rootfs as "others".
    chmodSync(scratch.dir, 0o711);
    const map = [{ containerID: 0, hostID: 100000, size: 65536 }];
    const b = bundle('js', ['/who.mjs'], (s) => {
      s.linux!.namespaces!.push({ type: 'user' });
      s.linux!.uidMappings = map;
      s.linux!.gidMappings = map;
    });
    chmodSync(join(b, 'rootfs'), 0o755);
    writeFileSync(join(b, 'rootfs', 'who.mjs'), "import { readFileSync } from 'node:fs';\n" +
      "console.log(process.getuid(), readFileSync('/proc/self/uid_map', 'utf8').trim()" +
      ".split(/\\s+/).join(' '));\n");
    const r = run(b);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('0 0 100000 65536\n');
    expect(r.status).toBe(0);
  });

  it('refuses an entrypoint that is not JavaScript (canHandle)', () => {
    const b = bundle('js', ['sh', '-c', 'true']);
    const r = run(b);
    expect(errorLine(r.stderr)).toBe('handler "js" cannot run this container (canHandle)');
    expect(wasmLeftovers(scratch, r.id, b)).toEqual([]);
  });

  it('fails create for a missing script', () => {
    const b = bundle('js', ['/missing.mjs']);
    const r = run(b);
    expect(errorLine(r.stderr))
      .toBe('handler "js": validate: /missing.mjs: no such file in the container');
    expect(wasmLeftovers(scratch, r.id, b)).toEqual([]);
  });
});

describe('the env-file plugin', () => {
  it('adds the variables of an allowed host file; refuses other files', () => {
    const plugins = join(scratch.dir, 'env-plugins');
    mkdirSync(join(plugins, 'env-file'), { recursive: true });
    writeFileSync(join(plugins, 'env-file', 'index.mjs'),
      readFileSync(join(PLUGINS, 'env-file', 'index.mjs')));
    const allowed = join(scratch.dir, 'env');
    mkdirSync(allowed);
    writeFileSync(join(plugins, 'env-file', 'config.json'),
      JSON.stringify({ allowedDirs: [allowed] }));
    writeFileSync(join(allowed, 'app.env'), '# db\nDB_PASSWORD="hunter 2"\nMODE=prod\n');
    const e = env({ HAKO_PLUGIN_PATH: plugins });

    const b = bundle('env-file', ['sh', '-c', 'echo "$DB_PASSWORD/$MODE/$KEEP"; exit 5'], (s) => {
      s.process!.env = [...s.process!.env!, 'MODE=dev', 'KEEP=kept'];
      s.annotations!['io.hako.env-file'] = join(allowed, 'app.env');
    });
    const r = run(b, { env: e });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('hunter 2/prod/kept\n');
    expect(r.status).toBe(5);

    const outside = bundle('env-file', ['true'], (s) => {
      s.annotations!['io.hako.env-file'] = '/etc/passwd';
    });
    const refused = run(outside, { env: e });
    expect(errorLine(refused.stderr)).toBe('handler "env-file": prepare: io.hako.env-file: ' +
      `/etc/passwd is not beneath an allowed directory (${allowed})`);
    expect(wasmLeftovers(scratch, refused.id, outside)).toEqual([]);
  });
});

describe('a TypeScript plugin', () => {
  it('is compiled to a module and runs with its prepared value', async () => {
    const dir = join(scratch.dir, 'ts-plugins');
    const { build } = await import('esbuild');
    await build({
      entryPoints: [join(REPO, 'test', 'fixtures', 'plugins', 'typed.ts')],
      outfile: join(dir, 'typed.mjs'), format: 'esm', platform: 'node', bundle: true,
      logLevel: 'silent',
    });
    const b = bundle('typed', ['5']);
    const files = readdirSync(join(b, 'rootfs', 'etc')).length;
    const r = run(b, { env: env({ HAKO_PLUGIN_PATH: dir }) });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`${files} files in /etc, root was the rootfs, now /\n`);
    expect(r.status).toBe(5);
  });
});

describe('signals', () => {
  it('passes hako kill\'s TERM on to a process a plugin exec\'d', async () => {
    const dir = join(scratch.dir, 'sig-plugins');
    mkdirSync(dir);
    writeFileSync(join(dir, 'execs.mjs'), "export default { name: 'execs', " +
      'run: (ctx) => ctx.exec(ctx.spec.process.args) };\n');
    const b = bundle('execs', ['sh', '-c',
      'trap "echo got TERM; exit 7" TERM; echo ready; while :; do sleep 0.05; done']);
    const id = scratch.id('sig');
    const running = hakoAsync(scratch, ['--plugin-path', dir, 'run', '--bundle', b, id]);
    const isRunning = () => {
      try {
        return statusOf(scratch, id) === 'running';
      } catch {
        return false;
      }
    };
    await waitFor(isRunning, 'the container to run');
    await new Promise((done) => setTimeout(done, 300));
    expect(scratch.hako(['kill', id, 'TERM']).status).toBe(0);
    const r = await running.done;
    expect(r.stdout).toBe('ready\ngot TERM\n');
    expect(r.status).toBe(7);
    // `run` deleted the container when it exited.
    expect(wasmLeftovers(scratch, id, b)).toEqual([]);
  });
});

describe('isolation', () => {
  const NAMESPACES = ['pid', 'mnt', 'net', 'ipc', 'uts', 'cgroup', 'user'];
  const FIELDS = ['Uid', 'Gid', 'Groups', 'CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb',
    'NoNewPrivs', 'Seccomp'];
  const config = (s: Spec) => {
    s.linux!.seccomp = {
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['mknodat', 'mknod'], action: 'SCMP_ACT_ERRNO' }],
    };
    s.process!.noNewPrivileges = true;
    s.linux!.namespaces = [...s.linux!.namespaces!.filter((n) => n.type !== 'cgroup'),
      { type: 'cgroup' }];
  };

  /** Starts a container and returns what the host sees of pid, once it is running. */
  async function observe(handler: string | undefined, args: string[], marker: string,
    workload: (init: number) => number) {
    const b = bundle(handler, args, config);
    writeFileSync(join(b, 'rootfs', 'marker'), marker);
    if (handler === 'js') {
      writeFileSync(join(b, 'rootfs', 'wait.mjs'), 'setInterval(() => {}, 1e6);\n');
    }
    const id = scratch.id('iso');
    const e = env({ HAKO_PLUGIN_PATH: PLUGINS });
    expect(hakoDetached(scratch, ['create', '--bundle', b, id], { env: e }).status).toBe(0);
    expect(hakoDetached(scratch, ['start', id], { env: e }).status).toBe(0);
    const init = stateOf(scratch, id).pid as number;
    let pid = 0;
    await waitFor(() => (pid = workload(init)) > 0, 'the workload');
    await new Promise((done) => setTimeout(done, 200));
    const seen = {
      ns: Object.fromEntries(NAMESPACES.map((t) => [t, nsOf(pid, t) !== nsOf('self', t)])),
      fields: Object.fromEntries(FIELDS.map((f) => [f, statusField(pid, f)])),
      threadsFiltered: readdirSync(`/proc/${pid}/task`)
        .every((tid) => statusField(`${pid}/task/${tid}`, 'Seccomp') === '2'),
      cgroup: readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n')
        .filter((line) => !line.includes(':name=systemd:'))
        .every((line) => line.endsWith(`/hako/${id}`) || line.endsWith(':/')),
      marker: readFileSync(`/proc/${pid}/root/marker`, 'utf8'),
      rootLink: readlinkSync(`/proc/${pid}/root`),
      nsOfInit: NAMESPACES.every((t) => nsOf(pid, t) === nsOf(init, t)),
    };
    expect(scratch.hako(['kill', id, 'KILL']).status).toBe(0);
    await waitFor(() => !isLive(init), 'the container to stop');
    expect(scratch.hako(['delete', '--force', id]).status).toBe(0);
    expect(wasmLeftovers(scratch, id, b)).toEqual([]);
    return seen;
  }

  const childOf = (init: number) => {
    const children = readFileSync(`/proc/${init}/task/${init}/children`, 'utf8').trim();
    return children ? Number(children.split(' ')[0]) : 0;
  };

  it('gives a plugin\'s workload the sandbox a native one gets', async () => {
    const native = await observe(undefined, ['sleep', '1000'], 'native', (init) => init);
    const js = await observe('js', ['/wait.mjs'], 'js', (init) => init);
    expect(native.threadsFiltered).toBe(true);
    expect(native.cgroup).toBe(true);
    expect(native.ns).toEqual(Object.fromEntries(NAMESPACES.map((t) => [t, t !== 'user'])));
    expect(native.marker).toBe('native');
    expect(js.marker).toBe('js');
    for (const seen of [js]) {
      expect(seen.ns).toEqual(native.ns);
      expect(seen.fields).toEqual(native.fields);
      expect(seen.threadsFiltered).toBe(true);
      expect(seen.cgroup).toBe(true);
      expect(seen.rootLink).toBe(native.rootLink);
    }
  });

  it('gives a process a plugin execs the same sandbox', async () => {
    const native = await observe(undefined, ['sleep', '1000'], 'native', (init) => init);
    const envDir = join(scratch.dir, 'iso-env');
    mkdirSync(join(envDir, 'env-file'), { recursive: true });
    writeFileSync(join(envDir, 'env-file', 'index.mjs'),
      readFileSync(join(PLUGINS, 'env-file', 'index.mjs')));
    writeFileSync(join(envDir, 'env-file', 'config.json'),
      JSON.stringify({ allowedDirs: [scratch.dir] }));
    writeFileSync(join(scratch.dir, 'iso.env'), 'A=1\n');
    const b = bundle('env-file', ['sleep', '1000'], (s) => {
      config(s);
      s.annotations!['io.hako.env-file'] = join(scratch.dir, 'iso.env');
    });
    writeFileSync(join(b, 'rootfs', 'marker'), 'exec');
    const id = scratch.id('iso');
    const e = env({ HAKO_PLUGIN_PATH: envDir });
    expect(hakoDetached(scratch, ['create', '--bundle', b, id], { env: e }).status).toBe(0);
    expect(hakoDetached(scratch, ['start', id], { env: e }).status).toBe(0);
    const init = stateOf(scratch, id).pid as number;
    let pid = 0;
    await waitFor(() => (pid = childOf(init)) > 0, 'the exec\'d workload');
    await waitFor(() => readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('sleep'),
      'the exec');
    for (const t of NAMESPACES) expect(nsOf(pid, t), t).toBe(nsOf(init, t));
    for (const f of FIELDS) expect(statusField(pid, f), f).toBe(native.fields[f]);
    expect(readFileSync(`/proc/${pid}/root/marker`, 'utf8')).toBe('exec');
    expect(readFileSync(`/proc/${pid}/cgroup`, 'utf8')).toMatch(new RegExp(`:/hako/${id}$`, 'm'));
    expect(scratch.hako(['kill', id, 'KILL']).status).toBe(0);
    await waitFor(() => !isLive(init) && !isLive(pid), 'the container to stop');
    expect(scratch.hako(['delete', '--force', id]).status).toBe(0);
    expect(wasmLeftovers(scratch, id, b)).toEqual([]);
  });
});
