// Tumbling-window aggregation per (slot, window), mirroring aggregateRef (src/kernels/ref/aggregate.ts)
// operation for operation, so both give the same bits. Groups live in a record array with an
// open-addressing index of record numbers; a per-slot cache of the slot's latest record lets the
// common row (same sensor, same window as its previous row) skip the hash, the floor and any
// division: two compares against the record's own bounds. The host owns all memory: when the
// records or the index are full the kernel stops and returns the row it stopped at; the host
// provides bigger areas (aggRehash) and resumes from that row.

// Record layout (f64 index), 256 bytes = 4 cache lines when the host aligns records to 64 bytes:
//  0 slot, 1 window start (ms), 2 count, 3 firstId, 4 lastId, 5 anomalyCount, 6 maxScore,
//  7..11 metric 4 (voltage) as scalars: n, mean, m2, min, max,
//  12..31 metrics 0–3 as two f64x2 pairs per statistic: n[4], mean[4], m2[4], min[4], max[4].
export const REC_BYTES: usize = 256;
const N4: usize = 56;
const MEAN4: usize = 64;
const M2_4: usize = 72;
const MIN4: usize = 80;
const MAX4: usize = 88;
const N_OFF: usize = 96;
const MEAN_OFF: usize = 128;
const M2_OFF: usize = 160;
const MIN_OFF: usize = 192;
const MAX_OFF: usize = 224;

let recCount: i32 = 0;

/** Records used after the last aggregate/aggRehash call. */
export function aggRecords(): i32 {
  return recCount;
}

// @ts-ignore: decorator
@inline function hash(slot: i32, start: f64, mask: u32): u32 {
  let h = <u64>(<i64>start) * 0x9e3779b97f4a7c15 ^ <u64>slot * 0xc2b2ae3d27d4eb4f;
  h ^= h >> 29;
  return <u32>h & mask;
}

/** Inserts record `r` (1-based in the index) of key (slot, start) into an index of `cap` (power of two) i32 entries. */
// @ts-ignore: decorator
@inline function indexInsert(index: usize, cap: u32, slot: i32, start: f64, r: i32): void {
  const mask = cap - 1;
  let h = hash(slot, start, mask);
  while (load<i32>(index + (<usize>h << 2)) != 0) h = (h + 1) & mask;
  store<i32>(index + (<usize>h << 2), r + 1);
}

/** Rebuilds the index (zeroed by the host, `cap` entries) over the first `count` records at recs. */
export function aggRehash(recs: usize, count: i32, index: usize, cap: u32): void {
  for (let r = 0; r < count; r++) {
    const p = recs + (<usize>r << 8);
    indexInsert(index, cap, <i32>load<f64>(p), load<f64>(p, 8), r);
  }
}

/**
 * Start (ms) of the window [start, start + windowMs) holding event time e: w = floor(e · inv),
 * corrected by one step against the boundaries as computed (the reciprocal may be an ulp off;
 * a division per row costs several multiplications). Same steps as windowStartOf in the reference.
 */
// @ts-ignore: decorator
@inline function windowStart(e: f64, windowMs: f64, inv: f64): f64 {
  let w = floor(e * inv);
  const s = w * windowMs;
  if (s > e) w -= 1.0;
  else if (s + windowMs <= e) w += 1.0;
  return w * windowMs;
}

/**
 * Aggregates rows [start, n). cache: i32 per slot (record + 1, 0 none; zeroed by the host),
 * index: `cap` i32 (power of two), recs: room for `recCap` records (64-byte aligned), `used`
 * already in use. Returns n when done, or the first row not processed when a new group would
 * exceed recCap or fill the index beyond half.
 */
export function aggregate(n: i32, start: i32, id: usize, ev: usize, slot: usize, metrics: usize, stride: usize, scorePtr: usize, anom: usize, windowMs: f64, cache: usize, index: usize, cap: u32, recs: usize, recCap: i32, used: i32): i32 {
  const mask = cap - 1;
  const limit = min(recCap, <i32>(cap >> 1));
  const inv = 1.0 / windowMs;
  const m1col = metrics + stride;
  const m2col = metrics + 2 * stride;
  const m3col = metrics + 3 * stride;
  const m4col = metrics + 4 * stride;
  recCount = used;
  for (let i = start; i < n; i++) {
    const off = <usize>i << 3;
    const e = load<f64>(ev + off);
    if (!(abs(e) < Infinity)) continue;
    const s = load<i32>(slot + (<usize>i << 2));
    const cslot = cache + (<usize>s << 2);
    const r = load<i32>(cslot) - 1;
    let p = recs + (<usize>r << 8);
    if (r < 0 || !(load<f64>(p, 8) <= e && e < load<f64>(p, 8) + windowMs)) {
      p = lookup(s, windowStart(e, windowMs, inv), index, mask, recs, limit);
      if (p == 0) return i;
      store<i32>(cslot, <i32>((p - recs) >> 8) + 1);
    }
    store<f64>(p, load<f64>(p, 16) + 1.0, 16);
    const rid = load<f64>(id + off);
    if (rid < load<f64>(p, 24)) store<f64>(p, rid, 24);
    if (rid > load<f64>(p, 32)) store<f64>(p, rid, 32);
    if (load<u8>(anom + <usize>i) != 0) store<f64>(p, load<f64>(p, 40) + 1.0, 40);
    const sc = load<f64>(scorePtr + off);
    if (sc > load<f64>(p, 48)) store<f64>(p, sc, 48);

    const x01 = v128.load64_lane(m1col + off, v128.load64_zero(metrics + off), 1);
    const x23 = v128.load64_lane(m3col + off, v128.load64_zero(m2col + off), 1);
    const x4 = load<f64>(m4col + off);
    // Finite ⇔ x − x == 0 (NaN and ±Infinity give NaN).
    const ok01 = f64x2.eq(f64x2.sub(x01, x01), f64x2.splat(0));
    const ok23 = f64x2.eq(f64x2.sub(x23, x23), f64x2.splat(0));
    const ok4 = x4 - x4 == 0;
    if (ok4 && i64x2.all_true(v128.and(ok01, ok23))) {
      // Nearly every row: all five values present, no masking needed.
      welford(p, 0, x01);
      welford(p, 16, x23);
    } else {
      welfordMasked(p, 0, x01, ok01);
      welfordMasked(p, 16, x23, ok23);
      if (!ok4) continue;
    }
    const n4 = load<f64>(p, N4) + 1.0;
    const mean = load<f64>(p, MEAN4);
    const delta = x4 - mean;
    const meanN = mean + delta / n4;
    store<f64>(p, n4, N4);
    store<f64>(p, meanN, MEAN4);
    store<f64>(p, load<f64>(p, M2_4) + delta * (x4 - meanN), M2_4);
    if (x4 < load<f64>(p, MIN4)) store<f64>(p, x4, MIN4);
    if (load<f64>(p, MAX4) < x4) store<f64>(p, x4, MAX4);
  }
  return n;
}

