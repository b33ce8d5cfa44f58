/**
 * `create` for a handler that runs in the Node engine (wasm). The agent does everything up
 * to and including the mounts, as for a Linux container; then, instead of pivot_root, it
 * execs `node engine.cjs`, which finishes the setup on itself and answers when the container
 * waits for `start` (engine/handoff.ts). The engine keeps the agent's pid, so the container's
 * pid is the same as for a Linux container: the init that was forked in its namespaces.
 *
 * The engine needs two descriptors: the control socket (to read its plan and answer) and
 * the listening start socket. The agent marks everything from `closeFrom` up close-on-exec
 * and opens its own descriptors close-on-exec, so each is duplicated onto a free number
 * (dup2 clears the flag) and `closeFrom` is set just above the two.
 */
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

import { defaultCacheDir, isCached } from '../../handlers/wasm/cache.js';
import { checkModule } from '../../handlers/wasm/handler.js';
import { type EnginePlan, TRANSPILE_FLAG, answerFailure, encodePlan } from '../engine/handoff.js';
import { handlerTimeout } from '../engine/context.js';
import { enginePath } from '../engine/path.js';
import { HakoError } from '../errors.js';
import type { Logger } from '../log.js';
import { type RootfsContext, mountRootfs } from '../rootfs/index.js';
import type { Spec } from '../spec/types.js';
import type { JsonValue } from '../state/store.js';
import { sysStep } from '../sys/failure.js';
import { readFileInRoot } from '../sys/libc.js';
import type { AgentProcess } from '../sys/spawn.js';
import { nulList } from '../sys/channel.js';
import { SysError } from '../sys/sys.js';
import type { ExecPlan } from './common.js';

export { enginePath };

/** The agent's EXEC operation (native/PROTOCOL.md). */
const OP_EXEC = 60;

export interface EngineCreate {
  agent: AgentProcess;
  handler: string;
  /** The plugin module of a plugin handler, on the host. */
  pluginPath?: string;
  /** The container id, for the handler's context. */
  id?: string;
  spec: Spec;
  /** The container's init, host pid. */
  pid: number;
  /** The agent's descriptor of the listening start socket. */
  startFd: number;
  /** A file in the state directory where the engine writes why a workload failed to run. */
  errorFd: number;
  preserveFds: number;
  rootfs: RootfsContext;
  logger: Logger;
  /** Settles once the init is in the container's cgroup: the engine is charged from its start. */
  cgroupJoined: Promise<void>;
  /** linux.seccomp compiled, when the config has it. */
  compileSeccomp: () => Promise<{ program: Uint8Array; flags: number } | undefined>;
}

