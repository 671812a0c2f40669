// Tumbling-window aggregation per (slot, window), mirroring aggregateRef (src/kernels/ref/aggregate.ts)
// operation for operation. Groups live in a record array with an open-addressing index of
// record numbers; a per-slot cache of the slot's latest record skips the hash in the common case.
// The host owns all memory: when the records or the index are full the kernel stops and returns
// the row it stopped at; the host provides bigger areas (aggRehash) and resumes from that row.
import { loadPair, nanLane1 } from './common';

// Record layout (f64 index): slot, window index, count, firstId, lastId, anomalyCount, maxScore, pad,
// then n[6], mean[6], m2[6], min[6], max[6] (metric 5 is padding).
export const REC_BYTES: usize = 304;
const N_OFF: usize = 64;
const MEAN_OFF: usize = 112;
const M2_OFF: usize = 160;
const MIN_OFF: usize = 208;
const MAX_OFF: usize = 256;

let recCount: i32 = 0;

/** Records used after the last aggregate/aggRehash call. */
export function aggRecords(): i32 {
  return recCount;
}

// @ts-ignore: decorator
@inline function hash(slot: i32, win: f64, mask: u32): u32 {
  let h = <u64>(<i64>win) * 0x9e3779b97f4a7c15 ^ <u64>slot * 0xc2b2ae3d27d4eb4f;
  h ^= h >> 29;
  return <u32>h & mask;
}

/** Inserts record `r` (1-based in the index) of key (slot, win) into an index of `cap` (power of two) i32 entries. */
// @ts-ignore: decorator
@inline function indexInsert(index: usize, cap: u32, slot: i32, win: f64, r: i32): void {
  const mask = cap - 1;
  let h = hash(slot, win, mask);
  while (load<i32>(index + (<usize>h << 2)) != 0) h = (h + 1) & mask;
  store<i32>(index + (<usize>h << 2), r + 1);
}

/** Rebuilds the index (zeroed by the host, `cap` entries) over the first `count` records at recs. */
export function aggRehash(recs: usize, count: i32, index: usize, cap: u32): void {
  for (let r = 0; r < count; r++) {
    const p = recs + <usize>r * REC_BYTES;
    indexInsert(index, cap, <i32>load<f64>(p), load<f64>(p, 8), r);
  }
}

/**
 * Aggregates rows [start, n). cache: i32 per slot (record + 1, 0 none; zeroed by the host),
 * index: `cap` i32 (power of two), recs: room for `recCap` records, `used` already in use.
 * Returns n when done, or the first row not processed when a new group would exceed recCap or
 * fill the index beyond half.
 */
export function aggregate(n: i32, start: i32, id: usize, ev: usize, slot: usize, metrics: usize, stride: usize, scorePtr: usize, anom: usize, windowMs: f64, cache: usize, index: usize, cap: u32, recs: usize, recCap: i32, used: i32): i32 {
  const mask = cap - 1;
  const limit = min(recCap, <i32>(cap >> 1));
  const one = f64x2.splat(1.0);
  const inf = f64x2.splat(Infinity);
  const pad = nanLane1();
  recCount = used;
  for (let i = start; i < n; i++) {
    const off = <usize>i << 3;
    const e = load<f64>(ev + off);
    if (!(abs(e) < Infinity)) continue;
    const s = load<i32>(slot + (<usize>i << 2));
    const w = floor(e / windowMs);
    const cslot = cache + (<usize>s << 2);
    let r = load<i32>(cslot) - 1;
    let p = recs + <usize>r * REC_BYTES;
    if (r < 0 || load<f64>(p, 8) != w) {
      // Cache miss: probe the index, create the group if new.
      let h = hash(s, w, mask);
      r = -1;
      while (true) {
        const e1 = load<i32>(index + (<usize>h << 2));
        if (e1 == 0) break;
        const q = recs + <usize>(e1 - 1) * REC_BYTES;
        if (load<f64>(q) == <f64>s && load<f64>(q, 8) == w) {
          r = e1 - 1;
          break;
        }
        h = (h + 1) & mask;
      }
      if (r < 0) {
        if (recCount >= limit) return i;
        r = recCount++;
        store<i32>(index + (<usize>h << 2), r + 1);
        p = recs + <usize>r * REC_BYTES;
        initRecord(p, s, w);
      }
      p = recs + <usize>r * REC_BYTES;
      store<i32>(cslot, r + 1);
    }
    store<f64>(p, load<f64>(p, 16) + 1.0, 16);
    const rid = load<f64>(id + off);
    if (rid < load<f64>(p, 24)) store<f64>(p, rid, 24);
    if (rid > load<f64>(p, 32)) store<f64>(p, rid, 32);
    if (load<u8>(anom + <usize>i) != 0) store<f64>(p, load<f64>(p, 40) + 1.0, 40);
    const sc = load<f64>(scorePtr + off);
    if (sc > load<f64>(p, 48)) store<f64>(p, sc, 48);
    welford(p, loadPair(metrics, off, stride), one, inf);
    welford(p + 16, loadPair(metrics + 2 * stride, off, stride), one, inf);
    welford(p + 32, v128.or(v128.load64_zero(metrics + 4 * stride + off), pad), one, inf);
  }
  return n;
}

// @ts-ignore: decorator
@inline function initRecord(p: usize, s: i32, w: f64): void {
  memory.fill(p, 0, REC_BYTES);
  store<f64>(p, <f64>s);
  store<f64>(p, w, 8);
  store<f64>(p, Infinity, 24);
  store<f64>(p, -Infinity, 32);
  const pinf = f64x2.splat(Infinity);
  const ninf = f64x2.splat(-Infinity);
  for (let k: usize = 0; k < 48; k += 16) {
    v128.store(p + MIN_OFF + k, pinf);
    v128.store(p + MAX_OFF + k, ninf);
  }
}

/** One Welford step on a metric pair at record offset q (finite lanes only). */
// @ts-ignore: decorator
@inline function welford(q: usize, x: v128, one: v128, inf: v128): void {
  const valid = f64x2.lt(f64x2.abs(x), inf);
  const nOld = v128.load(q + N_OFF);
  const mean = v128.load(q + MEAN_OFF);
  const m2 = v128.load(q + M2_OFF);
  const n1 = f64x2.add(nOld, v128.and(one, valid));
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
