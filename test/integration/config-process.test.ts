/**
 * The process section of config.json, observed by the container's own shell: args, env, cwd,
 * user, umask, capabilities, rlimits, noNewPrivileges and oomScoreAdj.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import type { LinuxCapabilities } from '../../src/core/spec/types.js';
import { fields, makeBundle, runBundle, runOk, runScript } from './config-helpers.js';
import { Scratch } from './helpers.js';

const scratch = new Scratch();
afterAll(() => scratch.cleanup());

describe('args, env and cwd', () => {
  it('passes args unchanged, spaces, globs and empty strings included', () => {
    const r = scratch.run(['sh', '-c', 'for a; do echo "[$a]"; done', 'zero', 'a b', '*', '',
      '$HOME', 'ünï']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('[a b]\n[*]\n[]\n[$HOME]\n[ünï]\n');
  });

  it('finds args[0] on the PATH of process.env', () => {
    const bundle = makeBundle(scratch, (spec) => {
      spec.process!.args = ['hello-tool', 'arg1'];
      spec.process!.env = ['PATH=/opt/tools'];
    });
    mkdirSync(join(bundle, 'rootfs', 'opt', 'tools'), { recursive: true });
    writeFileSync(join(bundle, 'rootfs', 'opt', 'tools', 'hello-tool'),
      '#!/bin/sh\necho "found $0 $1"\n', { mode: 0o755 });
    const r = runBundle(scratch, bundle);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('found /opt/tools/hello-tool arg1\n');
  });

  it('sets exactly process.env (plus HOME, and what sh itself adds)', () => {
    const out = runOk(scratch, 'env | sort', (spec) => {
      spec.process!.env = ['PATH=/bin', 'A=1', 'WITH_SPACE=x y', 'EQUALS=a=b', 'EMPTY='];
    });
    const env = out.split('\n').filter((l) => l !== '' && !l.startsWith('HOME='));
    expect(env).toEqual([
      'A=1', 'EMPTY=', 'EQUALS=a=b', 'PATH=/bin', 'PWD=/', 'SHLVL=1', 'WITH_SPACE=x y',
    ]);
  });

  it('HOME is / for a user the image\'s /etc/passwd does not know', () => {
    const out = runOk(scratch, 'echo $HOME', (spec) => {
      spec.process!.user = { uid: 4242, gid: 4242 };
    });
    expect(out).toBe('/\n');
  });

  it('HOME from process.env wins', () => {
    const out = runOk(scratch, 'echo $HOME', (spec) => {
      spec.process!.env!.push('HOME=/somewhere');
    });
    expect(out).toBe('/somewhere\n');
  });

  it('starts in process.cwd, created when the image lacks it', () => {
    const out = runOk(scratch, 'pwd; ls -ld . | cut -c1-10', (spec) => {
      spec.process!.cwd = '/srv/app';
    });
    expect(out).toBe('/srv/app\ndrwxr-xr-x\n');
  });
});

describe('user', () => {
  it('uid, gid and additionalGids', () => {
    const out = fields(runOk(scratch,
      'echo id=$(id); echo groups=$(grep Groups /proc/1/status | cut -f2)', (spec) => {
        spec.process!.user = { uid: 1000, gid: 1000, additionalGids: [5, 65534] };
      }));
    expect(out.id).toBe('uid=1000(user) gid=1000(user) groups=5,65534(nogroup)');
    expect(out.groups.trim()).toBe('5 65534');
  });

  it('a uid without a passwd entry works too', () => {
    const out = runOk(scratch, 'id -u; id -g; grep Groups /proc/1/status | cut -f2', (spec) => {
      spec.process!.user = { uid: 4242, gid: 4343 };
    });
    expect(out.split('\n').map((l) => l.trim())).toEqual(['4242', '4343', '', '']);
  });

  it('files are created with the process user', () => {
    const out = runOk(scratch, 'touch /tmp/f; stat -c %u:%g /tmp/f', (spec) => {
      spec.process!.user = { uid: 1000, gid: 1000 };
      spec.root!.readonly = false;
    });
    expect(out).toBe('1000:1000\n');
  });

  it('umask 0027 when set, 0022 when not', () => {
    const set = runOk(scratch, 'umask; touch /tmp/f; stat -c %a /tmp/f', (spec) => {
      spec.process!.user.umask = 0o027;
      spec.root!.readonly = false;
    });
    expect(set).toBe('0027\n640\n');
    const unset = runOk(scratch, 'umask');
    expect(unset).toBe('0022\n');
  });
});

/** Capability numbers from linux/capability.h, written out here to check hako's table. */
const CAP_NUMBERS: Record<string, number> = {
  CAP_CHOWN: 0, CAP_DAC_OVERRIDE: 1, CAP_FOWNER: 3, CAP_KILL: 5, CAP_SETGID: 6, CAP_SETUID: 7,
  CAP_NET_BIND_SERVICE: 10, CAP_NET_RAW: 13, CAP_SYS_CHROOT: 18, CAP_SYS_PTRACE: 19,
  CAP_MKNOD: 27, CAP_AUDIT_WRITE: 29, CAP_SETFCAP: 31, CAP_BPF: 39,
};