/** Runs the setup and the engine; resolves to what `create` records as state.handler. */
export async function createInEngine(opts: EngineCreate): Promise<JsonValue> {
  const { agent, spec } = opts;
  const sys = agent.sys;
  const proc = spec.process;
  if (!proc?.args?.length) throw new HakoError('config.json: process.args: is required');

  const rootfs = await mountRootfs(sys, spec, opts.rootfs);
  const seccomp = await opts.compileSeccomp();
  // The agent is idle once every mount is done: its descriptors can be counted.
  await sys.flush();
  // The container's files as its mounts show them, from the host: through the init's root.
  const cacheDir = defaultCacheDir();
  const timeoutS = handlerTimeout(spec);
  const module = opts.pluginPath ? undefined : checkModule({
    args: proc.args,
    env: proc.env ?? [],
    cwd: proc.cwd,
    cacheDir,
    readFile: (path) => readFileInRoot(`/proc/${opts.pid}/root${rootfs.rootfs}`, path),
  });
  // Filled here, as real root: the engine of a container with a user namespace runs as an
  // unprivileged host uid, which can read the cache but not write it.
  if (module?.kind === 'component' && !await isCached(module.bytes, cacheDir)) {
    await transpileInEngine(module.bytes, proc.args[0], cacheDir);
  }

  // The agent's control socket is the descriptor after the preserved ones (spawn.ts).
  const controlFd = 3 + opts.preserveFds;
  const [engineControl, engineStart, engineError] = freeDescriptors(opts.pid, controlFd + 1, 3);
  await sysStep('keep the start socket for the engine', sys.dup2(opts.startFd, engineStart));
  await sysStep('keep the error file for the engine', sys.dup2(opts.errorFd, engineError));
  await sysStep('keep the control socket for the engine', sys.dup2(controlFd, engineControl));
  await sys.flush();

  const plan: EnginePlan = {
    handler: opts.handler,
    pluginPath: opts.pluginPath,
    id: opts.id,
    spec,
    rootfs,
    startFd: engineStart,
    errorFd: engineError,
    cacheDir,
    lastCap: readLastCap(),
    seccomp: seccomp && !proc.noNewPrivileges ? base64(seccomp) : undefined,
  };
  const node = process.execPath;
  const argv = [node, '--no-warnings', enginePath(), String(engineControl)];
  const closeFrom = Math.max(engineControl, engineStart, engineError) + 1;
  const args = [node, nulList(argv), nulList([]), closeFrom, new Uint8Array(0), 0];
  await opts.cgroupJoined;
  const what = opts.pluginPath ? `the engine of handler "${opts.handler}"` : 'the wasm engine';
  const answering = agent.channel.request(OP_EXEC, args, `exec ${node} (${what})`);
  // Right behind the EXEC request, where the agent will not read it: the engine will.
  agent.channel.send(encodePlan(plan));
  opts.logger.debug(`container init ${opts.pid} execs the engine: ${argv.join(' ')}`);

  let answer: { ret: bigint; payload: Buffer };
  // The engine bounds the handler's asynchronous steps itself; this catches one that blocks
  // the engine's thread (the undo of create then kills it).
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HakoError(`handler "${opts.handler}": load, ` +
      `validate and prepare did not finish within ${timeoutS} s`)), timeoutS * 1000 + 5000);
  });
  answering.catch(() => undefined); // awaited in the race; this only keeps it "handled"
  try {
    answer = await Promise.race([answering, late]);
  } catch (err) {
    if (err instanceof HakoError) throw err;
    if (err instanceof SysError) throw new HakoError(`start ${what}: ${err.message}`);
    throw new HakoError(`${what} exited before it was ready${memoryHint(spec)}`);
  } finally {
    clearTimeout(timer);
  }
  const failure = answerFailure(answer.ret, answer.payload);
  if (failure !== undefined) throw new HakoError(failure);

  const exec: ExecPlan = {
    path: proc.args[0],
    argv: [...proc.args],
    env: proc.env ?? [],
    closeFrom: controlFd,
    seccomp: seccomp && proc.noNewPrivileges ? base64(seccomp) : undefined,
  };
  return { name: opts.handler, exec: exec as unknown as JsonValue };
}

/**
 * jco-transpile is an ES module, and the CLI may run from a start-up snapshot, where
 * `import()` is not available: the transpilation runs in a Node process of its own, the
 * engine's entry in its transpile mode, with the component on stdin.
 */
async function transpileInEngine(bytes: Uint8Array, file: string, cacheDir: string) {
  const child = spawn(process.execPath, ['--no-warnings', enginePath(), TRANSPILE_FLAG,
    cacheDir, file], { stdio: ['pipe', 'ignore', 'pipe'], env: {} });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => { stderr += text; });
  child.stdin.end(bytes);
  const status = await new Promise<number>((done) => {
    child.on('error', () => done(127));
    child.on('close', (code) => done(code ?? 1));
  });
  if (status !== 0) {
    const line = stderr.trim().split('\n').pop();
    throw new HakoError(line || `${file}: transpiling the component failed (status ${status})`);
  }
}

/** The `count` lowest descriptor numbers from `from` up that `pid` does not use. */
export function freeDescriptors(pid: number, from: number, count: number): number[] {
  const used = new Set(readdirSync(`/proc/${pid}/fd`).map(Number));
  const free: number[] = [];
  for (let fd = from; free.length < count; fd++) if (!used.has(fd)) free.push(fd);
  return free;
}

/** The engine is a Node process in the container's memory cgroup: say so when it is small. */
function memoryHint(spec: Spec): string {
  const limit = spec.linux?.resources?.memory?.limit;
  if (limit === undefined || limit < 0 || limit >= ENGINE_MEMORY_HINT) return '';
  return ` (linux.resources.memory.limit is ${limit} bytes; the Node engine alone takes ` +
    'about 12 MiB of it for a core module, 26 MiB for a component)';
}

/**
 * Below this limit an engine that died early was most likely killed by it: the engine's own
 * peak is about 12 MiB for a core module and 26 MiB for a component, when Node's files are
 * already in the page cache (docs/wasm.md).
 */
const ENGINE_MEMORY_HINT = 32 << 20;

function readLastCap(): number {
  return Number.parseInt(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'), 10);
}

function base64(seccomp: { program: Uint8Array; flags: number }) {
  return { program: Buffer.from(seccomp.program).toString('base64'), flags: seccomp.flags };
}
