/**
 * /dev inside the container: the default nodes and links every container gets, linux.devices,
 * and the device cgroup rules of linux.resources.devices, used from inside.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import type { LinuxDevice, Mount } from '../../src/core/spec/types.js';
import { fields, runOk, runScript } from './config-helpers.js';
import { Scratch } from './helpers.js';

const scratch = new Scratch();
// Lets the user-namespace case reach its rootfs (the scratch dir is a 0700 mkdtemp).
chmodSync(scratch.dir, 0o711);
afterAll(() => scratch.cleanup());

const DEFAULTS: Record<string, string> = {
  '/dev/null': '1:3', '/dev/zero': '1:5', '/dev/full': '1:7', '/dev/random': '1:8',
  '/dev/urandom': '1:9', '/dev/tty': '5:0',
};
const LINKS: Record<string, string> = {
  '/dev/fd': '/proc/self/fd', '/dev/stdin': '/proc/self/fd/0',
  '/dev/stdout': '/proc/self/fd/1', '/dev/stderr': '/proc/self/fd/2', '/dev/ptmx': 'pts/ptmx',
};

/** `path type major:minor mode uid:gid` for each path (stat prints major/minor in hex). */
const STAT = (paths: string[]) =>
  `for p in ${paths.join(' ')}; do ` +
  'set -- $(stat -c "%n %F %t %T %a %u %g" "$p" | sed "s/ special file//; s/character/c/; ' +
  's/block/b/"); echo "$1 $2 $((0x$3)):$((0x$4)) $5 $6:$7"; done';

function statLines(out: string): Record<string, string[]> {
  const result: Record<string, string[]> = {};
  for (const line of out.trim().split('\n')) {
    const [path, ...rest] = line.split(' ');
    result[path] = rest;
  }
  return result;
}

describe('default devices', () => {
  it('null, zero, full, random, urandom and tty with their major:minor, mode 0666', () => {
    const seen = statLines(runOk(scratch, STAT(Object.keys(DEFAULTS))));
    for (const [path, numbers] of Object.entries(DEFAULTS)) {
      expect(seen[path], path).toEqual(['c', numbers, '666', '0:0']);
    }
  });

  it('the devices work: null swallows, zero reads zeros, full is full, urandom gives bytes', () => {
    const r = runScript(scratch,
      'echo gone > /dev/null && echo null=ok; echo zero=$(head -c 4 /dev/zero | od -An -tx1); ' +
      'echo urandom=$(head -c 16 /dev/urandom | wc -c); echo x > /dev/full || echo full=ENOSPC');
    const out = fields(r.stdout);
    expect(out.null).toBe('ok');
    expect(out.zero.trim()).toBe('00 00 00 00');
    expect(out.urandom.trim()).toBe('16');
    expect(out.full).toBe('ENOSPC');
    expect(r.stderr).toContain('No space left on device');
  });

  it('the /dev symlinks fd, stdin, stdout, stderr and ptmx', () => {
    const out = runOk(scratch,
      `for l in ${Object.keys(LINKS).join(' ')}; do echo "$l=$(readlink $l)"; done`);
    expect(fields(out)).toEqual(LINKS);
  });

  it('/dev/ptmx opens the container\'s own devpts', () => {
    // busybox has no pty tool: opening ptmx creates /dev/pts/0 in the container's instance.
    const out = fields(runOk(scratch,
      'exec 3<>/dev/ptmx; echo pts=$(ls /dev/pts | tr "\\n" " ")'));
    expect(out.pts.trim().split(' ').sort()).toEqual(['0', 'ptmx']);
  });

  it('in a user namespace the nodes are the host\'s, bound (mknod is refused there)', () => {
    const map = [{ containerID: 0, hostID: 100000, size: 65536 }];
    const seen = statLines(runOk(scratch, STAT(Object.keys(DEFAULTS)), (spec) => {
      spec.linux!.namespaces!.push({ type: 'user' });
      spec.linux!.uidMappings = map;
      spec.linux!.gidMappings = map;
    }));
    for (const [path, numbers] of Object.entries(DEFAULTS)) {
      // Host root is not mapped: the nodes belong to the overflow uid and gid there.
      expect(seen[path], path).toEqual(['c', numbers, '666', '65534:65534']);
    }
  });
});

