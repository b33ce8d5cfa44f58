/**
 * hako's command line, runc-compatible. Each subcommand's implementation is imported only
 * when it runs, so `state` or `kill` never load the container setup code.
 */
import { spawn } from 'node:child_process';
import v8 from 'node:v8';

import { Command, CommanderError, Option } from 'commander';

import { HakoError } from '../core/errors.js';
import { parseLogFormat, reportFatal } from '../core/log.js';
import { keepStdioBlocking } from '../core/stdio.js';
import { loggerFromArgv, normalizeArgv } from './argv.js';
import { currentLogger, setLogger } from './globals.js';

const VERSION = '0.1.0';
const SPEC_VERSION = '1.2.0';

type Action = (command: Command, ...args: unknown[]) => Promise<number | void>;

/** Runs a subcommand: its module is loaded here, and its exit status becomes ours. */
function run(load: () => Promise<Action>) {
  return async (...args: unknown[]): Promise<void> => {
    const command = args[args.length - 1] as Command;
    const action = await load();
    const status = await action(command, ...args.slice(0, -1));
    process.exitCode = typeof status === 'number' ? status : 0;
  };
}

/** The flags `create` and `run` share, as runc's. */
function withCreateOptions(command: Command): Command {
  return command
    .option('-b, --bundle <dir>', 'path to the bundle directory', '.')
    .option('--pid-file <file>', 'write the container process id to this file')
    .option('--console-socket <path>', 'unix socket that receives the pty master')
    .option('--preserve-fds <n>', 'pass this many descriptors after stdio', '0')
    .option('--no-pivot', 'use chroot instead of pivot_root')
    .option('--no-new-keyring', 'ignored: hako does not create session keyrings');
}

