/**
 * What has to be read from the command line before commander parses it.
 */
import { Logger, parseLogFormat } from '../core/log.js';

/**
 * runc's flag parser accepts Go-style single-dash long flags (containerd sends
 * `-no-subreaper`); commander does not, so they are rewritten to the double-dash form.
 */
export function normalizeArgv(argv: string[]): string[] {
  return argv.map((arg, i) => {
    const name = /^-([a-z][a-z-]+)(=.*)?$/.exec(arg)?.[1];
    return i >= 2 && name && GO_STYLE_FLAGS.has(name) ? `-${arg}` : arg;
  });
}

/** Only flags hako knows are rewritten: a workload's own `-lc` must stay as it is. */
const GO_STYLE_FLAGS = new Set([
  'root', 'log', 'log-format', 'debug', 'systemd-cgroup', 'rootless', 'bundle', 'pid-file',
  'console-socket', 'preserve-fds', 'no-pivot', 'no-new-keyring', 'no-subreaper', 'detach',
  'force', 'all', 'format', 'process', 'tty', 'cwd', 'env', 'user', 'cap', 'no-new-privs',
  'resources', 'interval', 'stats', 'image-path', 'work-path',
]);

/**
 * The logger is built from `--log`, `--log-format` and `--debug` before anything else is
 * checked, so that even a bad flag is reported in the log file a caller reads (containerd
 * shows "unable to retrieve OCI runtime error" when the file is empty).
 */
export function loggerFromArgv(argv: string[]): Logger {
  let file: string | undefined;
  let format = 'text';
  let debug = false;
  for (let i = 2; i < argv.length; i++) {
    const arg = argv[i];
    const [name, inline] = arg.startsWith('--') ? splitFlag(arg) : [arg, undefined];
    const value = (): string => inline ?? argv[++i] ?? '';
    if (name === '--log') file = value();
    else if (name === '--log-format') format = value();
    else if (name === '--debug') debug = true;
    else if (!arg.startsWith('-')) break; // the subcommand: global flags end here
    else if (inline === undefined && takesValue(name)) i++;
  }
  let parsed: 'text' | 'json' = 'text';
  try {
    parsed = parseLogFormat(format);
  } catch {
    parsed = 'text';
  }
  return new Logger({ file, format: parsed, debug });
}

function splitFlag(arg: string): [string, string | undefined] {
  const eq = arg.indexOf('=');
  return eq < 0 ? [arg, undefined] : [arg.slice(0, eq), arg.slice(eq + 1)];
}

function takesValue(name: string): boolean {
  return ['--root', '--criu', '--rootless', '--plugin-path'].includes(name);
}
