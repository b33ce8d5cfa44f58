import { closeSync, openSync, writeSync } from 'node:fs';

import { HakoError } from './errors.js';

/*
 * The runtime log, written the way runc 1.1 writes it through logrus, because its readers
 * parse it: containerd decodes `--log` as a stream of JSON objects and keeps the last
 * "error" msg; conmon hands podman the runtime's stderr. Lines:
 *   json: {"level":"error","msg":"...","time":"2026-12-03T13:05:00Z"}
 *   text: time="2026-12-03T13:05:00Z" level=error msg="..."
 * Levels are named as logrus names them: "debug", "warning", "error".
 */

export type LogFormat = 'text' | 'json';
export type LogLevel = 'debug' | 'warning' | 'error';

/** Where lines go when there is no log file. */
export interface LogSink {
  write(text: string): void;
  /** A terminal gets logrus's short colored form, as runc shows it to a person. */
  readonly isTTY?: boolean;
}

export interface LoggerOptions {
  /** `--log`: append to this file instead of stderr. Opened on the first line. */
  file?: string;
  /** `--log-format`; text when absent. */
  format?: LogFormat;
  /** `--debug`: also write debug lines. */
  debug?: boolean;
  /** Stands in for stderr (tests). */
  stderr?: LogSink;
  /** Stands in for the clock (tests). */
  now?: () => Date;
}

/** Parses `--log-format`, with runc's message for anything else. */
export function parseLogFormat(value: string): LogFormat {
  if (value === '' || value === 'text') return 'text';
  if (value === 'json') return 'json';
  throw new HakoError(`invalid log-format: ${value}`);
}

export class Logger {
  /** Lets a caller skip building an expensive message; debug() checks it too. */
  readonly debugEnabled: boolean;
  private readonly format: LogFormat;
  private readonly file: string | undefined;
  private readonly stderrOption: LogSink | undefined;
  private readonly now: () => Date;
  private fd = -1;
  private fileFailed = false;

  constructor(opts: LoggerOptions = {}) {
    this.debugEnabled = opts.debug === true;
    this.format = opts.format ?? 'text';
    this.file = opts.file === '' ? undefined : opts.file;
    this.stderrOption = opts.stderr;
    this.now = opts.now ?? (() => new Date());
  }

  /**
   * process.stderr only when a line is written: a logger made at start-up must not create the
   * stream before the CLI has put its own in place (src/core/stdio.ts).
   */
  private get stderr(): LogSink {
    return this.stderrOption ?? process.stderr;
  }

  /** True when log lines end up on stderr, so a fatal error must not be printed twice. */
  get writesToStderr(): boolean {
    return this.file === undefined || this.fileFailed;
  }

  /** A function argument is called only when debug lines are enabled. */
  debug(msg: string | (() => string)): void {
    if (!this.debugEnabled) return;
    this.emit('debug', typeof msg === 'function' ? msg() : msg);
  }

  warn(msg: string): void {
    this.emit('warning', msg);
  }

  error(msg: string): void {
    this.emit('error', msg);
  }

  /** Closes the log file, if it was opened. Further lines reopen it. */
  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  private emit(level: LogLevel, msg: string): void {
    const time = this.now();
    if (this.writesToStderr) {
      const tty = this.stderr.isTTY === true && this.format === 'text';
      const line = tty ? formatTtyLine(level, msg) : formatLogLine(this.format, level, msg, time);
      this.stderr.write(line);
      return;
    }
    const line = formatLogLine(this.format, level, msg, time);
    try {
      if (this.fd < 0) this.fd = openSync(this.file as string, 'a', 0o644);
      writeSync(this.fd, line);
    } catch (err) {
      // Losing the error line would leave the caller with nothing to show, so from here on
      // lines go to stderr, after one line saying why.
      this.fileFailed = true;
      this.close();
      const reason = err instanceof Error ? err.message : String(err);
      this.emit('warning', `log file ${this.file}: ${reason}; logging to stderr`);
      this.emit(level, msg);
    }
  }
}

/**
 * Ends a command on an error the way runc's fatal() does: the error goes to the log, and
 * also to stderr as the bare message when the log is a file (conmon passes stderr to podman;
 * containerd reads the file). Without --log the log line itself is the stderr line.
 */
