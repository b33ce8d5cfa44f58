/**
 * Mount propagation of config.json: the propagation options of a mount (rslave, rshared,
 * private) and linux.rootfsPropagation, seen in the optional fields of the container's
 * /proc/self/mountinfo, and rslave at work. The host's own mounts are all private, so a
 * shared tmpfs of this file's own stands in for a shared host mount.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Mount, Spec } from '../../src/core/spec/types.js';
import { HostMounts, mountAt, parseMountinfo, runDetached, runOk } from './config-helpers.js';
import { Scratch, hostMountsMentioning } from './helpers.js';

const scratch = new Scratch();
const hostMounts = new HostMounts();

afterAll(() => {
  hostMounts.unmountAll();
  scratch.cleanup();
});

const mountinfo = (edit: (spec: Spec) => void) =>
  parseMountinfo(runOk(scratch, 'cat /proc/self/mountinfo', edit));

describe('mount propagation', () => {
  let shared = '';
  let hostGroup = '';
  beforeAll(() => {
    // A shared mount on the host (the machine's own mounts are all private), so that a
    // container's slave or private copy can be told apart in mountinfo.
    shared = join(scratch.dir, 'shared');
    hostMounts.mount(['-t', 'tmpfs', 'hako-it-shared'], shared);
    execFileSync('mount', ['--make-shared', shared]);
    mkdirSync(join(shared, 'dir', 'sub'), { recursive: true });
    mkdirSync(join(shared, 'dir', 'inner'), { recursive: true });
    const own = mountAt(parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')), shared);
    hostGroup = own.tags.find((t) => t.startsWith('shared:'))?.slice('shared:'.length) ?? '';
    expect(hostGroup).not.toBe('');
    const template = scratch.bundle();
    cpSync(join(template, 'rootfs'), join(shared, 'rootfs'), {
      recursive: true, verbatimSymlinks: true,
    });
  });

  const bindShared = (propagation: string): Mount =>
    ({ destination: '/p', type: 'bind', source: join(shared, 'dir'),
      options: ['rbind', propagation] });

  it('rslave: a slave of the host\'s peer group', () => {
    const tags = mountAt(mountinfo((spec) => spec.mounts!.push(bindShared('rslave'))), '/p').tags;
    expect(tags).toEqual([`master:${hostGroup}`]);
  });

  it('rshared: a peer group of its own (still receiving from the host)', () => {
    const tags = mountAt(mountinfo((spec) => spec.mounts!.push(bindShared('rshared'))), '/p').tags;
    expect(tags.some((t) => t.startsWith('shared:'))).toBe(true);
    expect(tags).not.toContain(`shared:${hostGroup}`);
  });

  it('private: no propagation at all', () => {
    const tags = mountAt(mountinfo((spec) => spec.mounts!.push(bindShared('private'))), '/p').tags;
    expect(tags).toEqual([]);
  });

  it('rslave at work: host mounts come in, the container\'s stay inside', async () => {
    const dir = join(shared, 'dir');
    const c = runDetached(scratch, ['sh', '-c',
      'i=0; while [ ! -e /p/sub/ready ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; ' +
      '[ -e /p/sub/ready ] && r=seen || r=unseen; mount -t tmpfs hako-it-inner /p/inner; ' +
      'echo $r > /p/result; sleep 1000'], (spec) => {
      spec.mounts!.push(bindShared('rslave'));
      spec.process!.capabilities!.bounding!.push('CAP_SYS_ADMIN');
      spec.process!.capabilities!.effective!.push('CAP_SYS_ADMIN');
      spec.process!.capabilities!.permitted!.push('CAP_SYS_ADMIN');
    });
    try {
      hostMounts.mount(['-t', 'tmpfs', 'hako-it-late'], join(dir, 'sub'));
      writeFileSync(join(dir, 'sub', 'ready'), '');
      for (let i = 0; i < 100 && !existsSync(join(dir, 'result')); i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(readFileSync(join(dir, 'result'), 'utf8')).toBe('seen\n');
      const inside = parseMountinfo(readFileSync(`/proc/${c.pid}/mountinfo`, 'utf8'));
      expect(mountAt(inside, '/p/inner').source).toBe('hako-it-inner');
      expect(hostMountsMentioning('hako-it-inner')).toEqual([]);
      expect(readdirSync(join(dir, 'inner'))).toEqual([]);
    } finally {
      scratch.hako(['delete', '--force', c.id]);
    }
  });

  describe('linux.rootfsPropagation', () => {
    const rootTags = (value?: string) => mountAt(mountinfo((spec) => {
      spec.root!.path = join(shared, 'rootfs');
      if (value) spec.linux!.rootfsPropagation = value;
    }), '/').tags;

    it('is rslave by default: / is a slave of the host mount the rootfs is on', () => {
      expect(rootTags()).toEqual([`master:${hostGroup}`]);
    });

    it('private', () => {
      expect(rootTags('private')).toEqual([]);
    });

    it('shared: / in a peer group of its own, not the host\'s', () => {
      const tags = rootTags('shared');
      expect(tags.some((t) => t.startsWith('shared:'))).toBe(true);
      expect(tags).not.toContain(`shared:${hostGroup}`);
    });

    it('unbindable', () => {
      expect(rootTags('unbindable')).toEqual(['unbindable']);
    });

    it('no container mount reached the host through the shared mount', () => {
      const ours = hostMountsMentioning(shared).filter((l) => !l.includes('hako-it-late'));
      expect(ours).toHaveLength(1);
    });
  });
});
