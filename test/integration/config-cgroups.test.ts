/**
 * linux.cgroupsPath and linux.resources, seen from inside the container (its cgroup files and
 * /proc/self/cgroup) and from the host while it runs; the cgroup is gone after delete.
 * Everything lives under /hako-it-<pid> in each hierarchy, removed at the end.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { fields, makeBundle, parseMountinfo, runDetached, runOk, runScript, withNamespace } from
  './config-helpers.js';
import { HAKO, Scratch } from './helpers.js';

const scratch = new Scratch();
const PARENT = `hako-it-${process.pid}`;
const MiB = 1024 * 1024;

/** Mount points of the host's cgroup hierarchies (v1 ones and the hybrid cgroup2). */
const HIERARCHIES = parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8'))
  .filter((m) => m.fstype === 'cgroup' || m.fstype === 'cgroup2')
  .map((m) => m.mountPoint);
const V1 = (controller: string) => `/sys/fs/cgroup/${controller}`;

afterAll(() => {
  scratch.cleanup();
  for (const mountPoint of HIERARCHIES) removeTree(join(mountPoint, PARENT));
});

/** rmdir bottom-up: cgroup directories hold only the kernel's files. */
function removeTree(dir: string): void {
  if (!existsSync(dir)) return;
  for (const line of spawnSync('find', [dir, '-mindepth', '1', '-type', 'd'], { encoding: 'utf8' })
    .stdout.split('\n').filter((l) => l !== '').reverse()) {
    rmdirSync(line);
  }
  rmdirSync(dir);
}

const cgroupFile = (controller: string, path: string, file: string) =>
  readFileSync(join(V1(controller), path, file), 'utf8').trim();

