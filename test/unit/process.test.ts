import { describe, expect, it } from 'vitest';

import { HakoError } from '../../src/core/errors.js';
import { prepareProcess, resolveExecutable } from '../../src/core/process/index.js';
import { defaultSpec } from '../../src/core/spec/template.js';
import type { Process, Spec } from '../../src/core/spec/types.js';
import { RecordingSys, statDir, statFile } from '../../src/core/sys/recording.js';

const EPERM = 1;
const ENOENT = 2;
const EACCES = 13;

const SECCOMP = { program: new Uint8Array(16), flags: 0 };

/** A process spec without terminal or capabilities, overridden per test. */
function spec(process: Partial<Process> = {}, extra: Partial<Spec> = {}): Spec {
  return {
    ociVersion: '1.2.0',
    process: { user: { uid: 0, gid: 0 }, args: ['/bin/true'], cwd: '/', ...process },
    ...extra,
  };
}

function recorder(): RecordingSys {
  const sys = new RecordingSys();
  sys.stats.set('/bin/true', statFile()).set('/bin/sh', statFile());
  return sys;
}

/** The bounding-set drops of every capability up to 40 but those kept. */
function drops(keep: number[]): string[] {
  const lines: string[] = [];
  for (let cap = 0; cap <= 40; cap++) {
    if (!keep.includes(cap)) lines.push(`prctl PR_CAPBSET_DROP ${cap}`);
  }
  return lines;
}

