import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, describe, expect, it } from 'vitest';

import {
  formatGoJson, formatLogLine, goQuote, Logger, parseLogFormat, reportFatal, rfc3339,
  type LogSink,
} from '../../src/core/log.js';

const work = mkdtempSync(join(tmpdir(), 'hako-log-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const savedTz = process.env.TZ;
afterEach(() => {
  if (savedTz === undefined) delete process.env.TZ;
  else process.env.TZ = savedTz;
});

const at = new Date(Date.UTC(2026, 11, 3, 13, 5, 0, 987));
const now = (): Date => at;

function sink(isTTY = false): LogSink & { text: string } {
  return {
    text: '',
    isTTY,
    write(s: string) {
      this.text += s;
    },
  };
}

describe('rfc3339', () => {
  it('writes local time with seconds precision and Z or the offset', () => {
    process.env.TZ = 'UTC';
    expect(rfc3339(at)).toBe('2026-12-03T13:05:00Z');
    process.env.TZ = 'Asia/Kolkata';
    expect(rfc3339(at)).toBe('2026-12-03T18:35:00+05:30');
    process.env.TZ = 'America/New_York';
    expect(rfc3339(at)).toBe('2026-12-03T08:05:00-05:00');
  });
});

describe('formatLogLine', () => {
  it('writes runc json lines with sorted keys', () => {
    process.env.TZ = 'UTC';
    expect(formatLogLine('json', 'error', 'container does not exist', at)).toBe(
      '{"level":"error","msg":"container does not exist","time":"2026-12-03T13:05:00Z"}\n',
    );
    expect(formatLogLine('json', 'warning', 'a <b> & "c"', at)).toBe(
      '{"level":"warning","msg":"a \\u003cb\\u003e \\u0026 \\"c\\"",' +
        '"time":"2026-12-03T13:05:00Z"}\n',
    );
  });

  it('writes logrus text lines, quoting only what needs it', () => {
    process.env.TZ = 'UTC';
    expect(formatLogLine('text', 'error', 'container does not exist', at)).toBe(
      'time="2026-12-03T13:05:00Z" level=error msg="container does not exist"\n',
    );
    expect(formatLogLine('text', 'debug', 'plain-word_1.2/x@y^z+', at)).toBe(
      'time="2026-12-03T13:05:00Z" level=debug msg=plain-word_1.2/x@y^z+\n',
    );
    expect(formatLogLine('text', 'warning', 'two\nlines "q"', at)).toBe(
      'time="2026-12-03T13:05:00Z" level=warning msg="two\\nlines \\"q\\""\n',
    );
  });
});

describe('goQuote and formatGoJson', () => {
  it('escapes like strconv.Quote', () => {
    expect(goQuote('a\x01b\x7f')).toBe('"a\\x01b\\x7f"');
    expect(goQuote('\x07\b\f\v\t\\')).toBe('"\\a\\b\\f\\v\\t\\\\"');
    expect(goQuote('é 日本 😀')).toBe('"é 日本 😀"');
    expect(goQuote('\u00a0\u2028\u200b')).toBe('"\\u00a0\\u2028\\u200b"');
    expect(goQuote('\u{e0001}')).toBe('"\\U000e0001"');
  });

  it('escapes like encoding/json without touching escaped backslashes', () => {
    expect(formatGoJson({ s: '<&>\b\f\u2028' })).toBe(
      '{"s":"\\u003c\\u0026\\u003e\\u0008\\u000c\\u2028"}',
    );
    expect(formatGoJson({ s: '\\b\\f' })).toBe('{"s":"\\\\b\\\\f"}');
    expect(formatGoJson({ a: [1, { b: null }] }, 2)).toBe(
      '{\n  "a": [\n    1,\n    {\n      "b": null\n    }\n  ]\n}',
    );
  });
});

describe('parseLogFormat', () => {
  it('accepts text and json, rejects the rest as runc does', () => {
    expect(parseLogFormat('text')).toBe('text');
    expect(parseLogFormat('')).toBe('text');
    expect(parseLogFormat('json')).toBe('json');
    expect(() => parseLogFormat('xml')).toThrow('invalid log-format: xml');
  });
});

describe('Logger', () => {
  it('opens the log file only when a line is written, and appends', () => {
    process.env.TZ = 'UTC';
    const file = join(work, 'lazy.json');
    const err = sink();
    const logger = new Logger({ file, format: 'json', stderr: err, now });
    logger.debug('not enabled');
    expect(existsSync(file)).toBe(false);

    writeFileSync(file, '{"level":"error","msg":"earlier","time":"2026-01-01T00:00:00Z"}\n');
    logger.warn('w');
    logger.error('e');
    logger.close();
    expect(readFileSync(file, 'utf8').split('\n')).toEqual([
      '{"level":"error","msg":"earlier","time":"2026-01-01T00:00:00Z"}',
      '{"level":"warning","msg":"w","time":"2026-12-03T13:05:00Z"}',
      '{"level":"error","msg":"e","time":"2026-12-03T13:05:00Z"}',
      '',
    ]);
    expect(err.text).toBe('');
  });

  it('does no work for disabled debug lines', () => {
    const err = sink();
    let built = 0;
    const quiet = new Logger({ stderr: err, now });
    quiet.debug(() => `x${++built}`);
    expect(built).toBe(0);
    expect(quiet.debugEnabled).toBe(false);

    const loud = new Logger({ stderr: err, now, debug: true });
    loud.debug(() => `x${++built}`);
    expect(built).toBe(1);
    expect(err.text).toContain('level=debug msg=x1');
  });

  it('writes warnings and errors to stderr without --log', () => {
    process.env.TZ = 'UTC';
    const err = sink();
    const logger = new Logger({ stderr: err, now });
    logger.debug('hidden');
    logger.warn('careful');
    expect(err.text).toBe('time="2026-12-03T13:05:00Z" level=warning msg=careful\n');
    expect(logger.writesToStderr).toBe(true);
  });

  it('uses the short colored form on a terminal', () => {
    const err = sink(true);
    new Logger({ stderr: err, now }).error('container does not exist');
    expect(err.text).toMatch(/^\x1b\[31mERRO\x1b\[0m\[\d{4}\] container does not exist +\n$/);
    const json = sink(true);
    new Logger({ stderr: json, now, format: 'json' }).error('x');
    expect(json.text.startsWith('{"level":"error"')).toBe(true);
  });

  it('falls back to stderr, saying why, when the file cannot be opened', () => {
    const err = sink();
    const file = join(work, 'no-such-dir', 'log.json');
    const logger = new Logger({ file, format: 'json', stderr: err, now });
    expect(logger.writesToStderr).toBe(false);
    logger.error('boom');
    const lines = err.text.trim().split('\n').map((l) => JSON.parse(l) as { msg: string });
    expect(lines[0]?.msg).toMatch(/^log file .*log\.json: ENOENT.*; logging to stderr$/);
    expect(lines[1]?.msg).toBe('boom');
    expect(logger.writesToStderr).toBe(true);
  });
});

describe('reportFatal', () => {
  it('with --log: the line goes to the file and the bare message to stderr', () => {
    process.env.TZ = 'UTC';
    const file = join(work, 'fatal.json');
    const err = sink();
    const logger = new Logger({ file, format: 'json', stderr: err, now });
    reportFatal(logger, 'container "x" does not exist', err);
    logger.close();
    expect(readFileSync(file, 'utf8')).toBe(
      '{"level":"error","msg":"container \\"x\\" does not exist","time":"2026-12-03T13:05:00Z"}\n',
    );
    expect(err.text).toBe('container "x" does not exist\n');
  });

  it('without --log: stderr gets the log line once', () => {
    process.env.TZ = 'UTC';
    const err = sink();
    reportFatal(new Logger({ stderr: err, now }), 'bad', err);
    expect(err.text).toBe('time="2026-12-03T13:05:00Z" level=error msg=bad\n');
  });
});
