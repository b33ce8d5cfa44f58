/**
 * What the sandbox costs a wasm workload: start-to-exit time of `hako run` against the same
 * module run by node:wasi in a plain Node process, and the container's peak memory (the
 * engine is charged to the container's memory cgroup). The numbers are printed for the
 * record; the assertions only catch a regression by an order of magnitude.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { HAKO } from './helpers.js';
import {
  statusField, wasmBundle, wasmSuite,
} from './wasm-helpers.js';

const suite = wasmSuite();

const RUNS = 7;
// Every Node start parses that CA bundle when it is set (platform-notes); hako's launcher
// unsets it, so the baseline goes without it too.
const env = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => key !== 'NODE_EXTRA_CA_CERTS'),
);

/** The same guest, argv and preopen as the engine gives it, without any container. */
const PLAIN_RUNNER = `
import { readFileSync } from 'node:fs';
import { WASI } from 'node:wasi';
const [file, ...args] = process.argv.slice(2);
const wasi = new WASI({ version: 'preview1', args: [file, ...args], env: { HELLO: 'world' },
  preopens: { '/': '/' }, returnOnExit: true });
const module = await WebAssembly.compile(readFileSync(file));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
process.exitCode = wasi.start(instance);
`;

function medianMs(run: () => void): number {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    run();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

describe('cost of the sandbox for a wasm workload', () => {
  it('times start-to-exit and measures the peak memory', () => {
    const runner = join(suite.scratch.dir, 'plain-runner.mjs');
    writeFileSync(runner, PLAIN_RUNNER);
    const plain = medianMs(() => {
      const r = spawnSync(process.execPath, ['--no-warnings', runner, suite.fx.c, 'exit=0'], { env });
      expect(r.status).toBe(0);
    });

    const bundle = wasmBundle(suite.scratch, { 'hello.wasm': suite.fx.c }, ['/hello.wasm', 'exit=0']);
    const container = medianMs(() => {
      const r = spawnSync(HAKO, ['--root', suite.scratch.root, 'run', '--bundle', bundle,
        suite.scratch.id('perf')], { env });
      expect(r.status, String(r.stderr)).toBe(0);
    });

    // The component of the same program, its transpiled form cached by a first run.
    const cacheEnv = { ...env, HAKO_WASM_CACHE: join(suite.scratch.dir, 'cache') };
    const componentBundle = wasmBundle(suite.scratch, { 'hello.wasm': suite.fx.component },
      ['/hello.wasm', 'exit=0']);
    const runComponent = (id: string, extra: string[] = []) => {
      const r = spawnSync(HAKO, ['--root', suite.scratch.root, 'run', ...extra, '--bundle',
        componentBundle, id], { env: cacheEnv });
      expect(r.status, String(r.stderr)).toBe(0);
    };
    runComponent(suite.scratch.id('warm'));
    const component = medianMs(() => runComponent(suite.scratch.id('perf')));
    const componentId = suite.scratch.id('mem');
    runComponent(componentId, ['--keep']);
    const componentPeak = peakOf(componentId);
    expect(suite.scratch.hako(['delete', componentId]).status).toBe(0);

    const linuxBundle = suite.scratch.bundle((spec) => { spec.process!.args = ['true']; });
    const linux = medianMs(() => {
      const r = spawnSync(HAKO, ['--root', suite.scratch.root, 'run', '--bundle', linuxBundle,
        suite.scratch.id('perf')], { env });
      expect(r.status, String(r.stderr)).toBe(0);
    });

    // Peak memory of the container's cgroup, kept after exit to be read.
    const id = suite.scratch.id('mem');
    const kept = spawnSync(HAKO, ['--root', suite.scratch.root, 'run', '--keep', '--bundle', bundle,
      id], { env });
    expect(kept.status).toBe(0);
    const peak = peakOf(id);
    expect(suite.scratch.hako(['delete', id]).status).toBe(0);

    // The waiting container: the engine's resident size before `start`.
    const waiting = suite.scratch.id('rss');
    // Not a pipe: the waiting container holds its stdio, and spawnSync would wait for it.
    const created = spawnSync(HAKO, ['--root', suite.scratch.root, 'create', '--bundle', bundle,
      waiting], { env, stdio: 'ignore' });
    expect(created.status).toBe(0);
    const pid = (JSON.parse(suite.scratch.hako(['state', waiting]).stdout) as { pid: number }).pid;
    const rss = statusField(pid, 'VmRSS');
    expect(suite.scratch.hako(['delete', '--force', waiting]).status).toBe(0);

    const mib = (bytes: number) => `${(bytes / (1 << 20)).toFixed(1)} MiB`;
    console.log([
      `median of ${RUNS}, NODE_EXTRA_CA_CERTS unset:`,
      `  node:wasi, no container:       ${plain.toFixed(0)} ms`,
      `  hako run, wasm (start to exit): ${container.toFixed(0)} ms`,
      `  hako run, same as component:    ${component.toFixed(0)} ms (transpiled form cached)`,
      `  hako run, busybox true:         ${linux.toFixed(0)} ms`,
      `  peak memory (memory.max_usage_in_bytes): module ${mib(peak)}, ` +
        `component ${mib(componentPeak)}`,
      `  waiting engine (created, before start) VmRSS: ${rss}`,
    ].join('\n'));

    expect(container).toBeLessThan(plain + 2000);
    expect(peak).toBeLessThan(128 << 20);
  });
});

function peakOf(id: string): number {
  return Number(readFileSync(`/sys/fs/cgroup/memory/hako/${id}/memory.max_usage_in_bytes`,
    'utf8'));
}
