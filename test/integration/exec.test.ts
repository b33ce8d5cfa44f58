// `hako exec` into real containers: the process must land in every namespace, the cgroup and
// the root of the container's init, with the config's credentials, and a failed exec must
// leave the container as it was.
import { type SpawnSyncOptions, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync, closeSync, existsSync, openSync, readFileSync, readdirSync, readlinkSync, writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Spec } from '../../src/core/spec/types.js';
import { HAKO, REPO, type Result, Scratch } from './helpers.js';

const NAMESPACES = ['pid', 'mnt', 'net', 'ipc', 'uts'];

let scratch: Scratch;
/** A running `sleep` container shared by the tests that do not change it. */
let box: { id: string; pid: number; bundle: string };

beforeAll(() => {
  scratch = new Scratch();
  // A user namespace's root (a host uid other than 0) must be able to reach the bundles.
  chmodSync(scratch.dir, 0o711);
  box = startSleeper((spec) => {
    spec.hostname = 'exec-box';
  });
});

afterAll(() => {
  scratch.cleanup();
});

/**
 * `run --detach` of `sleep 1000` with a file in its rootfs only. Its stdio is not a pipe: the
 * container keeps it, and spawnSync would wait for the container to end.
 */
function startSleeper(edit: (spec: Spec) => void = () => undefined) {
  const bundle = scratch.bundle((spec) => {
    spec.process!.args = ['sleep', '1000'];
    edit(spec);
  });
  writeFileSync(join(bundle, 'rootfs', 'only-in-rootfs'), 'marker\n');
  const id = scratch.id('exec');
  const result = detached(['run', '--detach', '--bundle', bundle, id]);
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  return { id, pid: initPid(id), bundle };
}

function initPid(id: string): number {
  return Number(JSON.parse(scratch.hako(['state', id]).stdout).pid);
}

function statusOf(id: string): string {
  return String(JSON.parse(scratch.hako(['state', id]).stdout).status);
}

/** The CLI with stdout and stderr in files: for commands that leave a process behind. */
function detached(args: string[], opts: SpawnSyncOptions = {}): Result {
  const out = join(scratch.dir, `out-${Date.now()}-${Math.random()}`);
  const err = `${out}.err`;
  const fds = [openSync(out, 'w'), openSync(err, 'w')];
  try {
    const result = spawnSync(HAKO, ['--root', scratch.root, ...args], {
      stdio: ['ignore', fds[0], fds[1]], timeout: 30_000, ...opts,
    });
    if (result.error) throw result.error;
    return {
      status: result.status ?? 137,
      stdout: readFileSync(out, 'utf8'),
      stderr: readFileSync(err, 'utf8'),
    };
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}

function exec(args: string[]): Result {
  return scratch.hako(['exec', ...args]);
}

/** What exec prints, after checking that it succeeded. */
function execOut(args: string[]): string {
  const result = exec(args);
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  return result.stdout;
}

/** Pids of the container's pids cgroup. */
function cgroupPids(id: string): number[] {
  const text = readFileSync(`/sys/fs/cgroup/pids/hako/${id}/cgroup.procs`, 'utf8');
  return text.split('\n').filter(Boolean).map(Number);
}

/** Host processes in the mount namespace of `pid` (agents that joined it included). */
function inMountNamespaceOf(pid: number): number[] {
  const target = readlinkSync(`/proc/${pid}/ns/mnt`);
  return readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number).filter((p) => {
    try {
      return readlinkSync(`/proc/${p}/ns/mnt`) === target;
    } catch {
      return false;
    }
  });
}

/** The error a failed CLI call printed: stderr holds one logrus line, msg="...". */
function message(stderr: string): string {
  const quoted = /msg=("(?:[^"\\]|\\.)*")/.exec(stderr)?.[1];
  return quoted === undefined ? stderr.trim() : (JSON.parse(quoted) as string);
}

function isLive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return !/^[ZX]$/.test(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]);
  } catch {
    return false;
  }
}

