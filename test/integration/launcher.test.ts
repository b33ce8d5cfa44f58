import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { REPO, type Result, Scratch } from './helpers.js';
import { hakoDetached, isLive, leftovers, stateOf, waitFor } from './lifecycle-helpers.js';

/*
 * The launcher (native/launcher) carries out start, state, kill and delete from the record
 * create leaves, and hands everything else to Node. To tell which of the two did a command,
 * the launcher is run here with a node that does not exist: what it does itself succeeds,
 * what it hands over fails with status 127. What it prints must be what Node prints
 * (HAKO_NO_FAST_PATH=1 makes bin/hako always use Node).
 */

const scratch = new Scratch();
afterAll(() => scratch.cleanup());

const LAUNCHER = join(REPO, 'dist', 'hako-launcher');
const NO_NODE = '/nonexistent/node';
const SLEEPER = ['sleep', '1000'];

/** The launcher alone: status 127 and "cannot run" when it handed the command to Node. */
function launcherOnly(args: string[]): Result {
  const result = spawnSync(LAUNCHER, ['1', NO_NODE, '--root', scratch.root, ...args], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (result.error) throw result.error;
  return { status: result.status ?? 128, stdout: result.stdout, stderr: result.stderr };
}

const HANDED_TO_NODE = {
  status: 127,
  stdout: '',
  stderr: `hako: cannot run ${NO_NODE}: No such file or directory\n`,
};

/** `hako state` through Node only. */
function nodeState(id: string): Result {
  return scratch.hako(['state', id], { env: { ...process.env, HAKO_NO_FAST_PATH: '1' } });
}

function created(args: string[], edit: Parameters<Scratch['bundle']>[0] = () => undefined) {
  const id = scratch.id('fast');
  const bundle = scratch.bundle((spec) => {
    spec.process!.args = args;
    edit(spec);
  });
  const result = hakoDetached(scratch, ['create', '--bundle', bundle, id]);
  expect(result).toEqual({ status: 0, stdout: '', stderr: '' });
  return { id, bundle, pid: Number(stateOf(scratch, id).pid) };
}

/** The launcher's state, checked against Node's, byte for byte; returns the parsed status. */
function sameState(id: string): string {
  const fast = launcherOnly(['state', id]);
  expect(fast.status).toBe(0);
  expect(fast.stdout).toBe(nodeState(id).stdout);
  return String((JSON.parse(fast.stdout) as { status: string }).status);
}

describe('the launcher', () => {
  it('carries out state, start, kill and delete without a Node start', async () => {
    const { id, bundle, pid } = created(SLEEPER);
    expect(sameState(id)).toBe('created');

    expect(launcherOnly(['start', id])).toEqual({ status: 0, stdout: '', stderr: '' });
    await waitFor(() => sameState(id) === 'running', 'running');
    expect(launcherOnly(['kill', id, 'KILL'])).toEqual({ status: 0, stdout: '', stderr: '' });
    await waitFor(() => !isLive(pid), 'the init to die');
    expect(sameState(id)).toBe('stopped');
    expect(JSON.parse(launcherOnly(['state', id]).stdout)).toMatchObject({ pid: 0 });

    expect(launcherOnly(['delete', id])).toEqual({ status: 0, stdout: '', stderr: '' });
    expect(leftovers(scratch, id, bundle, [pid])).toEqual([]);
  });

  it('deletes a running container with --force, as Node does', () => {
    const { id, bundle, pid } = created(SLEEPER);
    expect(launcherOnly(['start', id]).status).toBe(0);
    expect(launcherOnly(['delete', '--force', id])).toEqual({ status: 0, stdout: '', stderr: '' });
    expect(isLive(pid)).toBe(false);
    expect(leftovers(scratch, id, bundle, [pid])).toEqual([]);
  });

  it('deletes a created container, killing its waiting init, as Node does', () => {
    const { id, bundle, pid } = created(SLEEPER);
    expect(launcherOnly(['delete', id])).toEqual({ status: 0, stdout: '', stderr: '' });
    expect(isLive(pid)).toBe(false);
    expect(leftovers(scratch, id, bundle, [pid])).toEqual([]);
  });

  it('reports paused from the freezer and leaves deleting a paused container to Node', () => {
    const { id, bundle, pid } = created(SLEEPER);
    expect(launcherOnly(['start', id]).status).toBe(0);
    expect(scratch.hako(['pause', id]).status).toBe(0);
    expect(sameState(id)).toBe('paused');
    expect(launcherOnly(['delete', '--force', id])).toEqual(HANDED_TO_NODE);
    expect(scratch.hako(['delete', '--force', id]).status).toBe(0);
    expect(leftovers(scratch, id, bundle, [pid])).toEqual([]);
  });

  it('leaves KILL of a paused container to Node, which thaws it so that it dies', async () => {
    const { id, bundle, pid } = created(SLEEPER);
    expect(launcherOnly(['start', id]).status).toBe(0);
    expect(scratch.hako(['pause', id]).status).toBe(0);
    expect(launcherOnly(['kill', id, 'KILL'])).toEqual(HANDED_TO_NODE);
    expect(scratch.hako(['kill', id, 'KILL']).status).toBe(0);
    await waitFor(() => !isLive(pid), 'the paused init to die');
    expect(sameState(id)).toBe('stopped');
    expect(launcherOnly(['delete', id]).status).toBe(0);
    expect(leftovers(scratch, id, bundle, [pid])).toEqual([]);
  });

  it('refuses to start a paused created container, naming its status', () => {
    const { id } = created(SLEEPER);
    expect(scratch.hako(['pause', id]).status).toBe(0);
    expect(launcherOnly(['start', id])).toEqual(HANDED_TO_NODE);
    const refused = scratch.hako(['start', id]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('cannot start a container that is paused');
    expect(scratch.hako(['delete', '--force', id]).status).toBe(0);
  });

  it('delete --force takes away a container whose state.json is damaged, in Node too', () => {
    for (const env of [{}, { HAKO_NO_FAST_PATH: '1' }]) {
      const { id, bundle, pid } = created(SLEEPER);
      writeFileSync(join(scratch.root, id, 'state.json'), '');
      const deleted = scratch.hako(['delete', '--force', id], { env: { ...process.env, ...env } });
      expect(deleted).toMatchObject({ status: 0, stderr: '' });
      expect(leftovers(scratch, id, bundle, [pid])).toEqual([]);
    }
  });

  it('prints the same state as Node for annotations that look like its keys', () => {
    const tricky = { a: '"pid": 5,\n  "status": "x"', b: '<&>\u2028', c: '\0' };
    const { id } = created(SLEEPER, (spec) => {
      spec.annotations = tricky;
    });
    expect(sameState(id)).toBe('created');
    expect(JSON.parse(launcherOnly(['state', id]).stdout)).toMatchObject({ annotations: tricky });
  });

  it('hands to Node what it does not carry out itself', () => {
    const { id } = created(SLEEPER, (spec) => {
      spec.hooks = { poststart: [{ path: '/bin/true' }] };
    });
    // Hooks run in Node: start is handed over, and the container still waits for it.
    expect(launcherOnly(['start', id])).toEqual(HANDED_TO_NODE);
    expect(sameState(id)).toBe('created');
    for (const args of [
      ['--debug', 'state', id],
      ['--log-format', 'xml', 'state', id],
      ['kill', '--all', id, 'KILL'],
      ['kill', id, 'NOSUCHSIGNAL'],
      ['delete', 'nosuchcontainer'],
      ['state', '../x'],
      ['list'],
    ]) {
      expect(launcherOnly(args), args.join(' ')).toEqual(HANDED_TO_NODE);
    }
    // The same commands through bin/hako get Node's answers.
    expect(scratch.hako(['kill', id, 'NOSUCHSIGNAL']).stderr).toContain('invalid signal');
  });

  it('leaves refusing to delete a running container to Node', () => {
    const { id } = created(SLEEPER);
    expect(launcherOnly(['start', id]).status).toBe(0);
    expect(launcherOnly(['delete', id])).toEqual(HANDED_TO_NODE);
    const refused = scratch.hako(['delete', id]);
    expect(refused.status).toBe(1);
    expect(refused.stderr)
      .toContain(`cannot delete container \\"${id}\\" that is not stopped: running`);
  });

  it('has Node word a failed exec, with the words Node uses without it', () => {
    // A file that execve refuses (ENOEXEC) only at start: create finds it there and executable.
    const bundleWith = () => scratch.bundle((spec) => {
      spec.process!.args = ['/not-a-program'];
      spec.root!.readonly = false;
    });
    const failures: Result[] = [];
    for (const env of [{}, { HAKO_NO_FAST_PATH: '1' }]) {
      const bundle = bundleWith();
      const program = join(bundle, 'rootfs', 'not-a-program');
      writeFileSync(program, Buffer.from([0, 1, 2, 3, 4, 5, 6, 7]));
      chmodSync(program, 0o755);
      const id = scratch.id('noexec');
      expect(hakoDetached(scratch, ['create', '--bundle', bundle, id]).status).toBe(0);
      const started = scratch.hako(['start', id], { env: { ...process.env, ...env } });
      failures.push({ ...started, stderr: started.stderr.replace(/^time="[^"]*" /, '') });
      expect(scratch.hako(['delete', '--force', id]).status).toBe(0);
      expect(existsSync(join(scratch.root, id))).toBe(false);
    }
    expect(failures[0].status).toBe(1);
    expect(failures[0].stderr).toMatch(
      /unable to start container process: exec \/not-a-program: .*\(ENOEXEC\)/,
    );
    expect(failures[0]).toEqual(failures[1]);

    // The launcher did start that first one: alone, it sends the EXEC and hands the answer on.
    const bundle = bundleWith();
    writeFileSync(join(bundle, 'rootfs', 'not-a-program'), 'neither ELF nor #!\n', { mode: 0o755 });
    const id = scratch.id('noexec');
    expect(hakoDetached(scratch, ['create', '--bundle', bundle, id]).status).toBe(0);
    expect(launcherOnly(['start', id])).toEqual(HANDED_TO_NODE);
    expect(existsSync(join(scratch.root, id, 'start.sock'))).toBe(false);
  });
});