/** The record of (s, start): found through the index, or created; 0 when a new one does not fit. */
// @ts-ignore: decorator
@inline function lookup(s: i32, start: f64, index: usize, mask: u32, recs: usize, limit: i32): usize {
  let h = hash(s, start, mask);
  while (true) {
    const e1 = load<i32>(index + (<usize>h << 2));
    if (e1 == 0) break;
    const q = recs + (<usize>(e1 - 1) << 8);
    if (load<f64>(q) == <f64>s && load<f64>(q, 8) == start) return q;
    h = (h + 1) & mask;
  }
  if (recCount >= limit) return 0;
  const r = recCount++;
  store<i32>(index + (<usize>h << 2), r + 1);
  const p = recs + (<usize>r << 8);
  initRecord(p, s, start);
  return p;
}

// @ts-ignore: decorator
@inline function initRecord(p: usize, s: i32, start: f64): void {
  memory.fill(p, 0, REC_BYTES);
  store<f64>(p, <f64>s);
  store<f64>(p, start, 8);
  store<f64>(p, Infinity, 24);
  store<f64>(p, -Infinity, 32);
  store<f64>(p, Infinity, MIN4);
  store<f64>(p, -Infinity, MAX4);
  const pinf = f64x2.splat(Infinity);
  const ninf = f64x2.splat(-Infinity);
  v128.store(p + MIN_OFF, pinf);
  v128.store(p + MIN_OFF + 16, pinf);
  v128.store(p + MAX_OFF, ninf);
  v128.store(p + MAX_OFF + 16, ninf);
}

/** One Welford step on the metric pair at byte `k` of each pair block, both values finite. */
// @ts-ignore: decorator
@inline function welford(p: usize, k: usize, x: v128): void {
  const q = p + k;
  const n1 = f64x2.add(v128.load(q + N_OFF), f64x2.splat(1.0));
  const mean = v128.load(q + MEAN_OFF);
  const delta = f64x2.sub(x, mean);
  const meanN = f64x2.add(mean, f64x2.div(delta, n1));
  v128.store(q + N_OFF, n1);
  v128.store(q + MEAN_OFF, meanN);
  v128.store(q + M2_OFF, f64x2.add(v128.load(q + M2_OFF), f64x2.mul(delta, f64x2.sub(x, meanN))));
  // pmin(a, b) = b < a ? b : a: the reference's `if (x < min) min = x`, to the bit (±0 included).
  v128.store(q + MIN_OFF, f64x2.pmin(v128.load(q + MIN_OFF), x));
  v128.store(q + MAX_OFF, f64x2.pmax(v128.load(q + MAX_OFF), x));
}

/** The same step on a pair where some value is missing: lanes not in `valid` keep their state. */
// @ts-ignore: decorator
@inline function welfordMasked(p: usize, k: usize, x: v128, valid: v128): void {
  const q = p + k;
  const nOld = v128.load(q + N_OFF);
  const mean = v128.load(q + MEAN_OFF);
  const m2 = v128.load(q + M2_OFF);
  const n1 = f64x2.add(nOld, v128.and(f64x2.splat(1.0), valid));
  const delta = f64x2.sub(x, mean);
  const meanN = f64x2.add(mean, f64x2.div(delta, n1));
  const m2N = f64x2.add(m2, f64x2.mul(delta, f64x2.sub(x, meanN)));
  v128.store(q + N_OFF, n1);
  v128.store(q + MEAN_OFF, v128.bitselect(meanN, mean, valid));
  v128.store(q + M2_OFF, v128.bitselect(m2N, m2, valid));
  const mn = v128.load(q + MIN_OFF);
  const mx = v128.load(q + MAX_OFF);
  v128.store(q + MIN_OFF, v128.bitselect(f64x2.pmin(mn, x), mn, valid));
  v128.store(q + MAX_OFF, v128.bitselect(f64x2.pmax(mx, x), mx, valid));
}
