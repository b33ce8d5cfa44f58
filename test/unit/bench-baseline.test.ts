/**
 * A baseline hako build in the benchmark (BENCH_HAKO_BASELINE): its label, its column and the
 * hako / baseline ratio in the rows, the report, the terminal table and the chart.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

// @ts-expect-error: plain JavaScript modules of the benchmark, without type declarations
import { baselineLabel, describeBaseline } from '../../bench/lib/baseline.mjs';
// @ts-expect-error: as above
import { svgChart } from '../../bench/lib/chart.mjs';
// @ts-expect-error: as above
import { baselineNotes, markdownTable, textTable } from '../../bench/lib/report.mjs';
// @ts-expect-error: as above
import { buildRows } from '../../bench/lib/rows.mjs';

interface Row {
  key: string; variant: string; baselineRatio?: number; baselineText?: string;
  cells: Record<string, { text: string }>;
}

const dir = mkdtempSync(join(tmpdir(), 'hako-bench-baseline-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LABEL = 'hako (baseline abc1234)';
const VARIANTS = [{ name: 'unset' }];

function runtimes(withBaseline: boolean) {
  const list: object[] = [{ name: 'runc' }, { name: 'crun' }, { name: 'hako' }];
  if (withBaseline) list.push({ name: 'baseline', label: LABEL });
  return list;
}

function cell(samples: number[]) {
  return { samples, fails: 0 };
}

function rows(withBaseline: boolean, results: object): Row[] {
  return buildRows({ results, variants: VARIANTS, runtimes: runtimes(withBaseline),
    concurrency: [20] });
}

const RESULTS = {
  lifecycle: { unset: {
    runc: cell([50, 60, 70]), crun: cell([40]), hako: cell([100, 110, 120]),
    baseline: cell([200, 200, 210]),
  } },
  floor: { unset: { runc: { floorMb: 4 }, hako: { floorMb: 1 }, baseline: { floorMb: 2 } } },
  wasm: { unset: { 'node:wasi': cell([50]), hako: cell([150]) } },
};

describe('bench baseline', () => {
  it('labels the column with the commit of the checkout the launcher is in', () => {
    expect(baselineLabel(undefined)).toBe('hako (baseline)');
    expect(baselineLabel({ commit: 'abc1234', modified: false })).toBe(LABEL);
    expect(baselineLabel({ commit: 'abc1234', modified: true }))
      .toBe('hako (baseline abc1234, modified)');
  });

  it('reads the commit with git, following a symlink to the launcher', () => {
    const repo = join(dir, 'old');
    mkdirSync(join(repo, 'bin'), { recursive: true });
    writeFileSync(join(repo, 'bin', 'hako'), '#!/bin/sh\n');
    const git = (...args: string[]) => execFileSync('git',
      ['-C', repo, '-c', 'user.name=bench', '-c', 'user.email=bench@example.org', ...args],
      { encoding: 'utf8' }).trim();
    git('init', '-q');
    git('add', '.');
    git('commit', '-q', '-m', 'old');
    const commit = git('rev-parse', '--short', 'HEAD');
    execFileSync('ln', ['-s', join(repo, 'bin', 'hako'), join(dir, 'link')]);

    expect(describeBaseline(join(dir, 'link'))).toMatchObject({
      bin: join(repo, 'bin', 'hako'), label: `hako (baseline ${commit})`,
    });
    writeFileSync(join(repo, 'bin', 'hako'), '#!/bin/sh\nexit 0\n');
    expect(describeBaseline(join(repo, 'bin', 'hako')).label)
      .toBe(`hako (baseline ${commit}, modified)`);
  });

  it('refuses a baseline launcher that does not exist', () => {
    expect(() => describeBaseline(join(dir, 'nowhere', 'bin', 'hako')))
      .toThrow(`BENCH_HAKO_BASELINE: ${join(dir, 'nowhere', 'bin', 'hako')}: no such file`);
  });

  it('gives hako / baseline from the medians of timings and from memory values', () => {
    const [a, , , d, , , g] = rows(true, RESULTS);
    expect(a.key).toBe('a');
    expect(a.baselineRatio).toBeCloseTo(110 / 200);
    expect(a.baselineText).toBe('0.55x');
    expect(a.cells.baseline.text).toBe('200 ms (200 ms–210 ms, n=3)');
    expect(d.key).toBe('d');
    expect(d.baselineText).toBe('0.50x');
    // The baseline is a hako: no wasm result is "not measured", never "no wasm handler".
    expect(g.key).toBe('g');
    expect(g.cells.baseline.text).toBe('not measured');
    expect(g.baselineText).toBe('—');
  });

  it('adds a column and a ratio to the tables only when the run has a baseline', () => {
    const without = markdownTable(rows(false, RESULTS));
    expect(without.split('\n')[0]).toBe(
      '| measurement | NODE_EXTRA_CA_CERTS | runc | crun | hako | hako / runc | target |');
    expect(rows(false, RESULTS)[0].baselineText).toBeUndefined();
    expect(baselineNotes(rows(false, RESULTS))).toEqual([]);

    const table: string[] = markdownTable(rows(true, RESULTS)).split('\n');
    expect(table[0]).toBe(`| measurement | NODE_EXTRA_CA_CERTS | runc | crun | hako | ${LABEL}` +
      ' | hako / runc | hako / baseline | target |');
    const lifecycle = table.find((line) => line.startsWith('| a.'))?.split(' | ');
    expect(lifecycle?.slice(5, 8)).toEqual(['200 ms (200 ms–210 ms, n=3)', '1.83x ✗', '0.55x']);

    const text = textTable(rows(true, RESULTS));
    expect(text).toContain(`    ${LABEL} 200 ms (200 ms–210 ms, n=3)`);
    expect(text).toMatch(/\n {4}hako \/ baseline +0\.55x\n/);
  });

  it('writes the differences to the baseline of the timing rows', () => {
    const notes = baselineNotes(rows(true, RESULTS));
    expect(notes[0]).toBe('## hako against the baseline');
    expect(notes).toContain(
      '- a. create + start + delete `true`, CA unset: −90.0 ms (−100 ms), 0.55x');
    // Rows where one side has no samples (g here) are left out, memory rows too.
    expect(notes.filter((line: string) => line.startsWith('- '))).toHaveLength(1);
  });

  it('draws the baseline as its own bars, named in the legend', () => {
    const svg = svgChart(rows(true, RESULTS), 'title');
    expect(svg).toContain(`>${LABEL}</text>`);
    expect(svg).toContain('<title>baseline: 200 ms</title>');
    expect(svgChart(rows(false, RESULTS), 'title')).not.toContain('baseline');
  });
});
