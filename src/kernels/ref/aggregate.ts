import type { AggregateInput, WindowPartial } from '../types.ts';
import { emptyPartial } from '../partial.ts';
import { checkLengths, checkMetrics, slotRange } from './check.ts';

/**
 * Start (ms) of the tumbling window [start, start + windowMs) holding event time e:
 * w = floor(e · inv) with inv = 1/windowMs, corrected by one step against the boundaries as
 * computed, so that start ≤ e < start + windowMs. The WASM kernel does the same steps (a
 * multiplication instead of a division per row); both must stay identical.
 */
export function windowStartOf(e: number, windowMs: number, inv: number): number {
  let w = Math.floor(e * inv);
  const s = w * windowMs;
  if (s > e) w -= 1;
  else if (s + windowMs <= e) w += 1;
  return w * windowMs;
}

/**
 * Reference `aggregate`: tumbling windows [start, start + windowMs) on event time per slot (start
 * from `windowStartOf`). Rows with a non-finite eventMs are skipped; non-finite metric values are
 * left out of that metric only. Welford per metric: n += 1; δ = x − mean; mean += δ/n;
 * m2 += δ·(x − mean). Partials come out in order of first appearance.
 */
export function aggregateRef(input: AggregateInput, windowMs: number): WindowPartial[] {
  if (!(windowMs > 0 && Number.isFinite(windowMs))) throw new RangeError(`aggregate: windowMs must be a positive number, got ${windowMs}`);
  const n = input.id.length;
  const { eventMs: ev, slot, score, isAnomaly, id } = input;
  checkLengths('aggregate', n, { eventMs: ev, slot, score, isAnomaly });
  checkMetrics('aggregate', n, input.metrics);
  const slots = slotRange('aggregate', slot) + 1;
  // A slot's rows mostly land in its latest window: test the row against that window's bounds
  // and skip the map lookup (the kernel's per-slot record cache).
  const inv = 1 / windowMs;
  const lastPart: (WindowPartial | undefined)[] = new Array(slots);
  const byKey = new Map<string, WindowPartial>();
  const out: WindowPartial[] = [];
  const cols = input.metrics;
  for (let i = 0; i < n; i++) {
    const e = ev[i];
    if (!(Math.abs(e) < Infinity)) continue;
    const s = slot[i];
    let p: WindowPartial | undefined;
    const last = lastPart[s];
    if (last !== undefined && last.windowStartMs <= e && e < last.windowStartMs + windowMs) p = last;
    else {
      const start = windowStartOf(e, windowMs, inv);
      const key = `${s}:${start}`;
      p = byKey.get(key);
      if (p === undefined) {
        p = emptyPartial(s, start);
        byKey.set(key, p);
        out.push(p);
      }
      lastPart[s] = p;
    }
    p = p as WindowPartial;
    p.count += 1;
    const rid = id[i];
    if (rid < p.firstId) p.firstId = rid;
    if (rid > p.lastId) p.lastId = rid;
    if (isAnomaly[i] !== 0) p.anomalyCount += 1;
    const sc = score[i];
    if (sc > p.maxScore) p.maxScore = sc;
    for (let m = 0; m < 5; m++) {
      const x = cols[m][i];
      if (!(Math.abs(x) < Infinity)) continue;
      const st = p.metrics[m];
      const n1 = st.n + 1;
      const delta = x - st.mean;
      const mean = st.mean + delta / n1;
      st.m2 = st.m2 + delta * (x - mean);
      st.mean = mean;
      st.n = n1;
      if (x < st.min) st.min = x;
      if (st.max < x) st.max = x;
    }
  }
  return out;
}
