// The benchmark's settings, read from the environment. A mistyped value stops the run before
// anything is measured: a silent fallback would spend minutes measuring what was not asked for,
// and a BENCH_ONLY naming no known measurement would replace latest.md with an empty report.
import { resolve } from 'node:path';

/** The measurements, by the letter BENCH_ONLY selects them with. */
export const MEASURE_LETTERS = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];

const RUNTIME_NAMES = ['runc', 'crun', 'hako'];

/**
 * Returns the settings from `env`. Paths are resolved against `repo` (npm runs scripts from the
 * package's directory, so they read as relative to the checkout). Throws one line naming the
 * variable and what is wrong with it.
 */
export function readSettings(env, repo) {
  const rounds = positive(env, 'BENCH_ROUNDS', 30);
  const baseline = env.BENCH_HAKO_BASELINE?.trim();
  return {
    rounds,
    execRounds: positive(env, 'BENCH_EXEC_ROUNDS', rounds),
    wasmRounds: positive(env, 'BENCH_WASM_ROUNDS', 20),
    warmup: integer(env, 'BENCH_WARMUP', 2, 0),
    concurrency: list(env, 'BENCH_CONCURRENCY', '20,50').map((n) => count('BENCH_CONCURRENCY', n)),
    concurrentReps: positive(env, 'BENCH_CONCURRENT_REPS', 3),
    runtimes: known(env, 'BENCH_RUNTIMES', RUNTIME_NAMES),
    only: known(env, 'BENCH_ONLY', MEASURE_LETTERS),
    hako: resolve(repo, env.BENCH_HAKO ?? 'bin/hako'),
    hakoCopy: env.BENCH_HAKO_COPY !== '0',
    baseline: baseline ? resolve(repo, baseline) : undefined,
    out: resolve(repo, env.BENCH_OUT ?? 'bench/results'),
  };
}

function list(env, name, fallback) {
  const text = env[name]?.trim() ? env[name] : fallback;
  return text.split(',').map((s) => s.trim()).filter(Boolean);
}

/** A list whose entries must all be among `allowed`; unset or empty means all of them. */
function known(env, name, allowed) {
  const values = list(env, name, allowed.join(','));
  const wrong = values.filter((v) => !allowed.includes(v));
  if (wrong.length > 0) {
    throw new Error(`${name}: unknown ${wrong.join(', ')} (expected some of ${allowed.join(',')})`);
  }
  return values;
}

function positive(env, name, fallback) {
  return integer(env, name, fallback, 1);
}

function integer(env, name, fallback, min) {
  const text = env[name]?.trim();
  if (!text) return fallback;
  return count(name, text, min);
}

function count(name, text, min = 1) {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min) {
    throw new Error(`${name}: expected an integer ≥ ${min}, got ${JSON.stringify(text)}`);
  }
  return value;
}