export function reportFatal(
  logger: Logger,
  message: string,
  stderr: LogSink = process.stderr,
): void {
  logger.error(message);
  if (!logger.writesToStderr) stderr.write(`${message}\n`);
}

/** One log line, newline included, as logrus formats it for a file or a pipe. */
export function formatLogLine(format: LogFormat, level: LogLevel, msg: string, time: Date): string {
  const stamp = rfc3339(time);
  if (format === 'json') {
    // encoding/json sorts map keys: level, msg, time.
    return `${formatGoJson({ level, msg, time: stamp })}\n`;
  }
  return `time=${textValue(stamp)} level=${textValue(level)} msg=${textValue(msg)}\n`;
}

const TTY_COLORS: Record<LogLevel, number> = { debug: 37, warning: 33, error: 31 };

/** logrus's form for a terminal: colored level, seconds since start, padded message. */
function formatTtyLine(level: LogLevel, msg: string): string {
  const name = level.toUpperCase().slice(0, 4);
  const seconds = String(Math.floor(performance.now() / 1000)).padStart(4, '0');
  return `\x1b[${TTY_COLORS[level]}m${name}\x1b[0m[${seconds}] ${msg.padEnd(44)} \n`;
}

/** Go's time.RFC3339 in local time: seconds precision, "Z" for a zero offset. */
export function rfc3339(time: Date): string {
  const pad = (n: number, width = 2): string => String(n).padStart(width, '0');
  const date = `${pad(time.getFullYear(), 4)}-${pad(time.getMonth() + 1)}-${pad(time.getDate())}`;
  const clock = `${pad(time.getHours())}:${pad(time.getMinutes())}:${pad(time.getSeconds())}`;
  const offset = -time.getTimezoneOffset();
  if (offset === 0) return `${date}T${clock}Z`;
  const abs = Math.abs(offset);
  const sign = offset > 0 ? '+' : '-';
  return `${date}T${clock}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** logrus's text formatter quotes a value unless it is made only of these characters. */
const BARE_TEXT = /^[A-Za-z0-9\-._/@^+]+$/;

function textValue(value: string): string {
  return BARE_TEXT.test(value) ? value : goQuote(value);
}

/** Go's strconv.Quote (what %q prints): escapes quotes, backslashes and unprintable runes. */
export function goQuote(value: string): string {
  let out = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0) as number;
    out += quoteRune(ch, code);
  }
  return `${out}"`;
}

const SHORT_ESCAPES: Record<string, string> = {
  '"': '\\"', '\\': '\\\\', '\x07': '\\a', '\b': '\\b', '\f': '\\f',
  '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v',
};

// Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space.
const UNPRINTABLE = /^[\p{C}\p{Z}]$/u;

function quoteRune(ch: string, code: number): string {
  const short = SHORT_ESCAPES[ch];
  if (short !== undefined) return short;
  if (code < 0x20 || code === 0x7f) return `\\x${code.toString(16).padStart(2, '0')}`;
  // A lone surrogate cannot come from valid UTF-8; Go would show the replacement rune.
  if (code >= 0xd800 && code <= 0xdfff) return '\\ufffd';
  if (ch === ' ' || !UNPRINTABLE.test(ch)) return ch;
  if (code < 0x10000) return `\\u${code.toString(16).padStart(4, '0')}`;
  return `\\U${code.toString(16).padStart(8, '0')}`;
}

const GO_JSON_ESCAPES: Record<string, string> = {
  '\\b': '\\u0008', '\\f': '\\u000c', '<': '\\u003c', '>': '\\u003e', '&': '\\u0026',
  '\u2028': '\\u2028', '\u2029': '\\u2029',
};

/**
 * JSON as Go's encoding/json writes it (runc's `state` with indent 2, log lines with none):
 * JSON.stringify, plus Go's escapes for <, >, &, U+2028, U+2029, \b and \f. Escape pairs are
 * matched whole so that an escaped backslash followed by 'b' is left alone.
 */
export function formatGoJson(value: unknown, indent = 0): string {
  const json = JSON.stringify(value, null, indent) ?? 'null';
  return json.replace(/\\(?:u[0-9a-fA-F]{4}|.)|[<>&\u2028\u2029]/g, (m) => GO_JSON_ESCAPES[m] ?? m);
}