describe('prepareProcess', () => {
  it("applies runc's default spec in runc's order", async () => {
    const sys = recorder();
    const warnings: string[] = [];
    const plan = await prepareProcess(sys, defaultSpec({ rootless: false }), {
      consoleSocketFd: 7, lastCap: 40, logger: { debug: (m) => warnings.push(m) },
    });

    expect(sys.calls).toEqual([
      'setrlimit RLIMIT_NOFILE 1024 1024',
      'console 7 0x0',
      'chdir /',
      // CAP_KILL (5), CAP_NET_BIND_SERVICE (10) and CAP_AUDIT_WRITE (29) stay.
      ...drops([5, 10, 29]),
      'prctl PR_SET_KEEPCAPS 1',
      'setgroups none',
      'setresgid 0',
      'setresuid 0',
      'prctl PR_SET_KEEPCAPS 0',
      'capset effective=0x20000420 permitted=0x20000420 inheritable=0x0',
      // The ambient ones are not inheritable: the kernel would refuse them (runc warns).
      'umask 0022',
      'prctl PR_SET_NO_NEW_PRIVS 1',
      // "sh" searched in the PATH of process.env, in order.
      'stat /usr/local/sbin/sh',
      'stat /usr/local/bin/sh',
      'stat /usr/sbin/sh',
      'stat /usr/bin/sh',
      'stat /sbin/sh',
      'stat /bin/sh',
      'access /bin/sh 1',
    ]);
    expect(warnings).toEqual(['CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_AUDIT_WRITE'].map((cap) =>
      `can't raise ambient capability ${cap}: it is not permitted and inheritable`));
    expect(plan).toEqual({
      path: '/bin/sh',
      argv: ['sh'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm',
        'HOME=/'],
    });
  });

  it('changes to a non-root user with its groups, keeping capabilities across', async () => {
    const sys = recorder();
    await prepareProcess(sys, spec({
      user: { uid: 1000, gid: 100, additionalGids: [10, 20], umask: 0o077 },
      capabilities: { bounding: ['CAP_CHOWN'], permitted: ['CAP_CHOWN'] },
      env: ['HOME=/home/u'],
      oomScoreAdj: 500,
    }), { lastCap: 3, home: '/ignored' });
    expect(sys.calls).toEqual([
      'writeFile /proc/self/oom_score_adj "500"',
      'chdir /',
      'prctl PR_CAPBSET_DROP 1',
      'prctl PR_CAPBSET_DROP 2',
      'prctl PR_CAPBSET_DROP 3',
      'prctl PR_SET_KEEPCAPS 1',
      'setgroups 10,20',
      'setresgid 100',
      'setresuid 1000',
      'prctl PR_SET_KEEPCAPS 0',
      'capset effective=0x0 permitted=0x1 inheritable=0x0',
      'umask 0077',
      'stat /bin/true',
      'access /bin/true 1',
    ]);
  });

  it('raises the ambient capabilities that are permitted and inheritable', async () => {
    const sys = recorder();
    const both = ['CAP_CHOWN', 'CAP_KILL'];
    await prepareProcess(sys, spec({
      capabilities: { bounding: both, permitted: both, inheritable: both, ambient: both },
    }), { lastCap: 5 });
    expect(sys.calls.slice(-6, -2)).toEqual([
      'capset effective=0x0 permitted=0x21 inheritable=0x21',
      'prctl PR_CAP_AMBIENT 2 0',
      'prctl PR_CAP_AMBIENT 2 5',
      'umask 0022',
    ]);
  });

  it('installs seccomp before the capabilities drop without no_new_privs', async () => {
    const sys = recorder();
    const plan = await prepareProcess(sys, spec({ noNewPrivileges: false }), {
      lastCap: 0, seccomp: SECCOMP,
    });
    expect(sys.calls.slice(0, 3)).toEqual([
      'seccomp 16 bytes flags=0x0', 'chdir /', 'prctl PR_CAPBSET_DROP 0',
    ]);
    expect(plan.seccomp).toBeUndefined();
  });

  it('leaves seccomp to the exec request with no_new_privs', async () => {
    const sys = recorder();
    const plan = await prepareProcess(sys, spec({ noNewPrivileges: true }), {
      lastCap: 0, seccomp: SECCOMP,
    });
    expect(sys.calls.some((line) => line.startsWith('seccomp'))).toBe(false);
    expect(sys.calls).toContain('prctl PR_SET_NO_NEW_PRIVS 1');
    expect(plan.seccomp).toBe(SECCOMP);
  });

  it('names the rlimit a failed setrlimit asked for', async () => {
    const sys = recorder().failOn('setrlimit RLIMIT_NOFILE', EPERM);
    const prepare = prepareProcess(sys, spec({
      rlimits: [{ type: 'RLIMIT_NOFILE', soft: 1048576, hard: 1048576 }],
    }), { lastCap: 40 });
    await expect(prepare).rejects.toThrow(HakoError);
    await expect(prepare).rejects.toThrow(
      /^setrlimit RLIMIT_NOFILE \(soft 1048576, hard 1048576\): operation not permitted \(EPERM\)$/,
    );
    expect(sys.calls).toEqual(['setrlimit RLIMIT_NOFILE 1048576 1048576']);
  });

  it('words a failed chdir as runc does', async () => {
    const sys = recorder().failOn('chdir /x', ENOENT);
    await expect(prepareProcess(sys, spec({ cwd: '/x' }), { lastCap: 40 })).rejects.toThrow(
      /^chdir to cwd \("\/x"\) set in config.json failed: no such file or directory \(ENOENT\)$/,
    );
  });

  it('needs a console socket for a terminal', async () => {
    await expect(prepareProcess(recorder(), spec({ terminal: true }), { lastCap: 40 }))
      .rejects.toThrow('process.terminal: needs a console socket');
  });

  it('refuses ids the new user namespace does not map before trying them', async () => {
    const sys = recorder();
    const userns = spec({ user: { uid: 5000, gid: 0 } }, {
      linux: {
        namespaces: [{ type: 'user' }],
        uidMappings: [{ containerID: 0, hostID: 100000, size: 1000 }],
        gidMappings: [{ containerID: 0, hostID: 100000, size: 1000 }],
      },
    });
    await expect(prepareProcess(sys, userns, { lastCap: 0 }))
      .rejects.toThrow('config.json: process.user.uid: 5000 is not mapped in the user namespace');
    expect(sys.calls.some((line) => line.startsWith('setresuid'))).toBe(false);
  });

  it('skips setgroups where it is denied, unless groups were asked for', async () => {
    const sys = recorder();
    await prepareProcess(sys, spec(), { lastCap: 0, setgroupsDenied: true });
    expect(sys.calls.some((line) => line.startsWith('setgroups'))).toBe(false);
    await expect(prepareProcess(recorder(), spec({
      user: { uid: 0, gid: 0, additionalGids: [1] },
    }), { lastCap: 0, setgroupsDenied: true })).rejects.toThrow('setgroups is denied');
  });

  it('leaves out capabilities the running kernel does not know', async () => {
    const sys = recorder();
    await prepareProcess(sys, spec({
      capabilities: {
        bounding: ['CAP_CHOWN', 'CAP_BPF'], effective: ['CAP_BPF'], permitted: ['CAP_BPF'],
        inheritable: ['CAP_BPF'], ambient: ['CAP_BPF'],
      },
    }), { lastCap: 1 });
    expect(sys.calls).toContain('prctl PR_CAPBSET_DROP 1');
    expect(sys.calls).toContain('capset effective=0x0 permitted=0x0 inheritable=0x0');
    expect(sys.calls.some((line) => line.startsWith('prctl PR_CAP_AMBIENT'))).toBe(false);
  });
});