function buildProgram(): Command {
  const program = new Command('hako')
    .description('an OCI container runtime that also runs WebAssembly and plugin workloads')
    .version(`hako version ${VERSION}\nspec: ${SPEC_VERSION}`, '-v, --version')
    .option('--root <dir>', 'root directory for container state (default "/run/hako")')
    .option('--log <file>', 'write the runtime log to this file instead of stderr')
    .addOption(new Option('--log-format <format>', 'log format: text or json').default('text'))
    .option('--debug', 'write debug lines to the log')
    .option('--systemd-cgroup', 'use the systemd cgroup driver (not supported)')
    .addOption(new Option('--rootless <value>', 'ignored: rootless mode is detected').hideHelp())
    .addOption(new Option('--criu <path>', 'ignored: checkpoint is not supported').hideHelp())
    .option('--plugin-path <dirs>', 'colon-separated directories of plugin handlers')
    .showSuggestionAfterError(false)
    .exitOverride()
    // Errors are reported by fail(), as runc's one line; help asked for by an error (`hako`
    // without a command, `hako help nosuch`) still goes to stderr.
    .configureOutput({ outputError: () => undefined });

  // A bad --log-format is an error of its own, reported once the logger exists.
  program.hook('preAction', (_cmd, sub) => {
    parseLogFormat(sub.optsWithGlobals<{ logFormat?: string }>().logFormat ?? 'text');
  });

  withCreateOptions(program
    .command('create')
    .description('create a container from a bundle; its process waits for `start`')
    .argument('<container-id>'))
    .action(run(async () => (await import('./commands/create.js')).createCommand));

  withCreateOptions(program
    .command('run')
    .description('create and start a container, wait for it, then delete it')
    .argument('<container-id>'))
    .option('-d, --detach', 'start the container and return')
    .option('--keep', 'do not delete the container after it exits')
    .action(run(async () => (await import('./commands/run.js')).runCommand));

  program
    .command('start')
    .description('start the process of a created container')
    .argument('<container-id>')
    .action(run(async () => (await import('./commands/start.js')).startCommand));

  program
    .command('state')
    .description('print the state of a container as JSON')
    .argument('<container-id>')
    .action(run(async () => (await import('./commands/state.js')).stateCommand));

  program
    .command('kill')
    .description('send a signal to the container process (default SIGTERM)')
    .argument('<container-id>')
    .argument('[signal]', 'signal name or number', 'SIGTERM')
    .option('-a, --all', 'signal every process of the container')
    .action(run(async () => (await import('./commands/kill.js')).killCommand));

  program
    .command('delete')
    .description('delete a container and its resources')
    .argument('<container-id>')
    .option('-f, --force', 'kill the container first if it is running')
    .action(run(async () => (await import('./commands/delete.js')).deleteCommand));

  program
    .command('list')
    .description('list the containers')
    .option('-f, --format <format>', 'table or json', 'table')
    .option('-q, --quiet', 'print only the ids')
    .action(run(async () => (await import('./commands/list.js')).listCommand));

  program
    .command('spec')
    .description('write a default config.json to the bundle directory')
    .option('-b, --bundle <dir>', 'path to the bundle directory', '.')
    .option('--rootless', 'a spec for a container run by an unprivileged user')
    .action(run(async () => (await import('./commands/spec.js')).specCommand));

  program
    .command('ps')
    .description('list the processes of a container (ps options follow the id)')
    .argument('<container-id>')
    .argument('[ps-options...]', 'options for ps(1) in table format (default -ef)')
    .option('-f, --format <format>', 'table or json', 'table')
    // Options after the id belong to ps(1), as in runc: `hako ps ID -o pid,comm`.
    .allowUnknownOption()
    .action(run(async () => (await import('./commands/ps.js')).psCommand));

  program
    .command('pause')
    .description('suspend every process of the container (cgroup freezer)')
    .argument('<container-id>')
    .action(run(async () => (await import('./commands/pause.js')).pauseCommand));

  program
    .command('resume')
    .description('resume the processes of a paused container')
    .argument('<container-id>')
    .action(run(async () => (await import('./commands/resume.js')).resumeCommand));

  program
    .command('update')
    .description('update the resource limits of a container')
    .argument('<container-id>')
    .option('-r, --resources <file>', 'linux.resources JSON from a file, or - for stdin')
    .option('--blkio-weight <n>', 'block I/O weight, 10 to 1000')
    .option('--cpu-period <us>', 'CPU CFS period in microseconds')
    .option('--cpu-quota <us>', 'CPU CFS quota in microseconds per period')
    .option('--cpu-share <n>', 'CPU shares (relative weight)')
    .addOption(new Option('--cpu-shares <n>', 'same as --cpu-share').hideHelp())
    .option('--cpu-rt-period <us>', 'CPU realtime period in microseconds')
    .option('--cpu-rt-runtime <us>', 'CPU realtime runtime in microseconds per period')
    .option('--cpu-idle <n>', 'cgroup v2 cpu.idle (0 or 1)')
    .option('--cpuset-cpus <list>', 'CPUs to use, e.g. 0-2,4')
    .option('--cpuset-mems <list>', 'memory nodes to use')
    .option('--memory <size>', 'memory limit, e.g. 64m or 1g; -1 for unlimited')
    .option('--memory-reservation <size>', 'memory soft limit')
    .option('--memory-swap <size>', 'memory+swap limit; -1 for unlimited')
    .option('--kernel-memory <size>', 'ignored: deprecated by the kernel')
    .option('--kernel-memory-tcp <size>', 'ignored: deprecated by the kernel')
    .option('--pids-limit <n>', 'maximum number of processes')
    .addOption(new Option('--l3-cache-schema <schema>', 'Intel RDT (unsupported)').hideHelp())
    .addOption(new Option('--mem-bw-schema <schema>', 'Intel RDT (unsupported)').hideHelp())
    .action(run(async () => (await import('./commands/update.js')).updateCommand));

  program
    .command('events')
    .description('print JSON lines of container stats and OOM events')
    .argument('<container-id>')
    .option('--interval <duration>', 'time between stats, a Go duration', '5s')
    .option('--stats', 'print the stats once and exit')
    .action(run(async () => (await import('./commands/events.js')).eventsCommand));

  program
    .command('features')
    .description('print the features this runtime supports, as JSON')
    .action(run(async () => (await import('./commands/features.js')).featuresCommand));

  // podman offers `container checkpoint` when `<runtime> checkpoint --help` exits 0, so these
  // exist only to say no, whatever the arguments.
  for (const name of ['checkpoint', 'restore']) {
    program
      .command(name, { hidden: true })
      .helpOption(false)
      .allowUnknownOption()
      .allowExcessArguments()
      .action(() => {
        throw new HakoError(`${name} is not supported by hako`);
      });
  }

  program
    .command('handlers')
    .description('list the built-in and plugin handlers, with where each came from')
    .option('--format <format>', 'table or json', 'table')
    .action(run(async () => (await import('./commands/handlers.js')).handlersCommand));

  // Everything after the id is the command, `-c` and `-v` included, as in runc: the program's
  // own options must then end at the subcommand (which runc's parser requires anyway).
  program.enablePositionalOptions();
  const collect = (value: string, all: string[]) => [...all, value];
  program
    .command('exec')
    .description('run a new process inside a container')
    .argument('<container-id>')
    .argument('[command...]', 'the command and its arguments')
    .option('--console-socket <path>', 'unix socket that receives the pty master (with -d -t)')
    .option('--cwd <dir>', 'working directory in the container')
    .option('-e, --env <NAME=VALUE>', 'set an environment variable (repeatable)', collect, [])
    .option('-t, --tty', 'allocate a pseudo-terminal')
    .option('-u, --user <uid[:gid]>', 'run as this uid (and gid)')
    .option('-g, --additional-gids <gid>', 'an additional group (repeatable)', collect, [])
    .option('-p, --process <file>', 'the whole process as JSON; the command line is ignored')
    .option('-d, --detach', 'return once the process has started')
    .option('--pid-file <file>', 'write the process id to this file')
    .option('--process-label <label>', 'SELinux label (ignored on a host without SELinux)')
    .option('--apparmor <profile>', 'AppArmor profile (ignored on a host without AppArmor)')
    .option('--no-new-privs', 'set no_new_privs for the process')
    .option('-c, --cap <capability>', 'add a capability (repeatable)', collect, [])
    .option('--preserve-fds <n>', 'pass this many descriptors after stdio', '0')
    .option('--cgroup <path>', 'join this sub-cgroup, [<controller>:]<path> (repeatable)',
      collect, [])
    .option('--ignore-paused', 'exec even into a paused container')
    .passThroughOptions()
    .action(run(async () => (await import('./commands/exec.js')).execCommand));

  return program;
}

