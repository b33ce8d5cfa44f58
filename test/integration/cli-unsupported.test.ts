/**
 * podman probes `<runtime> checkpoint --help` and offers checkpointing when it exits 0; hako
 * has no checkpoint, so the probe must fail.
 */
import { describe, expect, it } from 'vitest';

import { hako } from './helpers.js';

describe('unsupported commands', () => {
  it.each(['checkpoint', 'restore'])('%s --help fails with a clear line', (name) => {
    const result = hako([name, '--help']);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`${name} is not supported by hako`);
  });
});

describe('help after a usage error', () => {
  it.each([[[]], [['help', 'nosuch']]])('hako %j prints the usage to stderr, exit 1', (args) => {
    const result = hako(args);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('Usage: hako [options] [command]');
    expect(result.stderr).not.toContain('(outputHelp)');
  });
});
