import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { Scratch } from './helpers.js';
import type { Spec } from '../../src/core/spec/types.js';
import {
  hakoDetached, initPidFromLog, isLive, leftovers, lines,
} from './lifecycle-helpers.js';

/*
 * How a failing command reports itself (runtime-cli-contract.md, section 3): one line on
 * stderr naming the operation, the object and the cause, exit status 1, with --log and
 * --log-format json exactly one JSON error line in the file; and a failed create leaves
 * nothing behind.
 */

const scratch = new Scratch();
afterAll(() => scratch.cleanup());

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

let logCounter = 0;
const logPath = (): string => join(scratch.dir, `log-${++logCounter}`);

/** The one JSON line of a --log file, checked for runc's shape. */
function onlyJsonLine(file: string): { level: string; msg: string; time: string } {
  const text = readFileSync(file, 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  expect(lines(text)).toHaveLength(1);
  const entry = JSON.parse(text) as { level: string; msg: string; time: string };
  expect(Object.keys(entry)).toEqual(['level', 'msg', 'time']);
  expect(entry.level).toBe('error');
  expect(entry.time).toMatch(RFC3339);
  expect(Math.abs(Date.parse(entry.time) - Date.now())).toBeLessThan(60_000);
  return entry;
}

interface FailingCreate {
  name: string;
  edit: (spec: Spec) => void;
  /** What the one error line must say. */
  message: RegExp;
}

const failingCreates: FailingCreate[] = [
  {
    name: 'a bind mount of a missing source',
    edit: (spec) => {
      spec.mounts!.push({
        destination: '/mnt', type: 'bind', source: '/nonexistent-hako-src', options: ['bind'],
      });
    },
    message: /^mount \/nonexistent-hako-src on \/mnt: .*no such file or directory \(ENOENT\)$/,
  },
  {
    name: 'process.args of a missing absolute path',
    edit: (spec) => {
      spec.process!.args = ['/nonexistent'];
    },
    message: /^exec: "\/nonexistent": stat \/nonexistent: no such file or directory$/,
  },
  {
    name: 'process.args of a command not in PATH',
    edit: (spec) => {
      spec.process!.args = ['no-such-command'];
    },
    message: /^exec: "no-such-command": executable file not found in \$PATH$/,
  },
];

describe('a create that fails after setup began', () => {
  for (const { name, edit, message } of failingCreates) {
    it(`${name}: one stderr line, status 1, nothing left`, () => {
      const id = scratch.id('fail');
      const bundle = scratch.bundle(edit);
      const result = hakoDetached(scratch, ['create', '--bundle', bundle, id]);

      expect(result.status).toBe(1);
      expect(result.stdout).toBe('');
      expect(lines(result.stderr)).toHaveLength(1);
      // Without --log, the stderr line is the log line: logrus's text form.
      const line = /^time="[^"]+" level=error msg="(.*)"$/.exec(result.stderr.trim());
      expect(line).not.toBeNull();
      expect(JSON.parse(`"${line![1]}"`)).toMatch(message);
      expect(leftovers(scratch, id, bundle)).toEqual([]);
    });

    it(`${name}: --log-format json: one JSON line in the log, the message on stderr`, () => {
      const id = scratch.id('fail');
      const bundle = scratch.bundle(edit);
      const log = logPath();
      const result = hakoDetached(
        scratch, ['--log', log, '--log-format', 'json', 'create', '--bundle', bundle, id],
      );

      expect(result.status).toBe(1);
      expect(result.stdout).toBe('');
      const entry = onlyJsonLine(log);
      expect(entry.msg).toMatch(message);
      expect(result.stderr).toBe(`${entry.msg}\n`);
      expect(leftovers(scratch, id, bundle)).toEqual([]);
    });

    it(`${name}: the init the debug log names is gone`, () => {
      const id = scratch.id('fail');
      const bundle = scratch.bundle(edit);
      const log = logPath();
      const result = hakoDetached(
        scratch, ['--debug', '--log', log, 'create', '--bundle', bundle, id],
      );

      expect(result.status).toBe(1);
      expect(result.stderr.trim()).toMatch(message);
      const pid = initPidFromLog(readFileSync(log, 'utf8'));
      expect(pid).toBeGreaterThan(0);
      expect(isLive(pid!)).toBe(false);
      expect(leftovers(scratch, id, bundle, [pid!])).toEqual([]);
    });
  }
});

