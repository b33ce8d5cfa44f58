/**
 * The Node engine: the container's init for handlers that run JavaScript in the sandbox.
 *
 * The agent has entered the namespaces and made every mount (docs/architecture.md), then
 * exec'd `node engine.cjs <control fd>` in place of pivot_root, so this process still sees
 * the host. In order:
 *   1. read the plan that `hako create` left in the control socket;
 *   2. load the handler and everything it needs from the host, and prepare the workload:
 *      read the module beneath the rootfs, compile it (or transpile a component), start the
 *      workers; bind libc;
 *   3. finish the setup on itself with LocalSys: pivot_root, read-only and masked paths,
 *      rlimits, the user, capabilities, seccomp;
 *   4. tell `create` it is ready (or why it failed) and close the control socket;
 *   5. wait for `hako start` on the inherited start socket;
 *   6. run the workload in this process and exit with its status.
 * Nothing may be loaded from the host after step 2: all imports here are static, and the
 * handler's lazy loads happen in its prepare step.
 */
import { closeSync, readFileSync, writeSync } from 'node:fs';

import type { Handler } from '../../handlers/api.js';
import { transpileCached } from '../../handlers/wasm/cache.js';
import type { ReadResult } from '../../handlers/wasm/handler.js';
import { wasmHandler } from '../../handlers/wasm/plugin.js';
import { HakoError } from '../errors.js';
import { DESCRIBE_FLAG } from '../plugins/registry.js';
import { homeFromPasswd } from '../process/home.js';
import { prepareProcess, withHome } from '../process/index.js';
import { enterRootfs } from '../rootfs/index.js';
import { keepStdioBlocking } from '../stdio.js';
import { readFileInRoot } from '../sys/libc.js';
import { LocalSys, preloadLocalSys } from '../sys/local.js';
import { type EnginePlan, TRANSPILE_FLAG, readPlan, writeAnswer } from './handoff.js';
import { waitForStart } from './start-server.js';
import {
  handlerContext, handlerTimeout, loadPluginHandler, phase,
} from './context.js';

/** What a workload exits with when the engine itself fails after start. */
const ENGINE_FAILURE = 1;

async function main(): Promise<number> {
  // Node opens its inspector (127.0.0.1:9229, JavaScript for whoever connects) on SIGUSR1, and
  // any process of the container, or of a pod sharing its network, may send it to pid 1 since
  // Node handles it. A listener of our own replaces that handler, also while a guest computes.
  process.on('SIGUSR1', () => undefined);
  // The guest writes to descriptors 1 and 2 directly; Node must not make them non-blocking
  // under it, which it would do as soon as anything touched process.stderr (core/stdio.ts).
  keepStdioBlocking();
  if (process.argv[2] === TRANSPILE_FLAG) return transpile(process.argv[3], process.argv[4]);
  if (process.argv[2] === DESCRIBE_FLAG) return describe(process.argv.slice(3));
  const controlFd = Number(process.argv[2]);
  if (!Number.isInteger(controlFd) || controlFd < 3) {
    writeSync(2, 'hako engine: usage: engine.cjs <control fd> (started by hako create)\n');
    return 2;
  }

  let run: () => Promise<number>;
  let sys: LocalSys;
  let plan: EnginePlan;
  try {
    plan = readPlan(controlFd);
    const readFile = inRoot(plan.rootfs.rootfs);
    const home = homeOf(plan, readFile);
    run = await prepare(plan, home);
    preloadLocalSys();
    sys = new LocalSys();
    await setUp(sys, plan, home);
  } catch (err) {
    writeAnswer(controlFd, oneLine(err));
    return ENGINE_FAILURE;
  }
  writeAnswer(controlFd);
  closeSync(controlFd);

  try {
    await waitForStart(plan.startFd, sys);
  } catch {
    // `start` heard the reason (or vanished); the container is over.
    return 127;
  }
  try {
    return await run();
  } catch (err) {
    const message = oneLine(err);
    writeSync(2, `${message}\n`);
    // `hako state` shows it: the container's stderr may be a log nobody reads.
    if (plan.errorFd !== undefined) {
      try {
        writeSync(plan.errorFd, message);
      } catch {
        // The state directory is gone: the container was deleted meanwhile.
      }
    }
    return ENGINE_FAILURE;
  }
}

