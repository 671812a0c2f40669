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
