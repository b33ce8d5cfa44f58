import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { HakoError } from '../../src/core/errors.js';
import {
  type ExecFlags, buildExecProcess, dedupEnv, execProcessFor, parseProcessJson, parseUser,
  processFromFlags,
} from '../../src/core/process/from-flags.js';
import { homeFromPasswd } from '../../src/core/process/home.js';
import { defaultSpec } from '../../src/core/spec/template.js';
import type { Process, Spec } from '../../src/core/spec/types.js';

function flags(changes: Partial<ExecFlags> = {}): ExecFlags {
  return {
    args: ['ps'], env: [], tty: false, additionalGids: [], caps: [], noNewPrivs: false,
    ...changes,
  };
}

/** runc's default spec (hako's template), as the container's config. */
function config(edit: (spec: Spec) => void = () => undefined): Spec {
  const spec = defaultSpec({ rootless: false });
  edit(spec);
  return spec;
}

describe('processFromFlags', () => {
  it('takes the command and keeps the rest of the config process', () => {
    const base = config().process!;
    const proc = processFromFlags(base, flags({ args: ['sh', '-c', 'exit 5'] }));
    expect(proc.args).toEqual(['sh', '-c', 'exit 5']);
    expect(proc.cwd).toBe(base.cwd);
    expect(proc.env).toEqual(base.env);
    expect(proc.user).toEqual(base.user);
    expect(proc.capabilities).toEqual(base.capabilities);
    expect(proc.rlimits).toEqual(base.rlimits);
  });

  it('does not change the config it starts from', () => {
    const base = config().process!;
    const before = structuredClone(base);
    const changes = { user: '7:8', additionalGids: ['9'], env: ['A=1'], caps: ['CAP_CHOWN'] };
    processFromFlags(base, flags(changes));
    expect(base).toEqual(before);
  });

  it('refuses an empty command', () => {
    expect(() => processFromFlags(config().process!, flags({ args: [] })))
      .toThrow('exec args cannot be empty');
  });

  it('applies --cwd, --env, --tty, --no-new-privs, --apparmor and --process-label', () => {
    const base = { ...config().process!, terminal: true, noNewPrivileges: false };
    const proc = processFromFlags(base, flags({
      cwd: '/tmp', env: ['FOO=1', 'PATH=/x'], noNewPrivs: true, apparmor: 'p', processLabel: 'l',
    }));
    expect(proc.cwd).toBe('/tmp');
    expect(proc.env).toEqual([...base.env!, 'FOO=1', 'PATH=/x']);
    // The init's terminal setting is not the exec's: only --tty gives one.
    expect(proc.terminal).toBe(false);
    expect(processFromFlags(base, flags({ tty: true })).terminal).toBe(true);
    expect(proc.noNewPrivileges).toBe(true);
    expect(proc.apparmorProfile).toBe('p');
    expect(proc.selinuxLabel).toBe('l');
  });

  it('leaves noNewPrivileges to the config without --no-new-privs', () => {
    const base = { ...config().process!, noNewPrivileges: true };
    expect(processFromFlags(base, flags()).noNewPrivileges).toBe(true);
  });

  it('sets uid, gid and additional gids from --user and --additional-gids', () => {
    const base = { ...config().process!, user: { uid: 0, gid: 0, additionalGids: [4] } };
    expect(processFromFlags(base, flags({ user: '1000' })).user).toEqual(
      { uid: 1000, gid: 0, additionalGids: [4] },
    );
    expect(processFromFlags(base, flags({ user: '1000:1001', additionalGids: ['5', '6'] })).user)
      .toEqual({ uid: 1000, gid: 1001, additionalGids: [4, 5, 6] });
  });

  it('adds --cap to bounding, effective, permitted; to ambient only with inheritable', () => {
    const base = config().process!;
    const caps = processFromFlags(base, flags({ caps: ['CAP_SYS_ADMIN'] })).capabilities!;
    expect(caps.bounding).toEqual([...base.capabilities!.bounding!, 'CAP_SYS_ADMIN']);
    expect(caps.effective).toEqual([...base.capabilities!.effective!, 'CAP_SYS_ADMIN']);
    expect(caps.permitted).toEqual([...base.capabilities!.permitted!, 'CAP_SYS_ADMIN']);
    expect(caps.ambient).toEqual(base.capabilities!.ambient);

    const inheriting = { ...base, capabilities: { inheritable: [], ambient: ['CAP_KILL'] } };
    const added = processFromFlags(inheriting, flags({ caps: ['CAP_CHOWN'] })).capabilities!;
    expect(added.ambient).toEqual(['CAP_KILL', 'CAP_CHOWN']);
    expect(added.bounding).toEqual(['CAP_CHOWN']);
  });

  it('names the --cap flag, not a path in the merged process, for an unknown capability', () => {
    expect(() => processFromFlags(config().process!, flags({ caps: ['CAP_KILL', 'CAP_BOGUS'] })))
      .toThrow(/^--cap: unknown capability "CAP_BOGUS"$/);
  });

  it('words a bad --user or --additional-gids', () => {
    expect(() => processFromFlags(config().process!, flags({ user: 'root' })))
      .toThrow('--user "root": uid: must be a number from 0 to 4294967295');
    expect(() => processFromFlags(config().process!, flags({ additionalGids: ['-1'] })))
      .toThrow('--additional-gids "-1": must be a number');
  });
});

describe('parseUser', () => {
  it('reads uid and optional gid', () => {
    expect(parseUser('0')).toEqual({ uid: 0 });
    expect(parseUser('1000:100')).toEqual({ uid: 1000, gid: 100 });
    expect(() => parseUser('1:')).toThrow(HakoError);
    expect(() => parseUser('4294967296')).toThrow(HakoError);
  });
});

