/**
 * linux.namespaces, linux.uidMappings/gidMappings, hostname and domainname, observed from
 * inside real containers and compared with the host's (this test process's) namespaces.
 */
import { chmodSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import {
  fields, makeBundle, nsOf, runDetached, runOk, squash, withNamespace, withoutNamespace,
} from './config-helpers.js';
import type { Spec } from '../../src/core/spec/types.js';
import { Scratch } from './helpers.js';

const scratch = new Scratch();
const MAP = [{ containerID: 0, hostID: 100000, size: 65536 }];
// The bundles live in a mkdtemp (0700) directory: a container root mapped to another host
// uid must be able to pass through it to reach its rootfs, as with runc.
chmodSync(scratch.dir, 0o711);
function openToUserns(spec: Spec): void {
  withNamespace(spec, 'user');
  spec.linux!.uidMappings = MAP;
  spec.linux!.gidMappings = MAP;
  spec.root!.readonly = false;
}
function bundleForUserns(edit: (spec: Spec) => void): string {
  return makeBundle(scratch, (spec) => {
    openToUserns(spec);
    edit(spec);
  });
}

afterAll(() => scratch.cleanup());

const NS_TYPES = ['ipc', 'net', 'uts', 'mnt', 'cgroup', 'time', 'pid'];
const PRINT_NS = NS_TYPES.map((t) => `echo ${t}=$(readlink /proc/self/ns/${t})`).join('; ');

describe('new namespaces', () => {
  it('gives the container a new namespace of every type it lists', () => {
    const script = `echo pid1=$$; echo host=$(hostname); ${PRINT_NS};
      echo user=$(readlink /proc/self/ns/user);
      echo cgroup_file=$(cat /proc/self/cgroup | tr '\\n' ' ')`;
    const out = fields(runOk(scratch, script, (spec) => {
      spec.hostname = 'ns-all';
      withNamespace(spec, 'cgroup');
      withNamespace(spec, 'time');
    }));

    expect(out.pid1).toBe('1');
    expect(out.host).toBe('ns-all');
    for (const type of NS_TYPES) {
      expect(out[type], `${type} namespace`).toMatch(new RegExp(`^${type}:\\[\\d+\\]$`));
      expect(out[type], `${type} namespace`).not.toBe(nsOf('self', type));
    }
    // No user namespace was asked for: the container shares the host's.
    expect(out.user).toBe(nsOf('self', 'user'));
    // In its own cgroup namespace the container's cgroup is the root of every hierarchy.
    const lines = out.cgroup_file.trim().split(' ');
    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines) expect(line, '/proc/self/cgroup').toMatch(/:\/$/);
  });

  it('leaves out the namespaces the config does not list', () => {
    const out = fields(runOk(scratch, PRINT_NS, (spec) => {
      withoutNamespace(spec, 'network');
      withoutNamespace(spec, 'ipc');
    }));
    expect(out.net).toBe(nsOf('self', 'net'));
    expect(out.ipc).toBe(nsOf('self', 'ipc'));
    expect(out.cgroup).toBe(nsOf('self', 'cgroup'));
    expect(out.time).toBe(nsOf('self', 'time'));
    expect(out.uts).not.toBe(nsOf('self', 'uts'));
  });

  it('without a cgroup namespace the container sees its cgroup path', () => {
    const id = 'cg-path';
    const out = runOk(scratch, 'cat /proc/self/cgroup', (spec) => {
      spec.linux!.cgroupsPath = `/hako-it-${process.pid}/${id}`;
    });
    expect(out).toContain(`:/hako-it-${process.pid}/${id}\n`);
  });
});

