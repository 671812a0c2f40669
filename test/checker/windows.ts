/**
 * Recomputes the aggregated stage's windows from source rows with the checker's own arithmetic:
 * 5-minute (by default) tumbling windows of event time per sensor, and per metric the count,
 * min, max, mean and population standard deviation of the non-NULL numeric values, by a plain
 * two-pass sum rather than the pipeline's streaming merge. Compared within a float tolerance.
 */
import { windowStartOf } from './event-time.ts';
import { METRIC_NAMES, type SourceRow } from './source-db.ts';

/** Statistics of one metric in a window; min/max/avg/stddev null when no value counted. */
export interface MetricStats {
  readonly n: number;
  readonly min: number | null;
  readonly max: number | null;
  readonly avg: number | null;
  readonly stddev: number | null;
}

/** One recomputed (sensor, window). */
export interface ExpectedWindow {
  readonly sensorId: string | null;
  readonly startMs: number;
  readonly count: number;
  readonly firstId: number;
  readonly lastId: number;
  readonly metrics: Readonly<Record<string, MetricStats>>;
}

/** Map key of a (sensor, window start): the same function names the lake's records. */
export function windowKey(sensorId: string | null, startMs: number): string {
  return `${sensorId === null ? '\u0000null' : sensorId}@${startMs}`;
}

/** Recomputes every window of `rows` (rows without an event time belong to no window). */
export function recomputeWindows(rows: Iterable<SourceRow>, windowMs: number): Map<string, ExpectedWindow> {
  const groups = new Map<string, SourceRow[]>();
  for (const r of rows) {
    if (r.eventMs === null) continue;
    const k = windowKey(r.sensorId, windowStartOf(r.eventMs, windowMs));
    const g = groups.get(k);
    if (g) g.push(r);
    else groups.set(k, [r]);
  }
  const out = new Map<string, ExpectedWindow>();
  for (const [k, g] of groups) {
    const metrics: Record<string, MetricStats> = {};
    METRIC_NAMES.forEach((name, m) => {
      const xs = g.map((r) => r.metrics[m]).filter((v): v is number => v !== null);
      metrics[name] = statsOf(xs);
    });
    let firstId = Infinity;
    let lastId = -Infinity;
    for (const r of g) {
      if (r.id < firstId) firstId = r.id;
      if (r.id > lastId) lastId = r.id;
    }
    out.set(k, { sensorId: g[0].sensorId, startMs: windowStartOf(g[0].eventMs!, windowMs), count: g.length, firstId, lastId, metrics });
  }
  return out;
}

/** Count, min, max, mean and population standard deviation (two passes). */
export function statsOf(xs: readonly number[]): MetricStats {
  const n = xs.length;
  if (n === 0) return { n, min: null, max: null, avg: null, stddev: null };
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const x of xs) {
    sum += x;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  const avg = sum / n;
  let ss = 0;
  for (const x of xs) ss += (x - avg) * (x - avg);
  return { n, min, max, avg, stddev: Math.sqrt(ss / n) };
}

/**
 * True when `actual` equals `expected` within a float tolerance: 1e-7 relative, plus 1e-9 of
 * `scale` absolute (the metric's magnitude, so a stddev near 0 of values near 1e5 compares fairly).
 */
export function close(actual: number, expected: number, scale = 1): boolean {
  const tol = 1e-7 * Math.max(Math.abs(actual), Math.abs(expected)) + 1e-9 * Math.max(1, Math.abs(scale));
  return Math.abs(actual - expected) <= tol;
}
