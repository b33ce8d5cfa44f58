import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { containerPids, filterPsTable, runPs } from '../../src/core/lifecycle/ps.js';
import { type Container, fakeContainer } from './cli-fixture.js';

const PS_EF = [
  'UID          PID    PPID  C STIME TTY          TIME CMD',
  'root           1       0  0 12:00 ?        00:00:01 /sbin/init',
  'root         417       1  0 12:01 ?        00:00:00 sleep 100',
  'root        4170     417  0 12:01 ?        00:00:00 sh -c echo a  b',
  '',
].join('\n');

describe('filterPsTable', () => {
  it('keeps the header and the rows of the given pids, lines unchanged', () => {
    expect(filterPsTable(PS_EF, [417, 4170])).toEqual([
      'UID          PID    PPID  C STIME TTY          TIME CMD',
      'root         417       1  0 12:01 ?        00:00:00 sleep 100',
      'root        4170     417  0 12:01 ?        00:00:00 sh -c echo a  b',
    ]);
  });

  it('finds the PID column wherever the options put it', () => {
    const out = '  PID STAT COMMAND\n    7 S    sleep\n    8 R    ps\n';
    expect(filterPsTable(out, [8])).toEqual(['  PID STAT COMMAND', '    8 R    ps']);
  });

  it('refuses output without a PID column or with an unreadable pid', () => {
    expect(() => filterPsTable('COMMAND\nsleep\n', [1])).toThrow('ps: no PID column');
    expect(() => filterPsTable('PID CMD\nx y\n', [1])).toThrow(/cannot read a pid/);
  });

  it('runs the host ps and names a failure', () => {
    const rows = filterPsTable(runPs(['-o', 'pid,comm', '-p', String(process.pid)]),
      [process.pid]);
    expect(rows).toHaveLength(2);
    expect(() => runPs(['--no-such-option'])).toThrow(/^ps --no-such-option: exit 1/);
  });
});

describe('containerPids (fake cgroup)', () => {
  let c: Container | undefined;
  afterEach(() => {
    c?.cleanup();
    c = undefined;
  });

  it('lists the pids of the cgroup and its sub-cgroups, ascending', () => {
    c = fakeContainer();
    c.fake.write('pids/test/c1/cgroup.procs', '30\n4\n');
    mkdirSync(join(c.fake.root, 'pids/test/c1/sub'));
    c.fake.write('pids/test/c1/sub/cgroup.procs', '12\n');
    expect(containerPids(c.root, c.id)).toEqual([4, 12, 30]);
  });
});