function mask(names: string[] = []): bigint {
  let m = 0n;
  for (const name of names) {
    const bit = CAP_NUMBERS[name];
    expect(bit, name).toBeDefined();
    m |= 1n << BigInt(bit);
  }
  return m;
}

interface CapSets { inh: bigint; prm: bigint; eff: bigint; bnd: bigint; amb: bigint }

function observedCaps(uid: number, caps: LinuxCapabilities, noNewPrivileges = false): CapSets {
  const out = runOk(scratch, 'grep ^Cap /proc/1/status', (spec) => {
    spec.process!.user = { uid, gid: uid };
    spec.process!.capabilities = caps;
    spec.process!.noNewPrivileges = noNewPrivileges;
  });
  const value = (name: string) => {
    const line = out.split('\n').find((l) => l.startsWith(`${name}:`));
    expect(line, name).toBeDefined();
    return BigInt(`0x${line!.split(/\s+/)[1]}`);
  };
  return {
    inh: value('CapInh'), prm: value('CapPrm'), eff: value('CapEff'), bnd: value('CapBnd'),
    amb: value('CapAmb'),
  };
}

describe('capabilities', () => {
  // Five different sets. An ambient capability can only be raised while it is permitted and
  // inheritable, so CAP_NET_RAW (ambient, not inheritable) must be dropped by hako.
  const caps: LinuxCapabilities = {
    bounding: ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_SETUID', 'CAP_NET_RAW',
      'CAP_SYS_CHROOT', 'CAP_AUDIT_WRITE'],
    permitted: ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_NET_RAW', 'CAP_MKNOD'],
    effective: ['CAP_KILL', 'CAP_NET_BIND_SERVICE'],
    // The kernel refuses an inheritable capability outside the bounding set (capset EPERM).
    inheritable: ['CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT'],
    ambient: ['CAP_NET_BIND_SERVICE', 'CAP_NET_RAW'],
  };
  const B = mask(caps.bounding);
  const I = mask(caps.inheritable);
  const P = mask(caps.permitted);
  const A = mask(caps.ambient) & P & I;

  it('a non-root user: execve keeps inheritable, bounding and ambient; P and E are A', () => {
    // For a process that is not root, execve of a file without file capabilities gives
    // P' = E' = A (capabilities(7)); the inheritable, bounding and ambient sets carry over.
    const seen = observedCaps(1000, caps);
    expect(A).toBe(mask(['CAP_NET_BIND_SERVICE']));
    expect(seen).toEqual({ inh: I, prm: A, eff: A, bnd: B, amb: A });
  });

  it('root: execve grants P\' = E\' = bounding | inheritable | ambient', () => {
    // For uid 0 the kernel treats every file as having full file capabilities: the
    // permitted set after execve is (B | I | A), all of it effective. The config's permitted
    // set is therefore not what root ends up with, as with every runtime (runc included).
    const seen = observedCaps(0, caps);
    expect(seen).toEqual({ inh: I, prm: B | I | A, eff: B | I | A, bnd: B, amb: A });
  });

  it('root with noNewPrivileges: execve cannot go beyond the permitted set', () => {
    // no_new_privs caps what execve grants at what the process had: (B | I | A) & P.
    const seen = observedCaps(0, caps, true);
    const granted = (B | I | A) & P;
    expect(granted).toBe(mask(['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_NET_RAW']));
    expect(seen).toEqual({ inh: I, prm: granted, eff: granted, bnd: B, amb: A });
  });

  it('empty sets: no capabilities at all', () => {
    const seen = observedCaps(1000, { bounding: [], permitted: [], effective: [],
      inheritable: [], ambient: [] });
    expect(seen).toEqual({ inh: 0n, prm: 0n, eff: 0n, bnd: 0n, amb: 0n });
  });

  it('a capability outside the bounding set cannot be used even by root', () => {
    const r = runScript(scratch, 'chroot / true && echo chroot-ok', (spec) => {
      spec.process!.capabilities = { bounding: ['CAP_KILL'], permitted: ['CAP_KILL'],
        effective: ['CAP_KILL'] };
    });
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('Operation not permitted');
    const ok = runOk(scratch, 'chroot / true && echo chroot-ok', (spec) => {
      spec.process!.capabilities = { bounding: ['CAP_SYS_CHROOT'],
        permitted: ['CAP_SYS_CHROOT'], effective: ['CAP_SYS_CHROOT'] };
    });
    expect(ok).toBe('chroot-ok\n');
  });
});