describe('time namespace', () => {
  it('applies linux.timeOffsets to the monotonic and boot-time clocks', () => {
    const hostUptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    const out = fields(runOk(scratch,
      'echo uptime=$(cut -d" " -f1 /proc/uptime); echo offsets=$(cat /proc/self/timens_offsets)',
      (spec) => {
        withNamespace(spec, 'time');
        spec.linux!.timeOffsets = {
          monotonic: { secs: 86400, nanosecs: 0 },
          boottime: { secs: 2 * 86400, nanosecs: 0 },
        };
      }));
    expect(squash(out.offsets)).toBe('monotonic 86400 0 boottime 172800 0');
    // /proc/uptime reads the boot-time clock of the reader's time namespace.
    expect(Number(out.uptime)).toBeGreaterThanOrEqual(hostUptime + 2 * 86400);
    expect(Number(out.uptime)).toBeLessThan(hostUptime + 2 * 86400 + 60);
  });

  it('refuses timeOffsets without a new time namespace', () => {
    const r = scratch.run(['true'], (spec) => {
      spec.linux!.timeOffsets = { monotonic: { secs: 10 } };
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('linux.timeOffsets: needs a new time namespace');
  });
});

describe('linux.sysctl', () => {
  it('sets namespaced kernel parameters inside, leaving the host\'s alone', () => {
    const before = {
      forward: readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8'),
      rmid: readFileSync('/proc/sys/kernel/shm_rmid_forced', 'utf8'),
    };
    const out = fields(runOk(scratch,
      'echo forward=$(cat /proc/sys/net/ipv4/ip_forward); ' +
      'echo rmid=$(cat /proc/sys/kernel/shm_rmid_forced); ' +
      'echo msgmax=$(cat /proc/sys/kernel/msgmax)', (spec) => {
        spec.linux!.sysctl = {
          'net.ipv4.ip_forward': '1',
          'kernel.shm_rmid_forced': '1',
          'kernel.msgmax': '4096',
        };
      }));
    expect(out).toEqual({ forward: '1', rmid: '1', msgmax: '4096' });
    expect(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8')).toBe(before.forward);
    expect(readFileSync('/proc/sys/kernel/shm_rmid_forced', 'utf8')).toBe(before.rmid);
  });
});

describe('hostname and domainname', () => {
  it('sets both in the new uts namespace', () => {
    const out = fields(runOk(scratch,
      'echo host=$(hostname); echo domain=$(cat /proc/sys/kernel/domainname)', (spec) => {
        spec.hostname = 'box-1';
        spec.domainname = 'example.test';
      }));
    expect(out.host).toBe('box-1');
    expect(out.domain).toBe('example.test');
  });
});

describe('namespaces joined by path', () => {
  it('joins the net, uts and ipc namespaces of another container', () => {
    const a = runDetached(scratch, ['sleep', '1000'], (spec) => {
      spec.hostname = 'container-a';
    });
    try {
      const out = fields(runOk(scratch,
        'echo host=$(hostname); echo net=$(readlink /proc/self/ns/net); ' +
        'echo uts=$(readlink /proc/self/ns/uts); echo ipc=$(readlink /proc/self/ns/ipc)',
        (spec) => {
          delete spec.hostname;
          withNamespace(spec, 'network', `/proc/${a.pid}/ns/net`);
          withNamespace(spec, 'uts', `/proc/${a.pid}/ns/uts`);
          withNamespace(spec, 'ipc', `/proc/${a.pid}/ns/ipc`);
        }));
      expect(out.host).toBe('container-a');
      expect(out.net).toBe(nsOf(a.pid, 'net'));
      expect(out.uts).toBe(nsOf(a.pid, 'uts'));
      expect(out.ipc).toBe(nsOf(a.pid, 'ipc'));
      expect(out.net).not.toBe(nsOf('self', 'net'));
    } finally {
      scratch.hako(['delete', '--force', a.id]);
    }
  });

  it('joins the pid namespace of another container', () => {
    const a = runDetached(scratch, ['sleep', '1000']);
    try {
      const out = fields(runOk(scratch,
        'echo pid=$(readlink /proc/self/ns/pid); echo me=$$; ' +
        'echo one=$(cat /proc/1/cmdline | tr "\\0" " ")',
        (spec) => withNamespace(spec, 'pid', `/proc/${a.pid}/ns/pid`)));
      expect(out.pid).toBe(nsOf(a.pid, 'pid'));
      // pid 1 of that namespace is A's sleep; this container's shell is another pid.
      expect(out.one.trim()).toBe('sleep 1000');
      expect(out.me).not.toBe('1');
    } finally {
      scratch.hako(['delete', '--force', a.id]);
    }
  });
});

describe('user namespace', () => {
  it('maps uids and gids as linux.uidMappings and gidMappings say', () => {
    const b = bundleForUserns((spec) => {
      spec.process!.args = ['sh', '-c',
        'echo uid_map=$(cat /proc/self/uid_map); echo gid_map=$(cat /proc/self/gid_map); ' +
        'echo user=$(readlink /proc/self/ns/user); echo id=$(id -u):$(id -g)'];
    });
    const r = scratch.hako(['run', '--bundle', b, scratch.id('userns')]);
    expect(r.status, r.stderr).toBe(0);
    const out = fields(r.stdout);
    expect(squash(out.uid_map)).toBe('0 100000 65536');
    expect(squash(out.gid_map)).toBe('0 100000 65536');
    expect(out.user).not.toBe(nsOf('self', 'user'));
    expect(out.id).toBe('0:0');
  });

  it('a file created inside by root is owned by host uid/gid 100000', () => {
    const b = bundleForUserns((spec) => {
      spec.process!.args = ['sh', '-c', 'touch /tmp/owned && mkdir /tmp/dir-owned'];
    });
    const r = scratch.hako(['run', '--bundle', b, scratch.id('owner')]);
    expect(r.status, r.stderr).toBe(0);
    for (const name of ['owned', 'dir-owned']) {
      const st = statSync(join(b, 'rootfs', 'tmp', name));
      expect([st.uid, st.gid], name).toEqual([100000, 100000]);
    }
  });

  it('container uid 1000 is host uid 101000', () => {
    const b = bundleForUserns((spec) => {
      spec.process!.args = ['sh', '-c', 'id -u; touch /tmp/by-1000'];
      spec.process!.user = { uid: 1000, gid: 1000 };
    });
    const r = scratch.hako(['run', '--bundle', b, scratch.id('u1000')]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('1000');
    const st = statSync(join(b, 'rootfs', 'tmp', 'by-1000'));
    expect([st.uid, st.gid]).toEqual([101000, 101000]);
  });
});
