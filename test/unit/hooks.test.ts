import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { HakoError } from '../../src/core/errors.js';
import { runHooks } from '../../src/core/hooks/run.js';
import { Logger, type LogSink } from '../../src/core/log.js';
import { isAlive } from '../../src/core/state/status.js';

const work = mkdtempSync(join(tmpdir(), 'hako-hooks-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let scripts = 0;
/** Writes an executable /bin/sh script and returns its path. */
function script(body: string): string {
  const path = join(work, `hook-${++scripts}.sh`);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

function out(name: string): string {
  return join(work, name);
}

function sink(): LogSink & { text: string } {
  return {
    text: '',
    write(s: string) {
      this.text += s;
    },
  };
}

const state = { ociVersion: '1.0.2', id: 'c1', status: 'creating', pid: 42, bundle: '/b' };

describe('runHooks', () => {
  it('does nothing without hooks', async () => {
    await expect(runHooks(undefined, state, 'prestart')).resolves.toBeUndefined();
    await expect(runHooks([], state, 'prestart')).resolves.toBeUndefined();
  });

  it('passes the state as JSON on stdin', async () => {
    const file = out('stdin.json');
    await runHooks([{ path: script(`cat > '${file}'`) }], state, 'createRuntime');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(state);
  });

  it('passes args with args[0] as argv[0]', async () => {
    const file = out('cmdline');
    const cmd = `tr '\\0' '|' < /proc/$$/cmdline > '${file}'`;
    await runHooks([{ path: '/bin/sh', args: ['my-argv0', '-c', cmd] }], state, 'prestart');
    expect(readFileSync(file, 'utf8')).toBe(`my-argv0|-c|${cmd}|`);
  });

  it('passes exactly the given environment, an empty one when absent', async () => {
    process.env.HAKO_HOOK_TEST_LEAK = 'leaked';
    try {
      const withEnv = out('env-given');
      const without = out('env-absent');
      await runHooks(
        [
          { path: script(`env > '${withEnv}'`), env: ['A=1', 'B=two words', 'A=dup', 'C=x=y'] },
          { path: script(`env > '${without}'`) },
        ],
        state,
        'createContainer',
      );
      const given = readFileSync(withEnv, 'utf8').split('\n');
      expect(given).toEqual(expect.arrayContaining(['A=1', 'B=two words', 'C=x=y']));
      expect(given.join('\n')).not.toContain('leaked');
      expect(given.join('\n')).not.toContain('A=dup');
      expect(readFileSync(without, 'utf8')).not.toContain('leaked');
      expect(readFileSync(without, 'utf8')).not.toMatch(/^HOME=/m);
    } finally {
      delete process.env.HAKO_HOOK_TEST_LEAK;
    }
  });

  it('fails with the status and the last stderr line', async () => {
    const path = script('echo "warming up" >&2\necho "real error" >&2\necho out\nexit 3');
    await expect(runHooks([{ path }], state, 'createRuntime')).rejects.toThrow(
      new HakoError(`createRuntime hook ${path}: exited with status 3: real error`),
    );
    const quiet = script('exit 4');
    await expect(runHooks([{ path: quiet }], state, 'prestart')).rejects.toThrow(
      `prestart hook ${quiet}: exited with status 4`,
    );
  });

  it('reports a hook killed by a signal', async () => {
    const path = script('kill -TERM $$');
    await expect(runHooks([{ path }], state, 'prestart')).rejects.toThrow(
      `prestart hook ${path}: killed by SIGTERM`,
    );
  });

  it('reports a missing executable', async () => {
    const path = join(work, 'missing-hook');
    await expect(runHooks([{ path }], state, 'prestart')).rejects.toThrow(
      `prestart hook ${path}: cannot execute: no such file or directory`,
    );
    const nul = runHooks([{ path: '/bin/s\0h' }], state, 'prestart', { warnOnly: true });
    await expect(nul).resolves.toBeUndefined();
    await expect(runHooks([{ path: '/bin/s\0h' }], state, 'prestart')).rejects.toThrow(
      /^prestart hook \/bin\/s\0h: cannot execute: /,
    );
  });

  it('kills a hook that outlives its timeout', async () => {
    const pidFile = out('timeout.pid');
    const path = script(`echo $$ > '${pidFile}'\nexec sleep 20`);
    const started = Date.now();
    await expect(runHooks([{ path, timeout: 1 }], state, 'startContainer')).rejects.toThrow(
      `startContainer hook ${path}: timed out after 1 s`,
    );
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(950);
    expect(elapsed).toBeLessThan(3000);
    expect(isAlive(Number(readFileSync(pidFile, 'utf8')))).toBe(false);
  });

  it('does not wait for a background child that keeps stderr open', async () => {
    const pidFile = out('background.pid');
    const path = script(`sleep 20 &\necho $! > '${pidFile}'\nexit 0`);
    const started = Date.now();
    await runHooks([{ path }], state, 'poststart');
    expect(Date.now() - started).toBeLessThan(2000);
    process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
  });

  it('does not fail a hook that ignores a large state on stdin', async () => {
    const big = { ...state, annotations: { blob: 'x'.repeat(1 << 20) } };
    await expect(runHooks([{ path: script('exit 0') }], big, 'prestart')).resolves.toBeUndefined();
  });

  it('runs hooks in order and stops at the first failure', async () => {
    const file = out('order');
    writeFileSync(file, '');
    const first = script(`sleep 0.2; echo first >> '${file}'`);
    const second = script(`echo second >> '${file}'; exit 1`);
    const third = script(`echo third >> '${file}'`);
    await expect(
      runHooks([{ path: first }, { path: second }, { path: third }], state, 'prestart'),
    ).rejects.toThrow(`prestart hook ${second}: exited with status 1`);
    expect(readFileSync(file, 'utf8')).toBe('first\nsecond\n');
  });

  it('only warns and goes on when warnOnly', async () => {
    const file = out('warn-only');
    writeFileSync(file, '');
    const failing = script('echo oops >&2; exit 2');
    const next = script(`echo next >> '${file}'`);
    const err = sink();
    const logger = new Logger({ stderr: err, format: 'json' });
    await runHooks([{ path: failing }, { path: next }], state, 'poststop', {
      logger,
      warnOnly: true,
    });
    expect(readFileSync(file, 'utf8')).toBe('next\n');
    const line = JSON.parse(err.text.trim()) as { level: string; msg: string };
    expect(line.level).toBe('warning');
    expect(line.msg).toBe(`poststop hook ${failing}: exited with status 2: oops`);
  });

  it('passes stderr lines to the debug log', async () => {
    const path = script('printf "one\\ntwo" >&2');
    const err = sink();
    const logger = new Logger({ stderr: err, format: 'json', debug: true });
    await runHooks([{ path }], state, 'prestart', { logger });
    const msgs = err.text.trim().split('\n').map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(msgs).toEqual([
      `prestart hook ${path}: stderr: one`,
      `prestart hook ${path}: stderr: two`,
    ]);
  });
});