describe('rlimits', () => {
  it('sets soft and hard limits, at or below the host\'s hard limits', () => {
    const out = fields(runOk(scratch,
      'echo soft=$(ulimit -n); echo hard=$(ulimit -Hn); ' +
      'echo nofile=$(grep "Max open files" /proc/1/limits); ' +
      'echo core=$(grep "Max core file size" /proc/1/limits); ' +
      'echo nproc=$(grep "Max processes" /proc/1/limits)', (spec) => {
        spec.process!.rlimits = [
          { type: 'RLIMIT_NOFILE', soft: 512, hard: 2048 },
          { type: 'RLIMIT_CORE', soft: 0, hard: 4096 },
          { type: 'RLIMIT_NPROC', soft: 300, hard: 400 },
        ];
      }));
    expect(out.soft).toBe('512');
    expect(out.hard).toBe('2048');
    expect(out.nofile.split(/\s+/)).toEqual(['Max', 'open', 'files', '512', '2048', 'files']);
    expect(out.core.split(/\s+/).slice(4, 6)).toEqual(['0', '4096']);
    expect(out.nproc.split(/\s+/).slice(2, 4)).toEqual(['300', '400']);
  });

  it('the soft limit is enforced', () => {
    const r = runScript(scratch,
      'exec 3</dev/null 4</dev/null 5</dev/null 6</dev/null && echo opened', (spec) => {
        spec.process!.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 5, hard: 5 }];
      });
    expect(r.stdout).toBe('');
    expect(r.status).not.toBe(0);
  });

  it('a hard limit above the host\'s fails clearly (no CAP_SYS_RESOURCE on this machine)', () => {
    const r = runScript(scratch, 'true', (spec) => {
      spec.process!.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 1_000_000, hard: 1_000_000 }];
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('RLIMIT_NOFILE');
  });
});

describe('noNewPrivileges', () => {
  it('NoNewPrivs is 1 when set', () => {
    const out = runOk(scratch, 'grep NoNewPrivs /proc/1/status', (spec) => {
      spec.process!.noNewPrivileges = true;
    });
    expect(out.split(/\s+/)[1]).toBe('1');
  });

  it('NoNewPrivs is 0 when false', () => {
    const out = runOk(scratch, 'grep NoNewPrivs /proc/1/status', (spec) => {
      spec.process!.noNewPrivileges = false;
    });
    expect(out.split(/\s+/)[1]).toBe('0');
  });
});

describe('oomScoreAdj', () => {
  // Only values above the caller's: lowering oom_score_adj needs CAP_SYS_RESOURCE, which
  // root on this machine lacks (see the platform notes), so a negative value cannot be
  // tried here.
  it('writes a positive value to /proc/self/oom_score_adj', () => {
    const out = runOk(scratch, 'cat /proc/1/oom_score_adj', (spec) => {
      spec.process!.oomScoreAdj = 512;
    });
    expect(out).toBe('512\n');
  });

  it('leaves the inherited value alone when unset', () => {
    const out = runOk(scratch, 'cat /proc/1/oom_score_adj');
    expect(out.trim()).toBe(String(readOwnOomScoreAdj()));
  });
});

function readOwnOomScoreAdj(): number {
  // The container inherits hako's, which inherits this test process's.
  return Number(readFileSync('/proc/self/oom_score_adj', 'utf8'));
}