describe('exec joins the container', () => {
  it("sees the container's hostname and root", () => {
    expect(execOut([box.id, 'hostname'])).toBe('exec-box\n');
    expect(execOut([box.id, 'cat', '/only-in-rootfs'])).toBe('marker\n');
  });

  it("is in every namespace of the init, and pid 1 is the container's sleep", () => {
    const script = NAMESPACES.map((ns) => `readlink /proc/self/ns/${ns}`).join('; ');
    const inside = execOut([box.id, 'sh', '-c', script]).trim().split('\n');
    expect(inside).toEqual(NAMESPACES.map((ns) => readlinkSync(`/proc/${box.pid}/ns/${ns}`)));
    expect(execOut([box.id, 'cat', '/proc/1/cmdline'])).toBe('sleep\u00001000\u0000');
    const ps = execOut([box.id, 'ps', '-o', 'pid,args']);
    expect(ps).toMatch(/^\s*1 sleep 1000$/m);
  });

  it("is in the init's cgroups", () => {
    const init = readFileSync(`/proc/${box.pid}/cgroup`, 'utf8');
    expect(execOut([box.id, 'cat', '/proc/self/cgroup'])).toBe(init);
  });

  it("has the config's user and capabilities, as the init has", () => {
    const fields = /^(Uid|Gid|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):.*$/gm;
    const init = readFileSync(`/proc/${box.pid}/status`, 'utf8').match(fields);
    const own = execOut([box.id, 'cat', '/proc/self/status']).match(fields);
    expect(own).toEqual(init);
    expect(own).toContain('CapEff:\t0000000020000420');
  });

  it("inherits the config's env, which --env overrides by name", () => {
    expect(execOut([box.id, 'env']).split('\n').filter(Boolean).sort()).toEqual([
      'HOME=/root',
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      'TERM=xterm',
    ]);
    const env = execOut(['-e', 'TERM=dumb', '--env', 'FOO=bar', box.id, 'env']);
    expect(env.split('\n').filter(Boolean).sort()).toEqual([
      'FOO=bar',
      'HOME=/root',
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      'TERM=dumb',
    ]);
  });

  it('takes --user, --additional-gids, --cwd and --cap', () => {
    expect(execOut(['--user', '1000:1000', box.id, 'id'])).toBe(
      'uid=1000(user) gid=1000(user)\n',
    );
    expect(execOut(['-u', '1000', '-g', '10', box.id, 'id'])).toBe(
      'uid=1000(user) gid=0(root) groups=10\n',
    );
    expect(execOut(['--cwd', '/tmp', box.id, 'pwd'])).toBe('/tmp\n');
    expect(execOut(['--cap', 'CAP_SYS_ADMIN', box.id, 'grep', 'CapEff', '/proc/self/status']))
      .toBe('CapEff:\t0000000020200420\n');
  });

  it('passes everything after the id to the command, flags included', () => {
    expect(execOut([box.id, 'echo', '-v', '-c', '--tty', '-user', '-env'])).toBe(
      '-v -c --tty -user -env\n',
    );
  });

  it('runs the whole --process file, ignoring the command line', () => {
    const file = join(scratch.dir, 'process.json');
    writeFileSync(file, JSON.stringify({
      args: ['sh', '-c', 'echo "$FOO $(id -u) $(pwd)"'],
      env: ['FOO=from-file', 'PATH=/bin'],
      cwd: '/tmp',
      user: { uid: 1000, gid: 1000 },
    }));
    expect(execOut(['--process', file, '--env', 'FOO=flag', box.id, 'echo', 'no']))
      .toBe('from-file 1000 /tmp\n');
  });

  it('passes --preserve-fds descriptors on', () => {
    const file = join(scratch.dir, 'fd3.txt');
    writeFileSync(file, 'through fd 3\n');
    const fd = openSync(file, 'r');
    try {
      const result = spawnSync(
        HAKO,
        ['--root', scratch.root, 'exec', '--preserve-fds', '1', box.id, 'sh', '-c', 'cat <&3'],
        { stdio: ['ignore', 'pipe', 'pipe', fd], encoding: 'utf8', timeout: 30_000 },
      );
      expect(result.stderr).toBe('');
      expect(result.stdout).toBe('through fd 3\n');
      // Without --preserve-fds the descriptor stays out of the container.
      const closed = spawnSync(
        HAKO,
        ['--root', scratch.root, 'exec', box.id, 'sh', '-c', 'cat <&3'],
        { stdio: ['ignore', 'pipe', 'pipe', fd], encoding: 'utf8', timeout: 30_000 },
      );
      expect(closed.status).not.toBe(0);
    } finally {
      closeSync(fd);
    }
  });
});

