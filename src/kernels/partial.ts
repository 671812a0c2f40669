import type { MetricPartial, WindowPartial } from './types.ts';

/** An empty partial for a (slot, window): count 0, min +Infinity, max -Infinity. */
export function emptyPartial(slot: number, windowStartMs: number): WindowPartial {
  const metrics: MetricPartial[] = [];
  for (let m = 0; m < 5; m++) metrics.push({ n: 0, mean: 0, m2: 0, min: Infinity, max: -Infinity });
  return { slot, windowStartMs, count: 0, firstId: Infinity, lastId: -Infinity, anomalyCount: 0, maxScore: 0, metrics };
}

/**
 * Merges two partials of the same (slot, window) — say a window split over two batches — with
 * the parallel Welford combination of Chan et al.: n = na + nb, δ = mean_b − mean_a,
 * mean = mean_a + δ·nb/n, m2 = m2_a + m2_b + δ²·na·nb/n. Pure; throws RangeError when the keys differ.
 */
export function mergePartials(a: WindowPartial, b: WindowPartial): WindowPartial {
  if (a.slot !== b.slot || a.windowStartMs !== b.windowStartMs) {
    throw new RangeError(`mergePartials: keys differ (slot ${a.slot} window ${a.windowStartMs} vs slot ${b.slot} window ${b.windowStartMs})`);
  }
  const metrics: MetricPartial[] = [];
  for (let m = 0; m < a.metrics.length; m++) metrics.push(mergeMetric(a.metrics[m], b.metrics[m]));
  return {
    slot: a.slot,
    windowStartMs: a.windowStartMs,
    count: a.count + b.count,
    firstId: Math.min(a.firstId, b.firstId),
    lastId: Math.max(a.lastId, b.lastId),
    anomalyCount: a.anomalyCount + b.anomalyCount,
    maxScore: Math.max(a.maxScore, b.maxScore),
    metrics,
  };
}

function mergeMetric(a: MetricPartial, b: MetricPartial): MetricPartial {
  if (b.n === 0) return { ...a };
  if (a.n === 0) return { ...b };
  const n = a.n + b.n;
  const delta = b.mean - a.mean;
  return {
    n,
    mean: a.mean + (delta * b.n) / n,
    m2: a.m2 + b.m2 + ((delta * delta * a.n) * b.n) / n,
    min: Math.min(a.min, b.min),
    max: Math.max(a.max, b.max),
  };
}

/** Population standard deviation of a metric partial (NaN when empty). */
export function partialStddev(p: MetricPartial): number {
  return p.n === 0 ? NaN : Math.sqrt(p.m2 / p.n);
}
