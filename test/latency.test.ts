/**
 * The latency summary of a batch (latency_metrics, contract §5): event time → durable, over the
 * rows whose event time the validated stage would accept. A clock read before the epoch or a node
 * days ahead must not become a 56-year p99 on the dashboard, at the edge or on the cloud path.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_LIMITS } from '../src/kernels/types.ts';
import { latencySummary } from '../src/pipeline/metrics.ts';

const DURABLE = Date.parse('2026-12-01T12:00:00Z');

test('only plausible event times count: 1970, before the minimum, beyond the allowed skew and NaN are left out', () => {
  const times = new Float64Array([
    -86_400_000, // 1969: a clock read that failed
    DEFAULT_LIMITS.minEventMs - 1,
    DURABLE - 400,
    DURABLE - 200,
    DURABLE - 100,
    DURABLE + 1_000, // within the skew: counts as 0, never negative
    DURABLE + DEFAULT_LIMITS.maxFutureMs + 1, // two days ahead
    Number.NaN, // no event time
  ]);
  const s = latencySummary(times, DURABLE);
  assert.ok(s);
  assert.equal(s.rows, 4);
  assert.equal(s.mean, (400 + 200 + 100 + 0) / 4);
  assert.equal(s.p50, 200);
  assert.equal(s.p99, 400);
});

test('the limits themselves are plausible, and a batch of only implausible times has no summary', () => {
  const edges = latencySummary(new Float64Array([DEFAULT_LIMITS.minEventMs, DURABLE + DEFAULT_LIMITS.maxFutureMs]), DURABLE);
  assert.equal(edges?.rows, 2);
  assert.equal(edges?.p99, DURABLE - DEFAULT_LIMITS.minEventMs);
  assert.equal(latencySummary(new Float64Array([-1, DEFAULT_LIMITS.minEventMs - 1, Number.NaN, DURABLE + 10 * DEFAULT_LIMITS.maxFutureMs]), DURABLE), null);
  assert.equal(latencySummary(new Float64Array(0), DURABLE), null);
});

test('the percentiles are the nearest ranks of the sorted latencies, on random, constant, sorted, reversed and few-valued batches', () => {
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const shapes: Array<[string, (n: number) => Float64Array]> = [
    ['random', (n) => Float64Array.from({ length: n }, () => DURABLE - Math.floor(rand() * 600_000))],
    ['constant', (n) => new Float64Array(n).fill(DURABLE - 250)],
    ['oldest first', (n) => Float64Array.from({ length: n }, (_, i) => DURABLE - (n - i) * 10)],
    ['newest first', (n) => Float64Array.from({ length: n }, (_, i) => DURABLE - i * 10)],
    ['three values', (n) => Float64Array.from({ length: n }, (_, i) => DURABLE - [5, 500, 5000][i % 3])],
    ['with future rows', (n) => Float64Array.from({ length: n }, () => DURABLE + Math.floor(rand() * 4000) - 2000)],
  ];
  for (const [shape, make] of shapes) {
    for (const n of [1, 2, 3, 7, 100, 101, 999, 50_000]) {
      const times = make(n);
      const sorted = Float64Array.from(times, (e) => Math.max(0, DURABLE - e)).sort();
      const q = (p: number) => sorted[Math.min(n - 1, Math.floor(p * n))];
      const s = latencySummary(times, DURABLE);
      assert.deepEqual([s?.p50, s?.p95, s?.p99], [q(0.5), q(0.95), q(0.99)], `${shape}, ${n} rows`);
      assert.equal(s?.rows, n);
    }
  }
});
