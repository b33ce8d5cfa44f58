import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { Scratch, hostMountsMentioning, processesMentioning } from './helpers.js';
import type { Hook, Hooks, Spec } from '../../src/core/spec/types.js';
import {
  hakoAsync, hakoDetached, leftovers, lines, mountNamespace, stateOf, statusOf, waitFor,
} from './lifecycle-helpers.js';

/*
 * The runtime-spec's hooks on real containers: what each one is given on stdin, where it runs
 * (createContainer and startContainer in the container's mount namespace), in which order,
 * and what a failing or hanging hook does to the container.
 */

const scratch = new Scratch();
afterAll(() => scratch.cleanup());

const HOST_ENV = ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'];

/** A hook run by the host's shell. */
function shellHook(script: string, timeout?: number): Hook {
  return { path: '/bin/sh', args: ['sh', '-c', script], env: HOST_ENV, timeout };
}

/** A hook that records its stdin as <dir>/<name>.json and appends its name to `order`. */
function recordingHook(dir: string, name: string, order: string, extra = ''): Hook {
  return shellHook(`cat > ${dir}/${name}.json; ${extra} echo ${name} >> ${order}`);
}

/** The path of a script made only inside the rootfs, so it must resolve in the container. */
const START_SCRIPT = '/hako-hooks/start-container.sh';

interface HookedBundle {
  bundle: string;
  /** Where host-side hooks leave their files. */
  out: string;
  /** The order file, seen from the host (the container sees it as /tmp/order). */
  order: string;
}

/** A bundle with every kind of hook, each recording what it was given. */
function hookedBundle(args: string[]): HookedBundle {
  const out = join(scratch.dir, `hooks-${scratch.id('out')}`);
  mkdirSync(out);
  const bundle = scratch.bundle((spec: Spec) => {
    spec.root!.readonly = false;
    spec.process!.args = args;
  });
  const order = join(bundle, 'rootfs/tmp/order');

  const script = join(bundle, 'rootfs', START_SCRIPT);
  mkdirSync(join(script, '..'), { recursive: true });
  writeFileSync(
    script,
    '#!/bin/sh\ncat > /tmp/startContainer.json\n' +
      'readlink /proc/self/ns/mnt > /tmp/startContainer.ns\necho startContainer >> /tmp/order\n',
  );
  chmodSync(script, 0o755);

  const createContainerExtra =
    `readlink /proc/self/ns/mnt > ${out}/createContainer.ns; ` +
    `cat /proc/self/mountinfo > ${out}/createContainer.mountinfo;`;
  const hooks: Hooks = {
    prestart: [recordingHook(out, 'prestart', order)],
    createRuntime: [recordingHook(out, 'createRuntime', order)],
    createContainer: [recordingHook(out, 'createContainer', order, createContainerExtra)],
    startContainer: [{ path: START_SCRIPT, args: ['start-container.sh'], env: ['PATH=/bin'] }],
    poststart: [recordingHook(out, 'poststart', order)],
    poststop: [recordingHook(out, 'poststop', order)],
  };
  editConfig(bundle, (spec) => {
    spec.hooks = hooks;
  });
  return { bundle, out, order };
}

function editConfig(bundle: string, edit: (spec: Spec) => void): void {
  const file = join(bundle, 'config.json');
  const spec = JSON.parse(readFileSync(file, 'utf8')) as Spec;
  edit(spec);
  writeFileSync(file, JSON.stringify(spec, null, 2));
}

function readJson(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
}

const readLines = (file: string): string[] => lines(readFileSync(file, 'utf8'));

const CREATE_AND_START_HOOKS = ['prestart', 'createRuntime', 'createContainer', 'startContainer'];

