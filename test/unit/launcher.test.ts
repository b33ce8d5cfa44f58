/** bin/hako, the launcher, in a tree whose build is missing or failed half-way. */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

describe('bin/hako', () => {
  let tree = '';
  afterEach(() => rmSync(tree, { recursive: true, force: true }));

  it('without dist/hako.cjs says to build, not a Node stack trace', () => {
    tree = mkdtempSync(join(tmpdir(), 'hako-launcher-'));
    mkdirSync(join(tree, 'bin'));
    mkdirSync(join(tree, 'dist'));
    copyFileSync(join(import.meta.dirname, '../../bin/hako'), join(tree, 'bin/hako'));
    const result = spawnSync('/bin/sh', [join(tree, 'bin/hako'), 'list'], { encoding: 'utf8' });
    expect(result.status).toBe(127);
    expect(result.stderr).toContain('hako.cjs is missing): run npm run build');
    expect(result.stderr).not.toContain('MODULE_NOT_FOUND');
  });
});
