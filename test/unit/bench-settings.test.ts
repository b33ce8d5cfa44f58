/** The benchmark's settings from the environment (bench/lib/settings.mjs). */
import { describe, expect, it } from 'vitest';

// @ts-expect-error: a plain JavaScript module of the benchmark, without type declarations
import { MEASURE_LETTERS, readSettings } from '../../bench/lib/settings.mjs';

const REPO = '/checkout';

describe('bench settings', () => {
  it('defaults to every measurement, 30 rounds and no baseline', () => {
    const config = readSettings({}, REPO);
    expect(config.only).toEqual(MEASURE_LETTERS);
    expect(config).toMatchObject({
      rounds: 30, execRounds: 30, wasmRounds: 20, warmup: 2, concurrency: [20, 50],
      runtimes: ['runc', 'crun', 'hako'], hako: '/checkout/bin/hako', hakoCopy: true,
      baseline: undefined, out: '/checkout/bench/results',
    });
  });

  it('runs a subset: BENCH_ONLY picks measurements, BENCH_ROUNDS also sets exec rounds', () => {
    const config = readSettings({ BENCH_ONLY: 'a, b', BENCH_ROUNDS: '10' }, REPO);
    expect(config.only).toEqual(['a', 'b']);
    expect(config.rounds).toBe(10);
    expect(config.execRounds).toBe(10);
    expect(config.wasmRounds).toBe(20);
  });

  it('resolves BENCH_HAKO_BASELINE against the checkout, and keeps an absolute path', () => {
    expect(readSettings({ BENCH_HAKO_BASELINE: '../old/bin/hako' }, REPO).baseline)
      .toBe('/old/bin/hako');
    expect(readSettings({ BENCH_HAKO_BASELINE: '/tmp/h/bin/hako' }, REPO).baseline)
      .toBe('/tmp/h/bin/hako');
    expect(readSettings({ BENCH_HAKO_BASELINE: ' ' }, REPO).baseline).toBeUndefined();
  });

  it('refuses a measurement or runtime it does not know, naming the variable', () => {
    expect(() => readSettings({ BENCH_ONLY: 'a,x' }, REPO))
      .toThrow('BENCH_ONLY: unknown x (expected some of a,b,c,d,e,f,g)');
    expect(() => readSettings({ BENCH_RUNTIMES: 'runc,youki' }, REPO))
      .toThrow('BENCH_RUNTIMES: unknown youki');
  });

  it('refuses counts that are not whole numbers in range instead of using the default', () => {
    for (const value of ['0', 'ten', '1.5', '-3']) {
      expect(() => readSettings({ BENCH_ROUNDS: value }, REPO))
        .toThrow(`BENCH_ROUNDS: expected an integer ≥ 1, got ${JSON.stringify(value)}`);
    }
    expect(readSettings({ BENCH_WARMUP: '0' }, REPO).warmup).toBe(0);
    expect(() => readSettings({ BENCH_CONCURRENCY: '5,abc' }, REPO))
      .toThrow('BENCH_CONCURRENCY: expected an integer ≥ 1, got "abc"');
  });
});