describe('hooks of a container that works', () => {
  it('runs every hook once, in order, given the state, in the right namespace', async () => {
    const id = scratch.id('hooks');
    const workload = 'echo workload >> /tmp/order; sleep 1000';
    const { bundle, out, order } = hookedBundle(['sh', '-c', workload]);
    expect(existsSync(START_SCRIPT)).toBe(false);

    const created = hakoDetached(scratch, ['create', '--bundle', bundle, id]);
    expect(created).toEqual({ status: 0, stdout: '', stderr: '' });
    const pid = Number(stateOf(scratch, id).pid);
    expect(readLines(order)).toEqual(['prestart', 'createRuntime', 'createContainer']);
    const expected = { ociVersion: '1.2.0', id, pid, bundle, annotations: {} };
    // prestart reads "created", as runc passes it; the newer create hooks read "creating".
    expect(readJson(join(out, 'prestart.json'))).toEqual({ ...expected, status: 'created' });
    for (const name of ['createRuntime', 'createContainer']) {
      expect(readJson(join(out, `${name}.json`))).toEqual({ ...expected, status: 'creating' });
    }

    // createContainer ran in the container's mount namespace: it saw the container's mounts,
    // which the host does not have.
    const containerNs = mountNamespace(pid);
    expect(containerNs).not.toBe(mountNamespace('self'));
    expect(readFileSync(join(out, 'createContainer.ns'), 'utf8').trim()).toBe(containerNs);
    const mounts = readFileSync(join(out, 'createContainer.mountinfo'), 'utf8');
    expect(mounts).toContain(` ${bundle}/rootfs/proc `);
    expect(hostMountsMentioning(bundle)).toEqual([]);

    expect(scratch.hako(['start', id])).toEqual({ status: 0, stdout: '', stderr: '' });
    // poststart has run by the time start returns.
    expect(readJson(join(out, 'poststart.json'))).toEqual({ ...expected, status: 'running' });
    const rootfsTmp = join(bundle, 'rootfs/tmp');
    expect(readJson(join(rootfsTmp, 'startContainer.json')))
      .toEqual({ ...expected, status: 'created' });
    expect(readFileSync(join(rootfsTmp, 'startContainer.ns'), 'utf8').trim()).toBe(containerNs);
    await waitFor(() => readLines(order).includes('workload'), 'the workload to run');
    const started = readLines(order);
    expect(started.slice(0, 4)).toEqual(CREATE_AND_START_HOOKS);
    expect(started.slice(4).sort()).toEqual(['poststart', 'workload']);
    expect(existsSync(join(out, 'poststop.json'))).toBe(false);

    expect(scratch.hako(['delete', '--force', id])).toEqual({ status: 0, stdout: '', stderr: '' });
    const poststop = readJson(join(out, 'poststop.json'));
    expect(poststop).toMatchObject({ ociVersion: '1.2.0', id, bundle, status: 'stopped' });
    expect(typeof poststop.pid).toBe('number');
    expect(readLines(order)).toHaveLength(7);
    expect(readLines(order)[6]).toBe('poststop');
    expect(leftovers(scratch, id, bundle, [pid])).toEqual([]);
  });

  it('runs the hooks of `run` too, poststop after the workload exits', () => {
    const id = scratch.id('hooks');
    const workload = 'echo workload >> /tmp/order; exit 3';
    const { bundle, out, order } = hookedBundle(['sh', '-c', workload]);
    const result = scratch.hako(['run', '--bundle', bundle, id]);
    expect(result).toEqual({ status: 3, stdout: '', stderr: '' });
    const ran = readLines(order);
    expect(ran.slice(0, 4)).toEqual(CREATE_AND_START_HOOKS);
    expect(ran.slice(4, 6).sort()).toEqual(['poststart', 'workload']);
    expect(ran.slice(6)).toEqual(['poststop']);
    expect(readJson(join(out, 'poststop.json'))).toMatchObject({ id, status: 'stopped' });
    expect(leftovers(scratch, id, bundle)).toEqual([]);
  });
});

/** A bundle whose only hooks are `hooks`, workload `sleep 1000`. */
function bundleWithHooks(hooks: Hooks, args = ['sleep', '1000']): string {
  return scratch.bundle((spec) => {
    spec.root!.readonly = false;
    spec.process!.args = args;
    spec.hooks = hooks;
  });
}

describe('a hook that hangs past its timeout', () => {
  const kinds = ['prestart', 'createRuntime', 'createContainer'] as const;
  kinds.forEach((kind, i) => {
    it(`${kind}: create fails naming the hook and "timed out", nothing left`, () => {
      const id = scratch.id('timeout');
      // A duration no other process uses, to find the hook's sleep afterwards. The shell
      // execs it, so the hook itself is what must be killed.
      const sleeper = `sleep 31.${process.pid}${i}`;
      const bundle = bundleWithHooks({ [kind]: [shellHook(`exec ${sleeper}`, 1)] });
      const began = Date.now();
      const result = hakoDetached(scratch, ['create', '--bundle', bundle, id]);

      expect(Date.now() - began).toBeLessThan(10_000);
      expect(result.status).toBe(1);
      expect(lines(result.stderr)).toHaveLength(1);
      expect(result.stderr).toContain(`${kind} hook /bin/sh`);
      expect(result.stderr).toContain(`${kind} hook /bin/sh: timed out after 1 s`);
      expect(leftovers(scratch, id, bundle)).toEqual([]);
      expect(processesMentioning(sleeper)).toEqual([]);
    });
  });
});