describe('linux.devices', () => {
  const mynull: LinuxDevice = {
    path: '/dev/mynull', type: 'c', major: 1, minor: 3, fileMode: 0o640, uid: 1000, gid: 5,
  };

  it('adds a node with its type, numbers, mode and owner', () => {
    const seen = statLines(runOk(scratch, STAT(['/dev/mynull', '/dev/sub/myzero']), (spec) => {
      spec.linux!.devices = [mynull,
        { path: '/dev/sub/myzero', type: 'c', major: 1, minor: 5, fileMode: 0o600 }];
    }));
    expect(seen['/dev/mynull']).toEqual(['c', '1:3', '640', '1000:5']);
    expect(seen['/dev/sub/myzero']).toEqual(['c', '1:5', '600', '0:0']);
  });

  it('its owner can use it (the device cgroup allows it)', () => {
    const out = runOk(scratch, 'echo data > /dev/mynull && echo wrote', (spec) => {
      spec.linux!.devices = [mynull];
      spec.process!.user = { uid: 1000, gid: 1000 };
    });
    expect(out).toBe('wrote\n');
  });

  it('a block device and a fifo', () => {
    const out = runOk(scratch, STAT(['/dev/myloop']) + '; stat -c "%F %a" /dev/myfifo', (spec) => {
      spec.linux!.devices = [
        { path: '/dev/myloop', type: 'b', major: 7, minor: 0, fileMode: 0o660 },
        { path: '/dev/myfifo', type: 'p', fileMode: 0o644 },
      ];
    });
    const lines = out.trim().split('\n');
    expect(lines[0]).toBe('/dev/myloop b 7:0 660 0:0');
    expect(lines[1]).toBe('fifo 644');
  });

  it('replaces a default device of the same path', () => {
    const seen = statLines(runOk(scratch, STAT(['/dev/null']), (spec) => {
      spec.linux!.devices = [{ path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o600 }];
    }));
    expect(seen['/dev/null']).toEqual(['c', '1:3', '600', '0:0']);
  });
});

describe('linux.resources.devices (device cgroup)', () => {
  // A node the host made (loop0, 7:0), bound in: the container can see it, and only the
  // device cgroup decides whether it may be opened. An unattached loop device opens fine
  // and reads empty.
  const node = join(scratch.dir, 'nodes', 'loop0');
  mkdirSync(join(scratch.dir, 'nodes'));
  execFileSync('mknod', [node, 'b', '7', '0']);
  const bindNode: Mount = { destination: '/dev/loop0', type: 'bind', source: node,
    options: ['bind'] };

  it('denies a device the rules do not allow', () => {
    const r = runScript(scratch, 'cat /dev/loop0 && echo opened', (spec) => {
      spec.mounts!.push(bindNode);
    });
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('Operation not permitted');
  });

  it('allows it with a rule for b 7:0 r', () => {
    const out = runOk(scratch, 'cat /dev/loop0 && echo opened', (spec) => {
      spec.mounts!.push(bindNode);
      spec.linux!.resources!.devices!.push({ allow: true, type: 'b', major: 7, minor: 0,
        access: 'r' });
    });
    expect(out).toBe('opened\n');
  });

  it('a rule for reading only does not allow writing', () => {
    const r = runScript(scratch, 'echo x > /dev/loop0 && echo wrote', (spec) => {
      spec.mounts!.push(bindNode);
      spec.linux!.resources!.devices!.push({ allow: true, type: 'b', major: 7, minor: 0,
        access: 'r' });
    });
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('Operation not permitted');
  });
});