describe('exec into a container with a user and a cgroup namespace', () => {
  it('joins the user namespace first and sees the root of its cgroup namespace', () => {
    const mapping = [{ containerID: 0, hostID: 100000, size: 65536 }];
    const userns = startSleeper((spec) => {
      spec.linux!.namespaces!.push({ type: 'user' }, { type: 'cgroup' });
      spec.linux!.uidMappings = mapping;
      spec.linux!.gidMappings = mapping;
    });
    const script = ['user', 'cgroup', ...NAMESPACES].map((ns) => `readlink /proc/self/ns/${ns}`);
    expect(execOut([userns.id, 'sh', '-c', script.join('; ')]).trim().split('\n')).toEqual(
      ['user', 'cgroup', ...NAMESPACES].map((ns) => readlinkSync(`/proc/${userns.pid}/ns/${ns}`)),
    );
    expect(execOut([userns.id, 'cat', '/proc/self/uid_map'])).toMatch(/^\s*0\s+100000\s+65536\n$/);
    expect(execOut([userns.id, 'grep', ':pids:', '/proc/self/cgroup'])).toMatch(/:pids:\/$/m);
    expect(execOut(['-u', '1000:1000', '-g', '10', userns.id, 'id'])).toBe(
      'uid=1000(user) gid=1000(user) groups=10\n',
    );
    expect(scratch.hako(['delete', '--force', userns.id]).status).toBe(0);
  });
});

describe('exec status and failures', () => {
  it("exits with the process's status", () => {
    expect(exec([box.id, 'sh', '-c', 'exit 5']).status).toBe(5);
    expect(exec([box.id, 'sh', '-c', 'kill -9 $$']).status).toBe(137);
  });

  it('fails on a missing program as runc does, and the container goes on', () => {
    const before = cgroupPids(box.id);
    const log = join(scratch.dir, 'missing.log');
    const result = scratch.hako(['--debug', '--log', log, 'exec', box.id, 'nosuch']);
    expect(result.status).toBe(255);
    expect(result.stderr).toBe(
      'exec failed: unable to start container process: ' +
        'exec: "nosuch": executable file not found in $PATH\n',
    );
    expect(statusOf(box.id)).toBe('running');
    expect(isLive(box.pid)).toBe(true);
    expect(cgroupPids(box.id)).toEqual(before);
    expect(inMountNamespaceOf(box.pid)).toEqual([box.pid]);
    // Both of the agent's processes are gone.
    const text = readFileSync(log, 'utf8');
    const agent = Number(/agent is pid (\d+)/.exec(text)?.[1]);
    const forked = Number(/process (\d+) forked/.exec(text)?.[1]);
    expect(agent).toBeGreaterThan(0);
    expect(forked).toBeGreaterThan(0);
    expect([isLive(agent), isLive(forked)]).toEqual([false, false]);
  });

  it('fails on a bad cwd, user or cap, with the container untouched', () => {
    const cwd = exec(['--cwd', '/nonexistent', box.id, 'true']);
    expect(cwd.status).toBe(255);
    expect(message(cwd.stderr))
      .toMatch(/^exec failed: unable to start container process: .*\/nonexistent/);
    const user = exec(['--user', 'root', box.id, 'true']);
    expect(user.status).toBe(255);
    expect(message(user.stderr)).toMatch(/^exec failed: --user "root": uid/);
    const cap = exec(['--cap', 'CAP_BOGUS', box.id, 'true']);
    expect(cap.status).toBe(255);
    expect(message(cap.stderr)).toBe('exec failed: --cap: unknown capability "CAP_BOGUS"');
    expect(message(exec(['nosuchcontainer', 'true']).stderr))
      .toMatch(/^exec failed: .*does not exist/);
    expect(message(exec([box.id]).stderr)).toBe('exec failed: exec args cannot be empty');
    expect(statusOf(box.id)).toBe('running');
  });

  it('refuses a stopped or a paused container, and runs in a created one', () => {
    const bundle = scratch.bundle((spec) => {
      spec.process!.args = ['sleep', '1000'];
      spec.hostname = 'created-box';
    });
    const id = scratch.id('created');
    expect(detached(['create', '--bundle', bundle, id]).status).toBe(0);
    expect(execOut([id, 'hostname'])).toBe('created-box\n');
    expect(statusOf(id)).toBe('created');

    expect(scratch.hako(['pause', id]).status).toBe(0);
    const paused = exec([id, 'true']);
    expect(paused.status).toBe(255);
    expect(message(paused.stderr)).toBe(
      'exec failed: cannot exec in a paused container (use --ignore-paused to override)',
    );
    expect(scratch.hako(['resume', id]).status).toBe(0);

    expect(scratch.hako(['kill', id, 'KILL']).status).toBe(0);
    for (let i = 0; i < 100 && statusOf(id) !== 'stopped'; i++) spawnSync('sleep', ['0.02']);
    const stopped = exec([id, 'true']);
    expect(stopped.status).toBe(255);
    expect(message(stopped.stderr)).toBe('exec failed: cannot exec in a stopped container');
    expect(scratch.hako(['delete', id]).status).toBe(0);
  });
});