describe('resolveExecutable', () => {
  const env = ['PATH=/usr/bin:/bin'];

  it('takes the first executable regular file in the PATH', async () => {
    const sys = new RecordingSys();
    sys.stats.set('/usr/bin/ls', statDir()).set('/bin/ls', statFile());
    sys.accessAnswers.set('/bin/ls', 0);
    expect(await resolveExecutable(sys, 'ls', env, '/')).toBe('/bin/ls');
    expect(sys.calls).toEqual(['stat /usr/bin/ls', 'stat /bin/ls', 'access /bin/ls 1']);
  });

  it('passes over a file the user may not execute', async () => {
    const sys = new RecordingSys();
    sys.stats.set('/usr/bin/ls', statFile(0o644)).set('/bin/ls', statFile());
    sys.accessAnswers.set('/usr/bin/ls', EACCES);
    expect(await resolveExecutable(sys, 'ls', env, '/')).toBe('/bin/ls');
  });

  it('says "executable file not found in $PATH" for a missing command', async () => {
    await expect(resolveExecutable(new RecordingSys(), 'foo', env, '/'))
      .rejects.toThrow(/^exec: "foo": executable file not found in \$PATH$/);
  });

  it('searches the default PATH when the environment has none', async () => {
    const sys = new RecordingSys();
    sys.stats.set('/usr/local/sbin/foo', statFile());
    expect(await resolveExecutable(sys, 'foo', ['A=b'], '/')).toBe('/usr/local/sbin/foo');
  });

  it('stats a path with a slash as it is', async () => {
    await expect(resolveExecutable(new RecordingSys(), '/nope', env, '/'))
      .rejects.toThrow(/^exec: "\/nope": stat \/nope: no such file or directory$/);

    const sys = new RecordingSys();
    sys.stats.set('/app/run.sh', statFile());
    expect(await resolveExecutable(sys, './run.sh', env, '/app')).toBe('/app/run.sh');
    expect(sys.calls).toEqual(['stat /app/run.sh', 'access /app/run.sh 1']);
  });

  it('says "permission denied" for a directory or a file without execute permission', async () => {
    const sys = new RecordingSys();
    sys.stats.set('/etc', statDir()).set('/etc/passwd', statFile(0o644));
    sys.accessAnswers.set('/etc/passwd', EACCES);
    await expect(resolveExecutable(sys, '/etc', env, '/'))
      .rejects.toThrow(/^exec: "\/etc": permission denied$/);
    await expect(resolveExecutable(sys, '/etc/passwd', env, '/'))
      .rejects.toThrow(/^exec: "\/etc\/passwd": permission denied$/);
  });
});