describe('linux.resources on cgroup v1, read inside the container', () => {
  const resources = {
    memory: { limit: 64 * MiB },
    cpu: { shares: 512, quota: 50_000, period: 100_000 },
    pids: { limit: 42 },
  };
  const script = 'echo memory=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes); ' +
    'echo shares=$(cat /sys/fs/cgroup/cpu/cpu.shares); ' +
    'echo quota=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us); ' +
    'echo period=$(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us); ' +
    'echo pids=$(cat /sys/fs/cgroup/pids/pids.max); echo self=$(grep memory /proc/self/cgroup)';
  const expected = {
    memory: String(64 * MiB), shares: '512', quota: '50000', period: '100000', pids: '42',
  };

  it('with a cgroup namespace: its own cgroup is the root', () => {
    const out = fields(runOk(scratch, script, (spec) => {
      withNamespace(spec, 'cgroup');
      spec.linux!.resources = { ...spec.linux!.resources, ...resources };
    }));
    expect(out).toEqual({ ...expected, self: expect.stringMatching(/^\d+:memory:\/$/) });
  });

  it('without one: its own directory is bound in', () => {
    const path = `/${PARENT}/no-cgroupns`;
    const out = fields(runOk(scratch, script, (spec) => {
      spec.linux!.cgroupsPath = path;
      spec.linux!.resources = { ...spec.linux!.resources, ...resources };
    }));
    const self = expect.stringMatching(new RegExp(`^\\d+:memory:${path}$`));
    expect(out).toEqual({ ...expected, self });
  });

  it('the limits bite: pids.max stops forks, memory.limit_in_bytes kills', () => {
    const pids = runScript(scratch,
      'for i in 1 2 3 4 5 6 7 8; do sleep 5 & done 2>&1; echo started=$(jobs | wc -l)',
      (spec) => {
        spec.linux!.resources = { ...spec.linux!.resources, pids: { limit: 4 } };
      });
    expect(pids.stdout + pids.stderr).toMatch(/can't fork|Resource temporarily unavailable/);
    // The shell and at most three children fit under pids.max = 4.
    expect(Number(fields(pids.stdout).started ?? '0')).toBeLessThanOrEqual(3);

    const memory = runScript(scratch,
      'x=$(head -c 64m /dev/zero | tr "\\0" a); echo survived ${#x}', (spec) => {
        spec.linux!.resources = { ...spec.linux!.resources,
          memory: { limit: 16 * MiB, swap: 16 * MiB } };
      });
    // 64 MiB cannot be held under a 16 MiB limit without swap: the shell (or tr) is killed.
    expect(memory.stdout).not.toContain(`survived ${64 * MiB}`);
  });
});

describe('linux.cgroupsPath', () => {
  it('absolute: the container is in that cgroup while it runs, which is gone after delete',
    () => {
      const path = `${PARENT}/absolute`;
      const c = runDetached(scratch, ['sleep', '1000'], (spec) => {
        spec.linux!.cgroupsPath = `/${path}`;
        spec.linux!.resources = { ...spec.linux!.resources, memory: { limit: 32 * MiB },
          pids: { limit: 10 } };
      });
      let deleted = false;
      try {
        expect(readFileSync(`/proc/${c.pid}/cgroup`, 'utf8')).toContain(`:memory:/${path}\n`);
        expect(cgroupFile('memory', path, 'cgroup.procs').split('\n')).toContain(String(c.pid));
        expect(cgroupFile('memory', path, 'memory.limit_in_bytes')).toBe(String(32 * MiB));
        expect(cgroupFile('pids', path, 'pids.max')).toBe('10');
        const del = scratch.hako(['delete', '--force', c.id]);
        expect(del.status, del.stderr).toBe(0);
        deleted = true;
        for (const mountPoint of HIERARCHIES) {
          expect(existsSync(join(mountPoint, path)), `${mountPoint}/${path}`).toBe(false);
        }
      } finally {
        if (!deleted) scratch.hako(['delete', '--force', c.id]);
      }
    });

  it('unset: /hako/<id>, removed when run ends', () => {
    const bundle = makeBundle(scratch, (spec) => {
      spec.process!.args = ['cat', '/proc/self/cgroup'];
    });
    const id = scratch.id('default-path');
    const r = scratch.hako(['run', '--bundle', bundle, id]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`:pids:/hako/${id}\n`);
    expect(existsSync(join(V1('pids'), 'hako', id))).toBe(false);
  });

  it('relative: under the cgroup of the process that runs hako', () => {
    // hako is started from a shell that first moves itself into <PARENT>/caller in every
    // hierarchy: a relative cgroupsPath must land under that, not under the root.
    const caller = `${PARENT}/caller`;
    for (const mountPoint of HIERARCHIES) {
      for (const dir of [PARENT, caller]) {
        const full = join(mountPoint, dir);
        mkdirSync(full, { recursive: true });
        if (mountPoint.endsWith('/cpuset')) {
          // A new cpuset cgroup takes no task until it has cpus and mems.
          for (const file of ['cpuset.cpus', 'cpuset.mems']) {
            writeFileSync(join(full, file), readFileSync(join(mountPoint, file), 'utf8'));
          }
        }
      }
    }
    const bundle = makeBundle(scratch, (spec) => {
      spec.process!.args = ['cat', '/proc/self/cgroup'];
      spec.linux!.cgroupsPath = 'relative/leaf';
      spec.linux!.resources = { ...spec.linux!.resources, pids: { limit: 9 } };
    });
    const procs = HIERARCHIES.map((m) => join(m, caller, 'cgroup.procs'));
    const r = spawnSync('sh', ['-c',
      'for f in $PROCS; do echo $$ > "$f"; done; exec "$@"', 'sh',
      HAKO, '--root', scratch.root, 'run', '--bundle', bundle, scratch.id('relative')],
    { env: { ...process.env, PROCS: procs.join(' ') }, encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.length).toBe(HIERARCHIES.length);
    for (const line of lines) expect(line).toMatch(new RegExp(`:/${caller}/relative/leaf$`));
    for (const mountPoint of HIERARCHIES) {
      expect(existsSync(join(mountPoint, caller, 'relative', 'leaf'))).toBe(false);
    }
  });
});

describe('cgroup v2 (in a private mount namespace with cgroup2 on /sys/fs/cgroup)', () => {
  // This machine's cgroup2 hierarchy has no controllers (they are all bound to v1): memory,
  // cpu and pids limits cannot be exercised on v2 here. What can be checked is that hako
  // sees a v2 layout, puts the container in its cgroup, and removes it again.
  const path = `${PARENT}/v2`;

  function inV2(script: string): string {
    const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c',
      `set -e; mount -t cgroup2 none /sys/fs/cgroup; ${script}`],
    { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    return r.stdout;
  }

  const h = `${HAKO} --root ${scratch.root}`;

  it('the cgroup exists while the container runs and is removed after delete', () => {
    const bundle = makeBundle(scratch, (spec) => {
      spec.process!.args = ['sleep', '1000'];
      spec.linux!.cgroupsPath = `/${path}`;
    });
    const id = scratch.id('v2');
    const out = fields(inV2(
      `${h} run -d --bundle ${bundle} ${id} </dev/null >/dev/null 2>&1; ` +
      `echo during=$(test -d /sys/fs/cgroup/${path} && echo present || echo absent); ` +
      `echo procs=$(cat /sys/fs/cgroup/${path}/cgroup.procs); ` +
      `echo pid=$(${h} state ${id} | grep '"pid"' | tr -dc 0-9); ` +
      `${h} delete --force ${id}; ` +
      `echo after=$(test -d /sys/fs/cgroup/${path} && echo present || echo absent)`));
    expect(out.during).toBe('present');
    expect(out.procs).toBe(out.pid);
    expect(out.after).toBe('absent');
  });

  it('pause freezes through cgroup.freeze; state says so, with the launcher and without', () => {
    const bundle = makeBundle(scratch, (spec) => {
      spec.process!.args = ['sleep', '1000'];
      spec.linux!.cgroupsPath = `/${path}-pause`;
    });
    const id = scratch.id('v2-pause');
    const status = (env = '') => `$(${env} ${h} state ${id} | grep '"status"' | tr -dc a-z)`;
    const out = fields(inV2(
      `${h} run -d --bundle ${bundle} ${id} </dev/null >/dev/null 2>&1; ${h} pause ${id}; ` +
      `echo paused=${status()}; echo node=${status('HAKO_NO_FAST_PATH=1')}; ` +
      `echo frozen=$(grep frozen /sys/fs/cgroup/${path}-pause/cgroup.events | tr -dc 0-9); ` +
      `${h} resume ${id}; echo resumed=${status()}; ${h} delete --force ${id}; ` +
      `echo after=$(test -d /sys/fs/cgroup/${path}-pause && echo present || echo absent)`));
    expect(out).toEqual({
      paused: 'statuspaused', node: 'statuspaused', frozen: '1', resumed: 'statusrunning',
      after: 'absent',
    });
  });

  // The kernel still has the v1 hierarchies: /proc/self/cgroup lists them too, at their root,
  // since hako (seeing v2) did not place the container in any of them.
  const v2Line = (text: string) => text.split('\n').find((l) => l.startsWith('0::'));

  it('inside: the cgroup2 line of /proc/self/cgroup, a cgroup2 mount', () => {
    const bundle = makeBundle(scratch, (spec) => {
      spec.process!.args = ['sh', '-c',
        'cat /proc/self/cgroup; grep " /sys/fs/cgroup " /proc/self/mountinfo'];
      spec.linux!.cgroupsPath = `/${path}`;
    });
    const out = inV2(`${h} run --bundle ${bundle} ${scratch.id('v2-inside')} </dev/null; ` +
      `test -d /sys/fs/cgroup/${path} && echo left-behind || true`);
    expect(v2Line(out)).toBe(`0::/${path}`);
    expect(parseMountinfo(out)[0].fstype).toBe('cgroup2');
    expect(out).not.toContain('left-behind');
  });

  it('with a cgroup namespace the container\'s cgroup is /', () => {
    const bundle = makeBundle(scratch, (spec) => {
      spec.process!.args = ['cat', '/proc/self/cgroup'];
      spec.linux!.cgroupsPath = `/${path}`;
      withNamespace(spec, 'cgroup');
    });
    const out = inV2(`${h} run --bundle ${bundle} ${scratch.id('v2-ns')} </dev/null`);
    expect(v2Line(out)).toBe('0::/');
  });

  it('a v2 memory limit is refused clearly: no memory controller here', () => {
    const bundle = makeBundle(scratch, (spec) => {
      spec.process!.args = ['true'];
      spec.linux!.cgroupsPath = `/${path}`;
      spec.linux!.resources = { ...spec.linux!.resources, memory: { limit: 64 * MiB } };
    });
    const out = inV2(`${h} run --bundle ${bundle} ${scratch.id('v2-mem')} </dev/null 2>&1 ` +
      '&& echo status=0 || echo status=$?');
    expect(out).toMatch(/v2 controller \\?"memory\\?" is not available/);
    expect(out).not.toContain('status=0');
  });
});