describe('exec --detach', () => {
  it('returns once started, with the pid in the pid file', () => {
    const pidFile = join(scratch.dir, 'exec.pid');
    const result = detached(['exec', '--detach', '--pid-file', pidFile, box.id, 'sleep', '300']);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const text = readFileSync(pidFile, 'utf8');
    expect(text).toMatch(/^\d+$/);
    const pid = Number(text);
    try {
      expect(isLive(pid)).toBe(true);
      expect(readlinkSync(`/proc/${pid}/ns/pid`)).toBe(readlinkSync(`/proc/${box.pid}/ns/pid`));
      expect(cgroupPids(box.id)).toContain(pid);
      // Its pid inside the container is not 1: the init stays the init.
      const nspid = /^NSpid:\s+(\d+)\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      expect(Number(nspid?.[1])).toBe(pid);
      expect(Number(nspid?.[2])).toBeGreaterThan(1);
    } finally {
      process.kill(pid, 'SIGKILL');
    }
    expect(existsSync(join(scratch.dir, `.exec.pid.${process.pid}.tmp`))).toBe(false);
  });

  it('hands the pty to --console-socket with --tty', async () => {
    const socket = join(scratch.dir, 'console.sock');
    const receiver = spawn('python3', [join(REPO, 'test/integration/console-receiver.py'), socket]);
    let out = '';
    receiver.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const ended = new Promise((resolve) => receiver.on('close', resolve));
    for (let i = 0; i < 250 && !out.includes('listening'); i++) await sleep(20);

    const result = detached(['exec', '-d', '-t', '--console-socket', socket, box.id,
      'sh', '-c', 'tty; echo on-the-pty']);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    receiver.stdin.write('\n');
    await Promise.race([ended, sleep(10_000)]);
    receiver.kill();
    expect(out).toMatch(/"name": "\/dev\/pts\/\d+", "fds": 1, "cmsgs": 1/);
    expect(out).toMatch(/\/dev\/pts\/\d+\r\non-the-pty\r\n/);
  });

  it('refuses --tty --detach without a console socket, as runc does', () => {
    const result = exec(['-d', '-t', box.id, 'true']);
    expect(result.status).toBe(255);
    expect(message(result.stderr))
      .toMatch(/^exec failed: cannot allocate tty if hako will detach/);
  });
});

describe('foreground exec', () => {
  it('forwards signals to the process', async () => {
    const child = spawn(HAKO, ['--root', scratch.root, 'exec', box.id, 'sleep', '300'], {
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    for (let i = 0; i < 250 && cgroupPids(box.id).length < 2; i++) await sleep(20);
    expect(cgroupPids(box.id).length).toBe(2);
    child.kill('SIGTERM');
    expect(await exited).toBe(143);
    expect(cgroupPids(box.id)).toEqual([box.pid]);
  });

  it('relays a terminal with --tty', () => {
    const command = `${HAKO} --root ${scratch.root} exec -t ${box.id} sh -c 'tty; exit 7'`;
    const result = spawnSync('script', ['-qec', command, '/dev/null'], {
      encoding: 'utf8', timeout: 30_000,
    });
    expect(result.stdout).toMatch(/\/dev\/pts\/\d+\r\n/);
    expect(result.status).toBe(7);
  });
});

describe('exec --cgroup', () => {
  it("joins a sub-cgroup of the container's", () => {
    const dir = `/sys/fs/cgroup/pids/hako/${box.id}/sub`;
    spawnSync('mkdir', [dir]);
    try {
      const lines = execOut(['--cgroup', 'pids:sub', box.id, 'cat', '/proc/self/cgroup']);
      expect(lines).toMatch(new RegExp(`:pids:/hako/${box.id}/sub$`, 'm'));
      expect(lines).toMatch(new RegExp(`:memory:/hako/${box.id}$`, 'm'));
      const missing = exec(['--cgroup', 'pids:nope', box.id, 'true']);
      expect(missing.status).toBe(255);
      expect(message(missing.stderr)).toMatch(/nope\/cgroup\.procs: no such file or directory/);
    } finally {
      spawnSync('rmdir', [dir]);
    }
  });
});
