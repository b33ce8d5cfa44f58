import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { type CgroupHandle, createCgroup } from '../../src/core/cgroups/index.js';
import { Logger } from '../../src/core/log.js';
import type { LinuxResources, Spec } from '../../src/core/spec/types.js';
import { readProcStat } from '../../src/core/state/status.js';
import { type ContainerState, StateStore } from '../../src/core/state/store.js';
import { type Fake, fakeV1, fakeV2 } from './cgroups-fake.js';

/*
 * A container as the commands after `create` see it, without root: a state directory, a
 * fake cgroup hierarchy (regular files), and an ordinary child process as its init.
 */

export interface Container {
  root: string;
  id: string;
  store: StateStore;
  fake: Fake;
  cgroup: CgroupHandle;
  init: ChildProcess;
  /** Marks the container created-but-not-started, as the start socket does. */
  markCreated(): void;
  state(): ContainerState;
  cleanup(): void;
}

export function fakeContainer(
  opts: { v2?: boolean; resources?: LinuxResources; id?: string } = {},
): Container {
  const id = opts.id ?? 'c1';
  const root = mkdtempSync(join(tmpdir(), 'hako-cli-test-'));
  const fake = opts.v2 === true ? fakeV2() : fakeV1({ unified: true });
  const cgroup = createCgroup(id, `/test/${id}`, {}, { layout: fake.layout });
  const init = spawn('sleep', ['30'], { stdio: 'ignore' });
  const pid = init.pid as number;

  const store = new StateStore(root);
  store.reserve(id);
  const config = { ociVersion: '1.2.0', linux: { resources: opts.resources ?? {} } } as Spec;
  store.write(id, {
    ociVersion: '1.2.0',
    id,
    pid,
    pidStartTime: readProcStat(pid)?.startTime ?? '',
    bundle: '/bundle',
    rootfs: '/bundle/rootfs',
    created: '2026-12-03T13:09:56.259478000Z',
    annotations: {},
    owner: 'root',
    config,
    cgroup: cgroup as unknown as ContainerState['cgroup'],
  });

  return {
    root, id, store, fake, cgroup, init,
    markCreated: () => writeFileSync(store.startSocketPath(id), ''),
    state: () => store.read(id),
    cleanup: () => {
      init.kill('SIGKILL');
      fake.cleanup();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Waits until the child has exited and been reaped, so its pid reads as gone. */
export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/** A logger whose lines are kept instead of written to stderr. */
export function memoryLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stderr = { write: (line: string) => lines.push(line) > 0, isTTY: false };
  return { logger: new Logger({ stderr }), lines };
}
