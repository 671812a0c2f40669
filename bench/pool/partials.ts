import type { MetricPartial, WindowPartial } from '../../src/kernels/types.ts';

/**
 * Window partials packed into one Float64Array, the form the benchmark pools hand between
 * threads (cheap to transfer, unlike an object graph). Only bench/pool uses it: the product's
 * aggregated stage keeps its partials on the main thread.
 */

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
