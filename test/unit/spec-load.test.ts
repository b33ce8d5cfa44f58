import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import { HakoError } from '../../src/core/errors.js';
import { loadSpec, validateSpec } from '../../src/core/spec/load.js';

function minimal(): Record<string, any> {
  return {
    ociVersion: '1.2.0',
    root: { path: 'rootfs' },
    process: { user: { uid: 0, gid: 0 }, args: ['sh'], cwd: '/' },
    linux: { namespaces: [{ type: 'pid' }, { type: 'mount' }] },
  };
}

/** The error message validateSpec throws for a config changed by `edit`. */
function errorOf(edit: (s: Record<string, any>) => void): string {
  const spec = minimal();
  edit(spec);
  try {
    validateSpec(spec);
  } catch (err) {
    expect(err).toBeInstanceOf(HakoError);
    return (err as Error).message;
  }
  throw new Error('validateSpec accepted the config');
}

describe('loadSpec', () => {
  const dirs: string[] = [];
  function bundle(config?: string): string {
    const dir = mkdtempSync(join(tmpdir(), 'hako-spec-'));
    dirs.push(dir);
    if (config !== undefined) writeFileSync(join(dir, 'config.json'), config);
    return dir;
  }
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('resolves a relative root.path against the bundle', () => {
    const dir = bundle(JSON.stringify(minimal()));
    expect(loadSpec(dir).root?.path).toBe(join(dir, 'rootfs'));
  });

  it('keeps an absolute root.path', () => {
    const spec = minimal();
    spec.root.path = '/somewhere/else';
    expect(loadSpec(bundle(JSON.stringify(spec))).root?.path).toBe('/somewhere/else');
  });

  it('names the file when config.json is missing', () => {
    const dir = bundle();
    expect(() => loadSpec(dir)).toThrow(`open ${dir}/config.json: no such file or directory`);
  });

  it('reports a parse error on one line', () => {
    const dir = bundle('{"ociVersion": }');
    let message = '';
    try {
      loadSpec(dir);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^config\.json: cannot parse: Unexpected token/);
    expect(message).not.toContain('\n');
  });

  it('adds line and column when V8 gives a position', () => {
    const dir = bundle('{\n"a": 1,\n  }');
    expect(() => loadSpec(dir)).toThrow(
      'config.json: cannot parse: Expected double-quoted property name in JSON at position 12'
        + ' (line 3 column 3)',
    );
  });

  it('keeps a quoted multi-line snippet on one line', () => {
    const dir = bundle('{\n\t"ociVersion": \n}');
    expect(() => loadSpec(dir)).toThrow(/^config\.json: cannot parse: [^\n]+$/);
  });

  it('reports validation errors with the config.json prefix', () => {
    const spec = minimal();
    delete spec.process.args;
    const dir = bundle(JSON.stringify(spec));
    expect(() => loadSpec(dir)).toThrow('config.json: process.args: must be a non-empty array');
  });

  it('accepts a bundle path with a trailing slash', () => {
    const dir = bundle(JSON.stringify(minimal()));
    expect(loadSpec(`${dir}/`).root?.path).toBe(join(dir, 'rootfs'));
  });
});