describe('a create refused before setup', () => {
  /** create of a bundle whose config.json is `text`; returns the result and the log entry. */
  function createWith(text: string | ((spec: Spec) => void), extra: string[] = []) {
    const id = scratch.id('bad');
    const bundle = scratch.bundle(typeof text === 'function' ? text : undefined);
    if (typeof text === 'string') writeFileSync(join(bundle, 'config.json'), text);
    const log = logPath();
    const result = hakoDetached(
      scratch, ['--log', log, '--log-format', 'json', 'create', '--bundle', bundle, ...extra, id],
    );
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(lines(result.stderr)).toHaveLength(1);
    const entry = onlyJsonLine(log);
    expect(result.stderr).toBe(`${entry.msg}\n`);
    expect(leftovers(scratch, id, bundle)).toEqual([]);
    return entry.msg;
  }

  it('config.json that is not JSON', () => {
    expect(createWith('{"ociVersion": ')).toMatch(/^config\.json: cannot parse: /);
  });

  it('config.json without process.args', () => {
    const message = createWith((spec) => {
      delete (spec.process as { args?: string[] }).args;
    });
    expect(message).toMatch(/^config\.json: process\.args: /);
  });

  it('a missing config.json', () => {
    const id = scratch.id('bad');
    const bundle = join(scratch.dir, 'no-such-bundle');
    const result = hakoDetached(scratch, ['create', '--bundle', bundle, id]);
    expect(result.status).toBe(1);
    expect(lines(result.stderr)).toHaveLength(1);
    expect(result.stderr).toContain('config.json');
    expect(result.stderr).toContain('no such file or directory');
    expect(existsSync(join(scratch.root, id))).toBe(false);
  });

  it('process.terminal without --console-socket', () => {
    const message = createWith((spec) => {
      spec.process!.terminal = true;
    });
    expect(message).toContain('process.terminal');
    expect(message).toContain('--console-socket');
  });

  it('a --root that cannot be made (in /proc): an error, not a hang', () => {
    const id = scratch.id('bad');
    const bundle = scratch.bundle();
    const result = hakoDetached(scratch, ['--root', '/proc/hako-no-root', 'create', '--bundle',
      bundle, id]);
    expect(result.status).toBe(1);
    expect(lines(result.stderr)).toHaveLength(1);
    expect(result.stderr).toContain(
      'create state root /proc/hako-no-root: no such file or directory (ENOENT)');
  });

  it('a missing argument is reported in the log file too', () => {
    const log = logPath();
    const result = hakoDetached(scratch, ['--log', log, '--log-format', 'json', 'create']);
    expect(result.status).toBe(1);
    const entry = onlyJsonLine(log);
    expect(entry.msg).toContain('container-id');
    expect(result.stderr).toBe(`${entry.msg}\n`);
  });
});

describe('--log-format', () => {
  it('refuses a value other than text or json', () => {
    const result = scratch.hako(['--log-format', 'xml', 'state', 'whatever']);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(lines(result.stderr)).toHaveLength(1);
    expect(result.stderr).toContain('invalid log-format: xml');
  });

  it('refuses it before creating anything', () => {
    const id = scratch.id('fmt');
    const bundle = scratch.bundle();
    const log = logPath();
    const result = hakoDetached(
      scratch, ['--log', log, '--log-format=xml', 'create', '--bundle', bundle, id],
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toBe('invalid log-format: xml\n');
    // The format asked for is unknown, so the log file gets the text form.
    expect(lines(readFileSync(log, 'utf8'))).toEqual([
      expect.stringMatching(/^time="[^"]+" level=error msg="invalid log-format: xml"$/),
    ]);
    expect(leftovers(scratch, id, bundle)).toEqual([]);
  });
});

describe('list', () => {
  it('warns about a container whose state.json is unreadable instead of failing', () => {
    const root = join(scratch.dir, 'list-root');
    mkdirSync(join(root, 'broken'), { recursive: true });
    writeFileSync(join(root, 'broken', 'state.json'), 'garbage\n');
    const result = scratch.hako(['--root', root, 'list', '-q']);
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('level=warning');
    expect(result.stderr).toContain('read state of container \\"broken\\"');
  });
});
