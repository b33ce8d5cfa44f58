/**
 * Reading a container's files beneath its rootfs (libc.ts: openat2 RESOLVE_IN_ROOT), which
 * needs no privilege. LocalSys's calls change the calling process: the wasm integration
 * tests exercise them.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { readFileInRoot } from '../../src/core/sys/libc.js';

const dir = mkdtempSync(join(tmpdir(), 'hako-local-'));
const root = join(dir, 'rootfs');
mkdirSync(join(root, 'etc'), { recursive: true });
writeFileSync(join(root, 'etc', 'hostname'), 'inside\n');
writeFileSync(join(dir, 'outside'), 'outside\n');
symlinkSync('/etc/hostname', join(root, 'absolute'));
symlinkSync('../../../outside', join(root, 'etc', 'dotdot'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readFileInRoot', () => {
  const text = (path: string) => {
    const found = readFileInRoot(root, path);
    return 'bytes' in found ? found.bytes.toString() : found;
  };

  it('resolves absolute links and .. beneath the root', () => {
    expect(text('/absolute')).toBe('inside\n');
    expect(text('/../../etc/hostname')).toBe('inside\n');
    expect(text('/etc/dotdot')).toEqual({ errno: 2, message: 'no such file or directory' });
  });

  it('answers EACCES for what is not a regular file, as execve would', () => {
    expect(text('/etc')).toEqual({ errno: 13, message: 'permission denied' });
  });
});
