/** The record create leaves for the launcher: what each line says and the state template. */
import { describe, expect, it } from 'vitest';

import type { CgroupHandle } from '../../src/core/cgroups/index.js';
import { fastRecord, stateTemplate } from '../../src/core/lifecycle/fast-record.js';
import { formatGoJson } from '../../src/core/log.js';
import type { Spec } from '../../src/core/spec/types.js';
import type { ContainerStatus } from '../../src/core/state/status.js';
import { type ContainerState, type JsonValue, toRuncState } from '../../src/core/state/store.js';

const CGROUP: CgroupHandle = {
  kind: 'v1',
  v1: { memory: '/sys/fs/cgroup/memory/pod/c1', freezer: '/sys/fs/cgroup/freezer/pod/c1' },
  v2: '/sys/fs/cgroup/unified/pod/c1',
  created: [
    '/sys/fs/cgroup/memory/pod',
    '/sys/fs/cgroup/memory/pod/c1',
    '/sys/fs/cgroup/freezer/pod/c1',
    '/sys/fs/cgroup/unified/pod/c1',
  ],
  unenforced: [],
} as unknown as CgroupHandle;

function sampleState(over: Partial<ContainerState> = {}, config: Partial<Spec> = {}) {
  const state: ContainerState = {
    ociVersion: '1.2.0',
    id: 'c1',
    pid: 4242,
    pidStartTime: '44860',
    bundle: '/b',
    rootfs: '/b/rootfs',
    created: '2026-12-03T13:09:56.259478000Z',
    annotations: {},
    owner: 'root',
    config: { ociVersion: '1.2.0', ...config } as Spec,
    cgroup: CGROUP as unknown as JsonValue,
    handler: {
      name: 'linux',
      exec: { path: '/bin/sh', argv: ['sh'], env: ['A=1'], closeFrom: 3 },
    },
    ...over,
  };
  return state;
}

/** What the launcher prints: the template's three parts around the pid and the status. */
function fill(template: string, pid: number, status: string): string {
  const [prefix, middle, suffix] = template.split('\0');
  return `${prefix}${pid}${middle}${status}${suffix}`;
}

describe('stateTemplate', () => {
  it('gives what `state` prints for every status, tricky strings included', () => {
    const states = [
      sampleState(),
      sampleState({ annotations: { a: '"pid": 1,\n  "status": "x"', b: '<&>\u2028', c: '\0' } }),
      sampleState({ ociVersion: '"pid": 7\n', pid: 1 }),
    ];
    for (const state of states) {
      const template = stateTemplate(state);
      expect(template?.split('\0')).toHaveLength(3);
      for (const status of ['created', 'running', 'paused', 'stopped'] as ContainerStatus[]) {
        const pid = status === 'stopped' ? 0 : state.pid;
        expect(fill(template!, pid, status)).toBe(formatGoJson(toRuncState(state, status), 2));
      }
    }
  });
});

describe('fastRecord', () => {
  it('lets start and delete go the fast way, and lists the cgroup steps in removal order', () => {
    const made = fastRecord(sampleState());
    expect(made?.record).toBe([
      'version 1',
      'pid 4242',
      'start-time 44860',
      'start',
      'delete',
      'cgroup-check /sys/fs/cgroup/memory/pod/c1',
      'cgroup-check /sys/fs/cgroup/freezer/pod/c1',
      'cgroup-check /sys/fs/cgroup/unified/pod/c1',
      'cgroup-remove /sys/fs/cgroup/memory/pod/c1',
      'cgroup-remove /sys/fs/cgroup/freezer/pod/c1',
      'cgroup-remove /sys/fs/cgroup/unified/pod/c1',
      'cgroup-prune /sys/fs/cgroup/memory/pod',
      'paused-file /sys/fs/cgroup/freezer/pod/c1/freezer.state',
      'paused-line FROZEN',
      '',
    ].join('\n'));
    // The EXEC frame: length, op 60, six arguments, the path first.
    const frame = made!.exec!;
    expect(frame.readUInt32LE(0)).toBe(frame.length - 4);
    expect([frame.readUInt32LE(4), frame.readUInt32LE(8)]).toEqual([60, 6]);
    expect(frame.subarray(20, 27).toString()).toBe('/bin/sh');
  });

  it('leaves start and delete to Node when hooks must run', () => {
    const hook = [{ path: '/bin/true' }];
    const cases: [Partial<Spec>, string[]][] = [
      [{ hooks: { startContainer: hook } }, ['delete']],
      [{ hooks: { poststart: hook } }, ['delete']],
      [{ hooks: { poststop: hook } }, ['start']],
      [{ hooks: { prestart: hook, createRuntime: hook } }, ['start', 'delete']],
    ];
    for (const [config, fast] of cases) {
      const made = fastRecord(sampleState({}, config))!;
      const lines = made.record.split('\n');
      expect(['start', 'delete'].filter((l) => lines.includes(l))).toEqual(fast);
      expect(made.exec !== undefined).toBe(fast.includes('start'));
    }
  });

  it('makes no record it could not write whole', () => {
    expect(fastRecord(sampleState({ pidStartTime: '' }))).toBeNull();
    const cgroup = { ...CGROUP, v2: '/sys/fs/cgroup/unified/a\nb', created: [] };
    expect(fastRecord(sampleState({ cgroup: cgroup as unknown as JsonValue }))).toBeNull();
  });
});
