import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { mkdirAll } from '../../src/core/mkdir-all.js';

const dir = mkdtempSync(join(tmpdir(), 'hako-mkdir-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('mkdirAll', () => {
  it('makes every missing parent with the mode, and accepts what exists', () => {
    const deep = join(dir, 'a', 'b', 'c');
    mkdirAll(deep, 0o700);
    expect(statSync(deep).isDirectory()).toBe(true);
    expect(statSync(join(dir, 'a')).mode & 0o777).toBe(0o700);
    expect(() => mkdirAll(deep, 0o700)).not.toThrow();
  });

  it('fails, rather than spinning, where mkdir answers ENOENT under an existing parent', () => {
    // Node's recursive mkdir never returns here.
    expect(() => mkdirAll('/proc/hako-no-such-dir/x', 0o700)).toThrow(/ENOENT/);
  });

  it('lets a file in the way fail the first use', () => {
    const file = join(dir, 'file');
    writeFileSync(file, '');
    expect(() => mkdirAll(join(file, 'sub'), 0o700)).toThrow(/ENOTDIR/);
  });
});
