// Summaries of timing samples.

/** { n, median, min, max, mean } of a list of milliseconds, or undefined when it is empty. */
export function summarize(samples) {
  if (samples.length === 0) return undefined;
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  const mean = sorted.reduce((sum, x) => sum + x, 0) / sorted.length;
  return { n: sorted.length, median, min: sorted[0], max: sorted.at(-1), mean };
}

/** Rotates a list left by `by`: round i of an interleaved loop starts with a different entry. */
export function rotate(list, by) {
  if (list.length === 0) return [];
  const k = ((by % list.length) + list.length) % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}
