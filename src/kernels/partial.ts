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

/** f64 per packed partial: slot, windowStartMs, count, firstId, lastId, anomalyCount, maxScore, then n, mean, m2, min, max per metric. */
export const PACKED_PARTIAL_F64 = 7 + 5 * 5;

/** Packs partials into one Float64Array (cheap to transfer between threads, unlike an object graph). */
export function packPartials(parts: readonly WindowPartial[]): Float64Array {
  const out = new Float64Array(parts.length * PACKED_PARTIAL_F64);
  let o = 0;
  for (const p of parts) {
    out[o++] = p.slot;
    out[o++] = p.windowStartMs;
    out[o++] = p.count;
    out[o++] = p.firstId;
    out[o++] = p.lastId;
    out[o++] = p.anomalyCount;
    out[o++] = p.maxScore;
    for (const m of p.metrics) {
      out[o++] = m.n;
      out[o++] = m.mean;
      out[o++] = m.m2;
      out[o++] = m.min;
      out[o++] = m.max;
    }
  }
  return out;
}

/** Inverse of packPartials. */
export function unpackPartials(buf: Float64Array): WindowPartial[] {
  const out: WindowPartial[] = [];
  for (let o = 0; o + PACKED_PARTIAL_F64 <= buf.length; o += PACKED_PARTIAL_F64) {
    const metrics: MetricPartial[] = [];
    for (let m = 0, b = o + 7; m < 5; m++, b += 5) metrics.push({ n: buf[b], mean: buf[b + 1], m2: buf[b + 2], min: buf[b + 3], max: buf[b + 4] });
    out.push({ slot: buf[o], windowStartMs: buf[o + 1], count: buf[o + 2], firstId: buf[o + 3], lastId: buf[o + 4], anomalyCount: buf[o + 5], maxScore: buf[o + 6], metrics });
  }
  return out;
}