describe('dedupEnv', () => {
  it('keeps the first position and the last value of a name', () => {
    expect(dedupEnv(['PATH=/a', 'TERM=xterm', 'FOO=1', 'PATH=/x', 'FOO=2']))
      .toEqual(['PATH=/x', 'TERM=xterm', 'FOO=2']);
  });
});

describe('execProcessFor', () => {
  it("takes the container's capabilities and rlimits when the process has none", () => {
    const spec = config((s) => { s.process!.oomScoreAdj = 100; });
    const proc: Process = { user: { uid: 0, gid: 0 }, args: ['true'], cwd: '/' };
    const merged = execProcessFor(spec, proc);
    expect(merged.capabilities).toEqual(spec.process!.capabilities);
    expect(merged.rlimits).toEqual(spec.process!.rlimits);
    expect(merged.oomScoreAdj).toBe(100);
  });

  it("keeps the process's own, but never its oomScoreAdj (runc takes the container's)", () => {
    const spec = config();
    const proc: Process = {
      user: { uid: 0, gid: 0 }, args: ['true'], cwd: '/', oomScoreAdj: 500,
      capabilities: { bounding: ['CAP_KILL'] },
      rlimits: [{ type: 'RLIMIT_NPROC', soft: 10, hard: 10 }],
    };
    const merged = execProcessFor(spec, proc);
    expect(merged.capabilities).toEqual({ bounding: ['CAP_KILL'] });
    expect(merged.rlimits).toEqual([{ type: 'RLIMIT_NPROC', soft: 10, hard: 10 }]);
    expect(merged.oomScoreAdj).toBeUndefined();
  });

  it('drops an empty HOME and duplicate names', () => {
    const proc: Process = {
      user: { uid: 0, gid: 0 }, args: ['true'], cwd: '/', env: ['HOME=', 'A=1', 'A=2'],
    };
    expect(execProcessFor(config(), proc).env).toEqual(['A=2']);
  });
});

describe('parseProcessJson', () => {
  it('reads a process.json as podman and containerd write it', () => {
    const text = JSON.stringify({
      terminal: false, user: { uid: 0, gid: 0 }, args: ['/bin/sh'], env: ['A=1'], cwd: '/',
      capabilities: { bounding: ['CAP_KILL'] }, noNewPrivileges: null,
    });
    const proc = parseProcessJson(text, 'p.json');
    expect(proc.args).toEqual(['/bin/sh']);
    expect('noNewPrivileges' in proc).toBe(false);
  });

  it('gives a missing user uid 0 and gid 0', () => {
    expect(parseProcessJson('{"args":["true"],"cwd":"/"}', 'p.json').user)
      .toEqual({ uid: 0, gid: 0 });
  });

  it('names the file and the field of a bad one', () => {
    expect(() => parseProcessJson('{"args":[],"cwd":"/"}', 'p.json'))
      .toThrow('p.json: process.args: must be a non-empty array of strings');
    expect(() => parseProcessJson('{"args":["x"],"cwd":"tmp"}', 'p.json'))
      .toThrow(/p\.json: process\.cwd/);
    expect(() => parseProcessJson('[1]', 'p.json')).toThrow('p.json: must be a JSON object');
    expect(() => parseProcessJson('{', 'p.json')).toThrow(/^p\.json: cannot parse/);
  });
});

describe('buildExecProcess', () => {
  it('uses --process whole, ignoring the config process and the flags', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hako-exec-'));
    try {
      const file = join(dir, 'process.json');
      writeFileSync(file, JSON.stringify({
        args: ['id'], cwd: '/tmp', env: ['X=1'], user: { uid: 5, gid: 6 },
      }));
      const proc = buildExecProcess(config(), { processFile: file });
      expect(proc.args).toEqual(['id']);
      expect(proc.env).toEqual(['X=1']);
      expect(proc.user).toEqual({ uid: 5, gid: 6 });
      expect(proc.capabilities).toEqual(config().process!.capabilities);
      expect(() => buildExecProcess(config(), { processFile: join(dir, 'none.json') }))
        .toThrow(/^open .*none\.json: no such file or directory \(ENOENT\)$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('checks what the flags produce', () => {
    expect(() => buildExecProcess(config(), { flags: flags({ env: ['NOEQUALS'] }) }))
      .toThrow('exec: process.env[2]: must be of the form NAME=VALUE, got "NOEQUALS"');
    expect(() => buildExecProcess(config(), { flags: flags({ caps: ['CAP_NOPE'] }) }))
      .toThrow('--cap: unknown capability "CAP_NOPE"');
    expect(() => buildExecProcess(config(), { flags: flags({ cwd: 'rel' }) }))
      .toThrow(/exec: process\.cwd/);
  });

  it('replaces an env entry by name with --env', () => {
    const proc = buildExecProcess(config(), { flags: flags({ env: ['PATH=/x', 'FOO=1'] }) });
    expect(proc.env).toEqual(['PATH=/x', 'TERM=xterm', 'FOO=1']);
  });
});

describe('homeFromPasswd', () => {
  const passwd = 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n' +
    'nohome:x:7:7:::/bin/sh\n';

  it("finds the uid's home, and falls back to /", () => {
    expect(homeFromPasswd(passwd, 0)).toBe('/root');
    expect(homeFromPasswd(passwd, 1000)).toBe('/home/user');
    expect(homeFromPasswd(passwd, 7)).toBe('/');
    expect(homeFromPasswd(passwd, 42)).toBe('/');
    expect(homeFromPasswd('garbage', 0)).toBe('/');
  });
});