async function main(argv: string[], program = buildProgram()): Promise<void> {
  // Before anything writes: the caller's stdout and stderr stay blocking (core/stdio.ts).
  keepStdioBlocking();
  setLogger(loggerFromArgv(argv));
  // A reader that goes away (`hako events ID | head -1`, `hako list | true`) ends the output,
  // as SIGPIPE ends runc, instead of an unhandled EPIPE and a stack trace. Only printing
  // commands use process.stdout; containers' stdio never goes through it.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  try {
    await program.parseAsync(normalizeArgv(argv));
  } catch (err) {
    process.exitCode = fail(err);
  }
}

/** Turns any failure into the one line runc would print, and the exit status. */
function fail(err: unknown): number {
  const logger = currentLogger();
  if (err instanceof CommanderError) {
    if (err.exitCode === 0) return 0;
    // The help is already on stderr; its placeholder message is no error to report.
    if (err.code === 'commander.help') return err.exitCode || 1;
    reportFatal(logger, err.message.replace(/^error: /, ''));
    return err.exitCode || 1;
  }
  if (err instanceof HakoError) {
    reportFatal(logger, err.message);
    return err.exitCode;
  }
  const message = err instanceof Error ? err.message : String(err);
  reportFatal(logger, message);
  if (logger.debugEnabled && err instanceof Error && err.stack) logger.debug(err.stack);
  return 1;
}

/**
 * Runs, while the start-up snapshot is built, what every command would otherwise do first:
 * the subcommands' modules are initialised and commander's parser has run once on a throwaway
 * program, so their code is in the snapshot already compiled. Nothing here reads the
 * environment or touches the machine.
 */
async function warmUp(): Promise<void> {
  // `performance` loads perf_hooks on first use (some 4 ms); its clock is right after
  // deserialisation.
  performance.now();
  // The first spawn in a process costs some 5 ms of compiling Node's child_process code.
  await new Promise((resolve) => {
    spawn(process.execPath, ['--version'], { stdio: 'ignore', env: {} }).on('close', resolve);
  });
  await Promise.all([
    import('./commands/create.js'), import('./commands/run.js'), import('./commands/start.js'),
    import('./commands/state.js'), import('./commands/kill.js'), import('./commands/delete.js'),
    import('./commands/exec.js'), import('./commands/list.js'),
  ]);
  await (await import('./rehearse.js')).rehearse();
  const dummy = buildProgram();
  for (const command of dummy.commands) command.action(() => undefined);
  for (const args of [['create', '-b', 'b', 'x'], ['start', 'x'], ['state', 'x'], ['kill', 'x', '9'],
    ['delete', '-f', 'x'], ['exec', 'x', 'true']]) {
    await dummy.parseAsync(normalizeArgv(['node', 'hako', '--root', '/r', ...args]));
  }
}

// The launcher starts hako from a start-up snapshot (scripts/build.mjs) in which this module
// is already loaded and the program already built: main runs after deserialisation. There is
// no script in argv then, so a name takes its place for commander.
const snapshot = v8.startupSnapshot;
if (snapshot?.isBuildingSnapshot()) {
  const program = buildProgram();
  void warmUp();
  snapshot.setDeserializeMainFunction(() => {
    void main([process.argv[0], 'hako', ...process.argv.slice(1)], program);
  });
} else {
  void main(process.argv);
}