/** The transpile mode (lifecycle/engine.ts): the component's bytes come on stdin. */
async function transpile(cacheDir: string | undefined, file: string | undefined) {
  if (!cacheDir || !file) throw new Error('usage: engine.cjs --transpile <cache dir> <name>');
  try {
    await transpileCached(readFileSync(0), file, cacheDir);
    return 0;
  } catch (err) {
    writeSync(2, `${oneLine(err)}\n`);
    return ENGINE_FAILURE;
  }
}

/**
 * The describe mode (plugins/registry.ts): imports each plugin module and prints, as a JSON
 * array in the same order, its handler's name or why it could not be loaded.
 */
async function describe(paths: string[]): Promise<number> {
  const answers: ({ name: string } | { error: string })[] = [];
  for (const path of paths) {
    try {
      answers.push({ name: (await loadPluginHandler(path)).name });
    } catch (err) {
      answers.push({ error: oneLine(err) });
    }
  }
  writeSync(1, `${JSON.stringify(answers)}\n`);
  return 0;
}

type ReadFile = (path: string) => ReadResult;

/** Container paths read beneath the rootfs, as the agent resolves them (openat2). */
function inRoot(rootfs: string): ReadFile {
  return (path) => readFileInRoot(rootfs, path);
}

/** HOME as runc sets it when process.env has none: from the image's /etc/passwd. */
function homeOf(plan: EnginePlan, readFile: ReadFile): string {
  const passwd = readFile('/etc/passwd');
  const text = 'bytes' in passwd ? Buffer.from(passwd.bytes).toString() : '';
  return homeFromPasswd(text, plan.spec.process?.user.uid ?? 0);
}

/**
 * Loads the handler and runs its validate and prepare steps while the host is visible;
 * returns what runs the workload after start.
 */
async function prepare(plan: EnginePlan, home: string): Promise<() => Promise<number>> {
  const proc = plan.spec.process;
  if (!proc) throw new HakoError('config.json: process: is required');
  // The handler sees the environment the workload gets, HOME included, as runc gives it.
  const spec = { ...plan.spec, process: { ...proc, env: withHome(proc.env ?? [], home) } };
  const id = plan.id ?? '';
  const timeout = handlerTimeout(spec);

  const handler = await handlerOf(plan, timeout);
  const before = handlerContext(handler.name, spec, id, plan.rootfs.rootfs);
  const canHandle = await phase(handler, 'canHandle', timeout,
    () => handler.canHandle?.(spec) ?? true);
  if (!canHandle) {
    throw new HakoError(`handler "${handler.name}" cannot run this container (canHandle)`);
  }
  await phase(handler, 'validate', timeout, () => handler.validate?.(before));
  const prepared = await phase(handler, 'prepare', timeout, () => handler.prepare?.(before));
  const after = handlerContext(handler.name, spec, id, '/');
  return async () => {
    try {
      return await handler.run(after, prepared ?? undefined);
    } catch (err) {
      throw new HakoError(`handler "${handler.name}": run: ${oneLine(err)}`);
    }
  };
}

/** The built-in wasm handler, or the plugin module the plan names, imported from the host. */
async function handlerOf(plan: EnginePlan, timeout: number): Promise<Handler> {
  const path = plan.pluginPath;
  if (path === undefined) {
    if (plan.handler !== 'wasm') throw new HakoError(`engine: no handler named "${plan.handler}"`);
    return wasmHandler(plan.cacheDir);
  }
  const named: Handler = { name: plan.handler, run: async () => ENGINE_FAILURE };
  return phase(named, `load ${path}`, timeout, () => loadPluginHandler(path, plan.handler));
}

/** The steps the agent would have done after its mounts, done here on this process. */
async function setUp(sys: LocalSys, plan: EnginePlan, home: string): Promise<void> {
  await enterRootfs(sys, plan.spec, plan.rootfs);
  const seccomp = plan.seccomp && {
    program: Buffer.from(plan.seccomp.program, 'base64'),
    flags: plan.seccomp.flags,
  };
  await prepareProcess(sys, plan.spec, {
    home,
    lastCap: plan.lastCap,
    seccomp,
    findExecutable: false,
  });
}

function oneLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return (message.split('\n')[0] ?? message).trim() || 'unknown error';
}

main().then(
  (status) => process.exit(status),
  (err: unknown) => {
    writeSync(2, `hako engine: ${oneLine(err)}\n`);
    process.exit(ENGINE_FAILURE);
  },
);
