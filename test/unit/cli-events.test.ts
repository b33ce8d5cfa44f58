import { afterEach, describe, expect, it } from 'vitest';

import { parseGoDuration } from '../../src/core/lifecycle/duration.js';
import type { CgroupStats } from '../../src/core/cgroups/index.js';
import { formatEvent, oomKills, streamEvents } from '../../src/core/lifecycle/events.js';
import { type Container, fakeContainer, memoryLogger, stop } from './cli-fixture.js';

describe('parseGoDuration (time.ParseDuration)', () => {
  it('reads every unit Go knows, in nanoseconds', () => {
    expect(parseGoDuration('5s')).toBe(5e9);
    expect(parseGoDuration('250ms')).toBe(250e6);
    expect(parseGoDuration('10us')).toBe(10e3);
    expect(parseGoDuration('10µs')).toBe(10e3);
    expect(parseGoDuration('10μs')).toBe(10e3);
    expect(parseGoDuration('7ns')).toBe(7);
    expect(parseGoDuration('2m')).toBe(120e9);
    expect(parseGoDuration('1h')).toBe(3600e9);
  });

  it('sums sequences, fractions and signs', () => {
    expect(parseGoDuration('1m30s')).toBe(90e9);
    expect(parseGoDuration('1h2m3s4ms')).toBe(3723.004e9);
    expect(parseGoDuration('1.5h')).toBe(5400e9);
    expect(parseGoDuration('.5s')).toBe(0.5e9);
    expect(parseGoDuration('1.s')).toBe(1e9);
    expect(parseGoDuration('-2s')).toBe(-2e9);
    expect(parseGoDuration('+2s')).toBe(2e9);
    expect(parseGoDuration('0')).toBe(0);
    expect(parseGoDuration('-0')).toBe(0);
  });

  it('fails with Go\'s messages', () => {
    expect(() => parseGoDuration('5')).toThrow('time: missing unit in duration "5"');
    expect(() => parseGoDuration('')).toThrow('time: invalid duration ""');
    expect(() => parseGoDuration('s')).toThrow('time: invalid duration "s"');
    expect(() => parseGoDuration('.s')).toThrow('time: invalid duration ".s"');
    expect(() => parseGoDuration('5x')).toThrow('time: unknown unit "x" in duration "5x"');
    expect(() => parseGoDuration('1d')).toThrow(/unknown unit "d"/);
    expect(() => parseGoDuration('1s2')).toThrow(/missing unit/);
    expect(() => parseGoDuration('3000000h')).toThrow(/invalid duration/);
  });
});

describe('formatEvent', () => {
  it('writes one JSON line per event, without data for oom, as runc does', () => {
    expect(formatEvent({ type: 'oom', id: 'c1' })).toBe('{"type":"oom","id":"c1"}\n');
    const line = formatEvent({ type: 'stats', id: 'c1', data: undefined });
    expect(line).toBe('{"type":"stats","id":"c1"}\n');
  });
});

describe('formatEvent numbers', () => {
  it('prints uint64 counters with every digit, as runc does', () => {
    const data = { memory: { usage: { limit: 9223372036854771712, usage: 4096 } },
      pids: { current: 2, limit: 2 ** 64 - 1 } } as unknown as CgroupStats;
    expect(formatEvent({ type: 'stats', id: 'c1', data })).toBe('{"type":"stats","id":"c1",' +
      '"data":{"memory":{"usage":{"limit":9223372036854771712,"usage":4096}},' +
      '"pids":{"current":2,"limit":18446744073709551615}}}\n');
  });
});

describe('streamEvents (fake cgroup)', () => {
  let c: Container | undefined;
  afterEach(() => {
    c?.cleanup();
    c = undefined;
  });

  it('--stats prints one stats event from the cgroup files', async () => {
    c = fakeContainer();
    c.fake.write('memory/test/c1/memory.usage_in_bytes', '123456\n');
    c.fake.write('pids/test/c1/pids.current', '3\n');
    const lines: string[] = [];
    await streamEvents(c.root, c.id, {
      intervalMs: 5000, statsOnly: true, write: (l) => lines.push(l), logger: memoryLogger().logger,
    });
    expect(lines).toHaveLength(1);
    const event = JSON.parse(lines[0]);
    expect(event.type).toBe('stats');
    expect(event.id).toBe('c1');
    expect(event.data.memory.usage.usage).toBe(123456);
    expect(event.data.pids.current).toBe(3);
    expect(Object.keys(event.data)).toEqual([
      'cpu', 'cpuset', 'memory', 'pids', 'blkio', 'hugetlb', 'intel_rdt', 'network_interfaces',
    ]);
  });

  it('streams stats every interval, reports a new OOM kill, and ends when the init dies',
    async () => {
      c = fakeContainer();
      const file = 'memory/test/c1/memory.oom_control';
      c.fake.write(file, 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n');
      const lines: string[] = [];
      const done = streamEvents(c.root, c.id, {
        intervalMs: 40, statsOnly: false, write: (l) => lines.push(l),
        logger: memoryLogger().logger,
      });

      await waitFor(() => lines.length >= 2);
      c.fake.write(file, 'oom_kill_disable 0\nunder_oom 0\noom_kill 3\n');
      await waitFor(() => lines.some((l) => l.includes('"oom"')));
      await stop(c.init);
      await done;

      const types = lines.map((l) => JSON.parse(l).type);
      expect(types.filter((t) => t === 'oom')).toHaveLength(1);
      expect(types.filter((t) => t === 'stats').length).toBeGreaterThanOrEqual(2);
      expect(lines).toContain('{"type":"oom","id":"c1"}\n');
    });

  it('refuses a stopped container and a non-positive interval', async () => {
    c = fakeContainer();
    const opts = {
      intervalMs: 1000, statsOnly: true, write: () => undefined, logger: memoryLogger().logger,
    };
    await expect(streamEvents(c.root, c.id, { ...opts, intervalMs: 0 }))
      .rejects.toThrow('duration interval must be greater than 0');
    await stop(c.init);
    await expect(streamEvents(c.root, c.id, opts))
      .rejects.toThrow('container with id c1 is not running');
  });

  it('reads the OOM kill counter of v1 and v2', () => {
    c = fakeContainer();
    expect(oomKills(c.cgroup)).toBe(0);
    c.fake.write('memory/test/c1/memory.oom_control', 'under_oom 0\noom_kill 4\n');
    expect(oomKills(c.cgroup)).toBe(4);
    c.cleanup();

    c = fakeContainer({ v2: true });
    c.fake.write('test/c1/memory.events', 'low 0\nhigh 0\nmax 9\noom 2\noom_kill 1\n');
    expect(oomKills(c.cgroup)).toBe(1);
  });
});

async function waitFor(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('timed out');
}
