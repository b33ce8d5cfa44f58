// Starting runtime invocations and timing them, and reading processes from /proc.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

let sequence = 0;
let stopped = false;
const inFlight = new Set();

/**
 * After an interrupt: no new measurement invocation starts (they fail at once), and the promise
 * resolves when those already running have exited, so a cleanup cannot miss a container that
 * was being created while it ran. Invocations with `cleanup: true` still start.
 */
export function stopStarting() {
  stopped = true;
  return Promise.allSettled([...inFlight]);
}

/**
 * Runs argv to its exit and returns { code, signal, ms, stdout, stderr }. stdout and stderr go to
 * files, not pipes: a `create` leaves the container's init holding them, and a pipe would then
 * never reach end of file. `ms` covers spawn to exit only.
 */
export function invoke(argv, { env, scratch, cleanup = false }) {
  if (stopped && !cleanup) {
    return Promise.resolve({ code: 130, signal: null, ms: 0, stdout: '', stderr: 'interrupted' });
  }
  const base = join(scratch, `out-${process.pid}-${sequence++}`);
  const outFd = openSync(`${base}.out`, 'w');
  const errFd = openSync(`${base}.err`, 'w');
  const done = new Promise((resolve) => {
    const start = process.hrtime.bigint();
    const child = spawn(argv[0], argv.slice(1), { env, stdio: ['ignore', outFd, errFd] });
    const finish = (code, signal, spawnError) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      closeSync(outFd);
      closeSync(errFd);
      const stdout = readFileSync(`${base}.out`, 'utf8');
      const stderr = spawnError ? String(spawnError.message) : readFileSync(`${base}.err`, 'utf8');
      rmSync(`${base}.out`, { force: true });
      rmSync(`${base}.err`, { force: true });
      resolve({ code, signal, ms, stdout, stderr });
    };
    child.once('error', (error) => finish(127, null, error));
    child.once('exit', (code, signal) => finish(code, signal, null));
  });
  inFlight.add(done);
  return done.finally(() => inFlight.delete(done));
}

/** Like invoke, but throws with the command's own last error line when it does not exit 0. */
export async function must(argv, options, what) {
  const result = await invoke(argv, options);
  if (result.code !== 0) throw new Error(`${what}: ${describeFailure(result)}`);
  return result;
}

/** One line for a failed invocation: its last meaningful stderr line, or how it ended. */
export function describeFailure(result) {
  const lines = result.stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  const last = lines.at(-1);
  const how = result.signal ? `killed by ${result.signal}` : `exit ${result.code}`;
  return last ? `${cleanLogLine(last)} (${how})` : how;
}

// runc and crun write logrus-style lines (time="..." level=error msg="..."); keep the message.
function cleanLogLine(line) {
  const msg = /msg="((?:[^"\\]|\\.)*)"/.exec(line);
  const text = msg ? msg[1].replace(/\\"/g, '"') : line;
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}

/** Every pid alive now. */
export function listPids() {
  return new Set(readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number));
}

/** { ppid, rssKb, name } of a process, or undefined once it is gone. */
export function readStatus(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const field = (key) => new RegExp(`^${key}:\\s*(.*)$`, 'm').exec(text)?.[1] ?? '';
  // Kernel threads and zombies have no VmRSS line: they hold no user memory.
  return {
    ppid: Number(field('PPid')),
    rssKb: Number.parseInt(field('VmRSS'), 10) || 0,
    name: field('Name'),
  };
}

/**
 * The processes that belong to a created container: `pid` itself, its ancestors up to (not
 * including) pid 1 or this benchmark, and its descendants, keeping only those that appeared
 * since `before` (so a shell or a subreaper that was already there is not counted).
 */
export function containerProcesses(pid, before) {
  const all = new Map();
  for (const p of listPids()) {
    const status = readStatus(p);
    if (status) all.set(p, status);
  }
  const chosen = new Set();
  for (let p = pid; p > 1 && p !== process.pid && all.has(p); p = all.get(p).ppid) chosen.add(p);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [p, status] of all) {
      if (!chosen.has(p) && chosen.has(status.ppid)) {
        chosen.add(p);
        grew = true;
      }
    }
  }
  return [...chosen]
    .filter((p) => !before.has(p) || p === pid)
    .map((p) => ({ pid: p, ...all.get(p) }));
}
