/**
 * `events`: runc's stream of JSON lines about a container. `{"type":"stats",...}` carries
 * the cgroup statistics every interval (or once with --stats); `{"type":"oom",...}` says
 * that the kernel's OOM killer struck in the container's memory cgroup. The stream ends when
 * the container stops or is deleted.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { type CgroupHandle, type CgroupStats, stats } from '../cgroups/index.js';
import { readKeyed, UNLIMITED } from '../cgroups/stats-types.js';
import { HakoError } from '../errors.js';
import { formatGoJson, type Logger } from '../log.js';
import { containerStatus } from '../state/status.js';
import { type ContainerState, StateStore } from '../state/store.js';
import { cgroupOf } from './common.js';

/** One line of the stream; `data` is absent on an oom event, as runc omits it. */
export interface ContainerEvent {
  type: 'stats' | 'oom';
  id: string;
  data?: CgroupStats;
}

export interface EventsOptions {
  /** Time between stats events, in milliseconds (> 0). */
  intervalMs: number;
  /** Print one stats event and return. */
  statsOnly: boolean;
  write: (line: string) => void;
  logger: Logger;
}

/** How often the OOM counter and the container's liveness are checked, at most. */
const POLL_MS = 1000;

export function formatEvent(event: ContainerEvent): string {
  const json = formatGoJson(JSON.parse(JSON.stringify(event, exactLargeIntegers)));
  return `${json.replace(/"\\u0000u64:(\d+)"/g, '$1')}\n`;
}

/**
 * Cgroup counters are uint64. JSON.stringify prints a number above 2^53 in its shortest form
 * (v1's unlimited 9223372036854771712 as 9223372036854772000), where runc prints every digit;
 * such a number travels as a marked string and is unquoted at the end. The float nearest the
 * largest uint64 (UNLIMITED, "max" in v2) is printed as that uint64.
 */
function exactLargeIntegers(_key: string, value: unknown): unknown {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 2 ** 53) return value;
  const exact = value >= UNLIMITED ? 2n ** 64n - 1n : BigInt(value);
  return `\u0000u64:${exact}`;
}

export async function streamEvents(root: string, id: string, opts: EventsOptions): Promise<void> {
  if (!(opts.intervalMs > 0)) throw new HakoError('duration interval must be greater than 0');
  const store = new StateStore(root);
  const state = store.read(id);
  const cgroup = cgroupOf(state);
  if (stopped(store, state)) throw new HakoError(`container with id ${id} is not running`);

  if (opts.statsOnly) {
    opts.write(formatEvent({ type: 'stats', id, data: stats(cgroup) }));
    return;
  }

  let ooms = oomKills(cgroup);
  let nextStats = Date.now() + opts.intervalMs;
  for (;;) {
    await sleep(Math.max(1, Math.min(POLL_MS, nextStats - Date.now())));

    // The OOM counter is read before liveness, so an init killed by the OOM killer still
    // gets its oom event before the stream ends.
    const now = oomKills(cgroup);
    if (now > ooms) opts.write(formatEvent({ type: 'oom', id }));
    ooms = now;

    const current = store.tryRead(id);
    if (current === null || stopped(store, current)) return;

    if (Date.now() >= nextStats) {
      nextStats += opts.intervalMs;
      if (nextStats <= Date.now()) nextStats = Date.now() + opts.intervalMs;
      try {
        opts.write(formatEvent({ type: 'stats', id, data: stats(cgroup) }));
      } catch (err) {
        // runc logs a failed collection and tries again at the next tick.
        if (!(err instanceof HakoError)) throw err;
        opts.logger.error(`events: stats: ${err.message}`);
      }
    }
  }
}

/**
 * How many processes the OOM killer has killed in the cgroup: `oom_kill` of memory.events
 * (v2) or of memory.oom_control (v1, kernel 4.13 and later). 0 when the kernel has neither.
 */
export function oomKills(cgroup: CgroupHandle): number {
  const v2 = cgroup.kind === 'v2';
  const dir = v2 ? cgroup.v2 : cgroup.v1.memory;
  return readKeyed(dir, v2 ? 'memory.events' : 'memory.oom_control').get('oom_kill') ?? 0;
}

function stopped(store: StateStore, state: ContainerState): boolean {
  return containerStatus(state, { startSocket: store.startSocketPath(state.id) }) === 'stopped';
}
