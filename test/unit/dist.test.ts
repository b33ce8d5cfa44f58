/** Finding dist/ at run time: from node's --snapshot-blob, else from the module's own file. */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { distDir, snapshotBlob } from '../../src/core/dist.js';

describe('snapshotBlob', () => {
  it('reads the blob node was started with, in both spellings', () => {
    expect(snapshotBlob(['--snapshot-blob', '/opt/hako/dist/hako.blob'])).toBe(
      '/opt/hako/dist/hako.blob');
    expect(snapshotBlob(['--no-warnings', '--snapshot-blob=bin/../dist/hako.blob'])).toBe(
      'bin/../dist/hako.blob');
  });

  it('finds none without the flag (the engine, the CLI run as a plain script)', () => {
    expect(snapshotBlob([])).toBeUndefined();
    expect(snapshotBlob(['--no-warnings', '--stack-size=4000'])).toBeUndefined();
  });
});

describe('distDir', () => {
  it('is the tree\'s dist/ when the sources run (no blob, a .ts module)', () => {
    const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
    expect(distDir()).toBe(join(repo, 'dist'));
  });
});
