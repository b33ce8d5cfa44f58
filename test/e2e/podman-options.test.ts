/**
 * podman run options that become parts of config.json hako must honour: resources, user
 * namespaces, inherited descriptors, a read-only root, capabilities, seccomp, devices and
 * shared host namespaces.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { IMAGE, PODMAN_CGROUP_PARENT, PodmanEnv } from './podman-env.js';
import { HAKO, run, shellQuote } from './tools.js';

const env = new PodmanEnv();

beforeAll(() => env.setup(), 120_000);
afterAll(() => env.cleanup(), 120_000);

describe('podman run options that reach the runtime', () => {
  it('applies memory and pids limits in the container\'s cgroups', () => {
    // cgroup v1 (the test machines) or v2 file names.
    const out = env.run(['--rm', '--memory', '64m', '--pids-limit', '50', IMAGE, 'sh', '-c',
      'cd /sys/fs/cgroup; cat memory/memory.limit_in_bytes pids/pids.max 2>/dev/null || ' +
      'cat memory.max pids.max']);
    expect(out.stderr).toBe('');
    expect(out.stdout).toBe(`${64 * 1024 * 1024}\n50\n`);
  });

  it('runs in a user namespace with --uidmap and --gidmap', () => {
    const out = env.run(['--rm', '--uidmap', '0:100000:65536', '--gidmap', '0:100000:65536',
      IMAGE, 'sh', '-c', 'id -u; cat /proc/self/uid_map /proc/self/gid_map']);
    expect(out.stderr).toBe('');
    expect(out.stdout.split(/\s+/).filter(Boolean))
      .toEqual(['0', '0', '100000', '65536', '0', '100000', '65536']);
  });

  it('passes descriptors with --preserve-fds', () => {
    const file = join(env.dir, 'preserved.txt');
    writeFileSync(file, 'through-fd-3\n');
    // ls lists its own descriptor of the directory too: the lowest free one, 4.
    const podman = ['podman', '--runtime', HAKO, 'run', '--rm', '--cgroup-parent',
      PODMAN_CGROUP_PARENT, '--preserve-fds', '1', IMAGE, 'sh', '-c',
      'cat <&3; ls /proc/self/fd | tr "\\n" " "'];
    const out = run('/bin/sh', ['-c', `exec 3<${shellQuote(file)}; exec ${
      podman.map(shellQuote).join(' ')}`], { env: env.env });
    expect(out.stderr).toBe('');
    expect(out.stdout).toBe('through-fd-3\n0 1 2 3 4 ');
  });

  it('leaks no descriptor of conmon or hako into the container', () => {
    const out = env.run(['--rm', IMAGE, 'ls', '/proc/self/fd']);
    expect(out.stderr).toBe('');
    expect(out.stdout.split('\n').filter(Boolean)).toEqual(['0', '1', '2', '3']);
  });

  it('makes the root filesystem read-only with --read-only', () => {
    // --read-only-tmpfs=false: podman would add tmpfs mounts with the tmpcopyup option.
    const out = env.run(['--rm', '--read-only', '--read-only-tmpfs=false', IMAGE,
      'sh', '-c', 'touch /file']);
    expect(out.stderr).toMatch(/Read-only file system/);
    expect(out.status).toBe(1);
  });

  it('gives --read-only its writable tmpfs mounts, filled from the image (tmpcopyup)', () => {
    const out = env.run(['--rm', '--read-only', IMAGE, 'sh', '-c',
      'touch /tmp/ok && echo tmp-writable; touch /file 2>/dev/null || echo root-read-only']);
    expect(out.stderr).toBe('');
    expect(out.stdout).toBe('tmp-writable\nroot-read-only\n');
    expect(out.status).toBe(0);
  });

  it('mounts --tmpfs over an image directory with its files', () => {
    const out = env.run(['--rm', '--tmpfs', '/etc', IMAGE, 'sh', '-c',
      'grep -c "^root:" /etc/passwd; grep " /etc " /proc/self/mountinfo | cut -d" " -f9']);
    expect(out.stderr).toBe('');
    expect(out.stdout).toBe('1\ntmpfs\n');
    expect(out.status).toBe(0);
  });
});

describe('podman run security and namespace options', () => {
  /** Fields of /proc/self/status in the container, e.g. { CapEff: '0000...' }. */
  function status(options: string[], runtime: string[] = []): Record<string, string> {
    const out = env.run(['--rm', ...options, ...runtime, IMAGE, 'cat', '/proc/self/status']);
    expect(out.stderr).toBe('');
    expect(out.status).toBe(0);
    return Object.fromEntries(out.stdout.split('\n').filter(Boolean)
      .map((line) => line.split(':\t').map((part) => part.trim()) as [string, string]));
  }

  it('gives the capabilities and seccomp filter that runc gives for podman\'s defaults', () => {
    const fields = status([]);
    // podman's `--runtime` given after `run` overrides the global one of env.run.
    const runc = status([], ['--runtime', 'runc']);
    for (const key of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb', 'NoNewPrivs']) {
      expect(`${key} ${fields[key]}`).toBe(`${key} ${runc[key]}`);
    }
    expect(fields.Seccomp).toBe('2');
  });

  it('drops everything with --cap-drop ALL and sets no_new_privs', () => {
    const fields = status(['--cap-drop', 'ALL', '--security-opt', 'no-new-privileges']);
    expect(fields.CapEff).toBe('0000000000000000');
    expect(fields.CapBnd).toBe('0000000000000000');
    expect(fields.NoNewPrivs).toBe('1');
  });

  it('runs without seccomp with seccomp=unconfined', () => {
    expect(status(['--security-opt', 'seccomp=unconfined']).Seccomp).toBe('0');
  });

  it('--privileged gives every capability the host has, and the host\'s devices', () => {
    const fields = status(['--privileged']);
    const host = readHostCapBnd();
    expect(fields.CapEff).toBe(host);
    const devices = env.run(['--rm', '--privileged', IMAGE, 'ls', '/dev']);
    expect(devices.stdout.split('\n')).toContain('kmsg');
  });

  it('adds a device with --device, a hostname, and the host pid namespace', () => {
    const out = env.run(['--rm', '--device', '/dev/null:/dev/mynull', '--hostname', 'named',
      '--pid', 'host', IMAGE, 'sh', '-c', 'echo ok > /dev/mynull && hostname && ls /proc/1']);
    expect(out.stderr).toBe('');
    expect(out.stdout.split('\n')[0]).toBe('named');
    expect(out.status).toBe(0);
    const hostInit = env.run(['--rm', '--pid', 'host', IMAGE, 'cat', `/proc/${process.pid}/comm`]);
    expect(hostInit.stdout.trim()).toMatch(/node|vitest/);
  });
});

/** The host's bounding set: what a privileged container gets (CAP_SYS_RESOURCE may be absent). */
function readHostCapBnd(): string {
  const line = readFileSync('/proc/self/status', 'utf8').split('\n')
    .find((l) => l.startsWith('CapBnd:'));
  return line!.split(':\t')[1]!.trim();
}