describe('validateSpec', () => {
  it('accepts a minimal config and returns it typed', () => {
    const spec = validateSpec(minimal());
    expect(spec.process?.args).toEqual(['sh']);
    expect(spec.linux?.namespaces?.map((n) => n.type)).toEqual(['pid', 'mount']);
  });

  it('ignores unknown fields and annotations, and keeps them', () => {
    const spec = minimal();
    spec.somethingNew = { x: 1 };
    spec.process.futureField = true;
    spec.annotations = { 'org.example.unknown': 'yes' };
    const out = validateSpec(spec) as unknown as Record<string, unknown>;
    expect(out.somethingNew).toEqual({ x: 1 });
    expect(out.annotations).toEqual({ 'org.example.unknown': 'yes' });
  });

  it('treats null members as absent', () => {
    const spec = minimal();
    spec.hooks = null;
    spec.linux.seccomp = null;
    const out = validateSpec(spec);
    expect('hooks' in out).toBe(false);
    expect(out.linux && 'seccomp' in out.linux).toBe(false);
  });

  it('does not modify its input', () => {
    const spec = minimal();
    spec.mounts = [{ destination: 'data', type: 'tmpfs', source: 'tmpfs' }];
    const before = JSON.stringify(spec);
    validateSpec(spec);
    expect(JSON.stringify(spec)).toBe(before);
  });

  it('makes a relative mount destination relative to /', () => {
    const spec = minimal();
    spec.mounts = [
      { destination: 'data', type: 'tmpfs', source: 'tmpfs' },
      { destination: '/proc', type: 'proc', source: 'proc' },
    ];
    const warnings: string[] = [];
    const out = validateSpec(spec, 'config.json', (msg) => warnings.push(msg));
    expect(out.mounts?.map((m) => m.destination)).toEqual(['/data', '/proc']);
    expect(warnings).toEqual(['config.json: mounts[0].destination "data" is not absolute: ' +
      'mounted at /data (relative destinations are deprecated)']);
  });

  it('uses the given file name as prefix', () => {
    const spec = minimal();
    spec.process.cwd = 'tmp';
    expect(() => validateSpec(spec, 'process.json')).toThrow(
      'process.json: process.cwd: must be an absolute path, got "tmp"',
    );
  });

  const cases: Array<[string, (s: Record<string, any>) => void, string]> = [
    ['missing ociVersion', (s) => delete s.ociVersion, 'ociVersion: must be a non-empty string'],
    ['ociVersion 2.x', (s) => (s.ociVersion = '2.0.0'),
      'ociVersion: unsupported version "2.0.0": hako implements 1.x'],
    ['missing root', (s) => delete s.root, 'root: is required'],
    ['root.path empty', (s) => (s.root.path = ''), 'root.path: must be a non-empty string'],
    ['missing process', (s) => delete s.process, 'process: is required'],
    ['missing args', (s) => delete s.process.args,
      'process.args: must be a non-empty array of strings'],
    ['empty args', (s) => (s.process.args = []),
      'process.args: must be a non-empty array of strings'],
    ['non-string arg', (s) => (s.process.args = ['sh', 1]),
      'process.args: must be a non-empty array of strings'],
    ['relative cwd', (s) => (s.process.cwd = 'home'),
      'process.cwd: must be an absolute path, got "home"'],
    ['missing cwd', (s) => delete s.process.cwd, 'process.cwd: must be a non-empty string'],
    ['missing user', (s) => delete s.process.user, 'process.user: is required'],
    ['string uid', (s) => (s.process.user.uid = '0'),
      'process.user.uid: must be an integer between 0 and 4294967295'],
    ['negative gid', (s) => (s.process.user.gid = -1),
      'process.user.gid: must be an integer between 0 and 4294967295'],
    ['bad additional gid', (s) => (s.process.user.additionalGids = [1, 2.5]),
      'process.user.additionalGids[1]: must be an integer between 0 and 4294967295'],
    ['env without =', (s) => (s.process.env = ['A=1', 'B']),
      'process.env[1]: must be of the form NAME=VALUE, got "B"'],
    ['env without name', (s) => (s.process.env = ['=x']),
      'process.env[0]: must be of the form NAME=VALUE, got "=x"'],
    ['terminal not boolean', (s) => (s.process.terminal = 'yes'),
      'process.terminal: must be a boolean'],
    ['unknown capability', (s) => (s.process.capabilities = { bounding: ['CAP_KILL', 'CAP_FOO'] }),
      'process.capabilities.bounding[1]: unknown capability "CAP_FOO"'],
    ['capabilities not strings', (s) => (s.process.capabilities = { ambient: 'CAP_KILL' }),
      'process.capabilities.ambient: must be an array of strings'],
    ['unknown rlimit', (s) => (s.process.rlimits = [{ type: 'RLIMIT_FOO', soft: 1, hard: 1 }]),
      'process.rlimits[0].type: unknown rlimit type "RLIMIT_FOO"'],
    ['duplicate rlimit', (s) => (s.process.rlimits = [
      { type: 'RLIMIT_NOFILE', soft: 1, hard: 1 }, { type: 'RLIMIT_NOFILE', soft: 2, hard: 2 },
    ]), 'process.rlimits[1].type: duplicate rlimit type "RLIMIT_NOFILE"'],
    ['rlimit soft above hard', (s) => (s.process.rlimits = [
      { type: 'RLIMIT_NOFILE', soft: 2048, hard: 1024 },
    ]), 'process.rlimits[0]: soft limit 2048 exceeds hard limit 1024'],
    ['rlimit without hard', (s) => (s.process.rlimits = [{ type: 'RLIMIT_CORE', soft: 0 }]),
      'process.rlimits[0].hard: is required'],
    ['oomScoreAdj out of range', (s) => (s.process.oomScoreAdj = 1001),
      'process.oomScoreAdj: must be an integer between -1000 and 1000'],
    ['mount without destination', (s) => (s.mounts = [{ type: 'tmpfs' }]),
      'mounts[0].destination: must be a non-empty string'],
    ['mount options not strings', (s) => (s.mounts = [{ destination: '/x', options: [1] }]),
      'mounts[0].options: must be an array of strings'],
    ['mount mapping size 0', (s) => (s.mounts = [{
      destination: '/x', uidMappings: [{ containerID: 0, hostID: 0, size: 0 }],
    }]), 'mounts[0].uidMappings[0].size: must be an integer between 1 and 4294967295'],
    ['relative hook path', (s) => (s.hooks = { poststop: [{ path: 'bin/true' }] }),
      'hooks.poststop[0].path: must be an absolute path, got "bin/true"'],
    ['hook timeout 0', (s) => (s.hooks = { createRuntime: [{ path: '/bin/true', timeout: 0 }] }),
      'hooks.createRuntime[0].timeout: must be an integer between 1 and 2147483647'],
    ['annotation not a string', (s) => (s.annotations = { 'run.oci.handler': 1 }),
      'annotations["run.oci.handler"]: must be a string'],
    ['unknown namespace', (s) => s.linux.namespaces.push({ type: 'foo' }),
      'linux.namespaces[2].type: unknown namespace type "foo"'],
    ['duplicate namespace', (s) => s.linux.namespaces.push({ type: 'pid' }),
      'linux.namespaces[2].type: duplicate namespace type "pid"'],
    ['namespace named as in /proc', (s) => s.linux.namespaces.push({ type: 'net' }),
      'linux.namespaces[2].type: unknown namespace type "net"'],
    ['namespace path not absolute', (s) => s.linux.namespaces.push({ type: 'ipc', path: 'x' }),
      'linux.namespaces[2].path: must be an absolute path, got "x"'],
    ['user namespace without uid mappings', (s) => s.linux.namespaces.push({ type: 'user' }),
      'linux.uidMappings: required when a new user namespace is created'],
    ['user namespace without gid mappings', (s) => {
      s.linux.namespaces.push({ type: 'user' });
      s.linux.uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }];
    }, 'linux.gidMappings: required when a new user namespace is created'],
    ['mapping hostID not a number', (s) => {
      s.linux.uidMappings = [{ containerID: 0, hostID: '1000', size: 1 }];
    }, 'linux.uidMappings[0].hostID: must be an integer between 0 and 4294967295'],
    ['hostname without uts namespace', (s) => (s.hostname = 'box'),
      'hostname: cannot be set without a uts namespace'],
    ['unknown device type', (s) => (s.linux.devices = [{ path: '/dev/x', type: 'z' }]),
      'linux.devices[0].type: unknown device type "z"'],
    ['char device without major', (s) => (s.linux.devices = [{ path: '/dev/x', type: 'c' }]),
      'linux.devices[0].major: is required'],
    ['relative device path', (s) => (s.linux.devices = [{ path: 'dev/x', type: 'p' }]),
      'linux.devices[0].path: must be an absolute path, got "dev/x"'],
    ['unknown rootfsPropagation', (s) => (s.linux.rootfsPropagation = 'sideways'),
      'linux.rootfsPropagation: unknown propagation "sideways"'],
    ['relative masked path', (s) => (s.linux.maskedPaths = ['/proc/kcore', 'proc/keys']),
      'linux.maskedPaths[1]: must be an absolute path, got "proc/keys"'],
    ['sysctl value not a string', (s) => (s.linux.sysctl = { 'net.ipv4.ip_forward': 1 }),
      'linux.sysctl["net.ipv4.ip_forward"]: must be a string'],
    ['unknown seccomp action', (s) => (s.linux.seccomp = { defaultAction: 'SCMP_ACT_NOPE' }),
      'linux.seccomp.defaultAction: unknown seccomp action "SCMP_ACT_NOPE"'],
    ['seccomp rule without names', (s) => (s.linux.seccomp = {
      defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: [], action: 'SCMP_ACT_ERRNO' }],
    }), 'linux.seccomp.syscalls[0].names: must be a non-empty array of strings'],
    ['seccomp arg index 6', (s) => (s.linux.seccomp = {
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{
        names: ['read'],
        action: 'SCMP_ACT_ERRNO',
        args: [{ index: 6, value: 0, op: 'SCMP_CMP_EQ' }],
      }],
    }), 'linux.seccomp.syscalls[0].args[0].index: must be an integer between 0 and 5'],
    ['unknown personality', (s) => (s.linux.personality = { domain: 'BSD' }),
      'linux.personality.domain: unknown personality domain "BSD"'],
    ['unknown clock', (s) => (s.linux.timeOffsets = { realtime: { secs: 1 } }),
      'linux.timeOffsets["realtime"]: unknown clock'],
    ['pids without limit', (s) => (s.linux.resources = { pids: {} }),
      'linux.resources.pids.limit: is required'],
    ['device rule without allow', (s) => (s.linux.resources = { devices: [{ access: 'rwm' }] }),
      'linux.resources.devices[0].allow: is required'],
    ['device rule bad access', (s) => (s.linux.resources = {
      devices: [{ allow: true, access: 'rwx' }],
    }), 'linux.resources.devices[0].access: must be made of the letters r, w and m, got "rwx"'],
    ['memory limit not integer', (s) => (s.linux.resources = { memory: { limit: '1G' } }),
      'linux.resources.memory.limit: must be an integer'],
    ['swappiness above 100', (s) => (s.linux.resources = { memory: { swappiness: 101 } }),
      'linux.resources.memory.swappiness: must be an integer between 0 and 100'],
    ['hugepage limit negative', (s) => (s.linux.resources = {
      hugepageLimits: [{ pageSize: '2MB', limit: -1 }],
    }), 'linux.resources.hugepageLimits[0].limit: must be a non-negative integer'],
    ['unified value not a string', (s) => (s.linux.resources = { unified: { 'memory.high': 5 } }),
      'linux.resources.unified["memory.high"]: must be a string'],
    ['linux not an object', (s) => (s.linux = []), 'linux: must be an object'],
  ];

  it.each(cases)('rejects %s', (_name, edit, message) => {
    expect(errorOf(edit)).toBe(`config.json: ${message}`);
  });

  it('rejects a value that is not an object', () => {
    expect(() => validateSpec([])).toThrow(/^config\.json: must be a JSON object$/);
    expect(() => validateSpec('x')).toThrow('config.json: must be a JSON object');
  });

  it('accepts runc-style relaxed values', () => {
    const spec = minimal();
    spec.ociVersion = '1.0.2-dev';
    spec.hostname = '';
    spec.linux.rootfsPropagation = '';
    spec.linux.namespaces.push({ type: 'network', path: '' });
    // RLIM_INFINITY (2^64-1) becomes 2^64 after JSON.parse.
    spec.process.rlimits = [JSON.parse(
      '{"type":"RLIMIT_CORE","soft":18446744073709551615,"hard":18446744073709551615}',
    )];
    spec.linux.resources = { devices: [{ allow: false, type: 'c', major: -1, access: 'rwm' }] };
    spec.linux.devices = [{ path: '/dev/fifo', type: 'p' }];
    expect(() => validateSpec(spec)).not.toThrow();
  });

  it('accepts a new user namespace with mappings, and a joined one without', () => {
    const joined = minimal();
    joined.linux.namespaces.push({ type: 'user', path: '/proc/1/ns/user' });
    expect(() => validateSpec(joined)).not.toThrow();

    const created = minimal();
    created.linux.namespaces.push({ type: 'user' });
    created.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    created.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    expect(() => validateSpec(created)).not.toThrow();
  });

  it('puts every message on one line', () => {
    for (const [, edit] of cases) expect(errorOf(edit)).not.toContain('\n');
  });
});