describe('a startContainer hook that fails or hangs', () => {
  const cases = [
    ['fails', 'echo broken startContainer >&2; exit 8', undefined,
      'startContainer hook /bin/sh: exited with status 8: broken startContainer'],
    ['hangs', `exec sleep 32.${process.pid}`, 1,
      'startContainer hook /bin/sh: timed out after 1 s'],
  ] as const;
  for (const [what, script, timeout, message] of cases) {
    it(`${what}: start fails naming it, the workload never runs, delete cleans up`, async () => {
      const id = scratch.id('starthook');
      // /bin/sh here is the container's busybox: startContainer paths resolve inside it.
      const hook: Hook = {
        path: '/bin/sh', args: ['sh', '-c', script], env: ['PATH=/bin'], timeout,
      };
      const bundle = bundleWithHooks({ startContainer: [hook] }, ['sh', '-c', 'touch /tmp/ran']);
      expect(hakoDetached(scratch, ['create', '--bundle', bundle, id]).status).toBe(0);

      const started = scratch.hako(['start', id]);
      expect(started.status).toBe(1);
      expect(lines(started.stderr)).toHaveLength(1);
      expect(started.stderr).toContain(message);
      await waitFor(() => statusOf(scratch, id) === 'stopped', 'the container to stop');
      expect(existsSync(join(bundle, 'rootfs/tmp/ran'))).toBe(false);

      expect(scratch.hako(['delete', id])).toEqual({ status: 0, stdout: '', stderr: '' });
      expect(leftovers(scratch, id, bundle)).toEqual([]);
    });
  }
});

describe('a hook that fails', () => {
  const kinds = ['prestart', 'createRuntime', 'createContainer'] as const;
  kinds.forEach((kind, i) => {
    it(`${kind}: create fails with the hook's exit status, nothing left`, () => {
      const id = scratch.id('hookfail');
      const status = 3 + i;
      const bundle = bundleWithHooks({
        [kind]: [shellHook(`echo broken ${kind} >&2; exit ${status}`)],
      });
      const result = hakoDetached(scratch, ['create', '--bundle', bundle, id]);

      expect(result.status).toBe(1);
      expect(lines(result.stderr)).toHaveLength(1);
      expect(result.stderr).toContain(
        `${kind} hook /bin/sh: exited with status ${status}: broken ${kind}`,
      );
      expect(leftovers(scratch, id, bundle)).toEqual([]);
    });
  });

  it('poststart and poststop: a warning, and the container goes on', async () => {
    const id = scratch.id('hookwarn');
    const bundle = bundleWithHooks(
      {
        poststart: [shellHook('echo broken poststart >&2; exit 6')],
        poststop: [shellHook('echo broken poststop >&2; exit 7')],
      },
      ['sh', '-c', 'touch /tmp/ran; sleep 1000'],
    );
    expect(hakoDetached(scratch, ['create', '--bundle', bundle, id]).status).toBe(0);

    const started = scratch.hako(['start', id]);
    expect(started.status).toBe(0);
    expect(lines(started.stderr)).toEqual([
      expect.stringMatching(
        /level=warning msg="poststart hook \/bin\/sh: exited with status 6: broken poststart"$/,
      ),
    ]);
    await waitFor(() => existsSync(join(bundle, 'rootfs/tmp/ran')), 'the workload to run');
    expect(statusOf(scratch, id)).toBe('running');

    const deleted = scratch.hako(['delete', '--force', id]);
    expect(deleted.status).toBe(0);
    expect(lines(deleted.stderr)).toEqual([
      expect.stringMatching(
        /level=warning msg="poststop hook \/bin\/sh: exited with status 7: broken poststop"$/,
      ),
    ]);
    expect(leftovers(scratch, id, bundle)).toEqual([]);
  });

  it('poststart under `run`: a warning, and the workload status is still returned', async () => {
    const id = scratch.id('hookwarn');
    const bundle = bundleWithHooks(
      { poststart: [shellHook('exit 9')] },
      ['sh', '-c', 'echo still ran; exit 5'],
    );
    const result = await hakoAsync(scratch, ['run', '--bundle', bundle, id]).done;
    expect(result.status).toBe(5);
    expect(result.stdout).toBe('still ran\n');
    expect(result.stderr)
      .toMatch(/level=warning msg="poststart hook \/bin\/sh: exited with status 9"/);
    expect(leftovers(scratch, id, bundle)).toEqual([]);
  });
});
