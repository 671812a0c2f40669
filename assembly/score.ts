// Anomaly scoring against a per-slot EWMA baseline; the algorithm is documented on scoreRef
// (src/kernels/ref/score.ts), which this mirrors operation for operation (results are bit-identical).
// Metrics go in f64x2 pairs (0,1), (2,3), (4,pad); the pad lane is NaN and so never counts.
import { loadPair, nanLane1 } from './common';

// Slot layout (f64): mean[6] var[6] count[6] — 144 bytes, so every pair is 16-byte aligned.
const SLOT_BYTES: usize = 144;

/**
 * params (f64): [low, medium, high, alpha, warmup, pmin0, pmax0, …, pmin4, pmax4].
 * metrics: 5 columns of `stride` bytes. Writes score (f64), reasons (u32), priority (u8) per row.
 */
export function score(n: i32, slot: usize, metrics: usize, stride: usize, flag: usize, state: usize, params: usize, outScore: usize, outReasons: usize, outPriority: usize): void {
  const low = load<f64>(params), medium = load<f64>(params, 8), high = load<f64>(params, 16);
  const vLow = f64x2.splat(low), vHigh = f64x2.splat(high);
  const vAlpha = v128.load64_splat(params + 24);
  const vWarm = v128.load64_splat(params + 32);
  const pmin01 = f64x2(load<f64>(params, 40), load<f64>(params, 56));
  const pmax01 = f64x2(load<f64>(params, 48), load<f64>(params, 64));
  const pmin23 = f64x2(load<f64>(params, 72), load<f64>(params, 88));
  const pmax23 = f64x2(load<f64>(params, 80), load<f64>(params, 96));
  const pmin4 = f64x2(load<f64>(params, 104), -Infinity);
  const pmax4 = f64x2(load<f64>(params, 112), Infinity);
  const pad = nanLane1();
  for (let i = 0; i < n; i++) {
    const off = <usize>i << 3;
    const base = state + <usize>load<i32>(slot + (<usize>i << 2)) * SLOT_BYTES;
    let acc = f64x2.splat(0.0);
    let rs: u32 = 0;
    let phys: i32 = 0;
    let r = pair(loadPair(metrics, off, stride), base, pmin01, pmax01, vLow, vHigh, vAlpha, vWarm);
    acc = f64x2.pmax(acc, r);
    rs |= <u32>pairZ;
    phys |= pairPhys;
    r = pair(loadPair(metrics + 2 * stride, off, stride), base + 16, pmin23, pmax23, vLow, vHigh, vAlpha, vWarm);
    acc = f64x2.pmax(acc, r);
    rs |= <u32>pairZ << 2;
    phys |= pairPhys << 2;
    r = pair(v128.or(v128.load64_zero(metrics + 4 * stride + off), pad), base + 32, pmin4, pmax4, vLow, vHigh, vAlpha, vWarm);
    acc = f64x2.pmax(acc, r);
    rs |= <u32>pairZ << 4;
    phys |= pairPhys << 4;
    let sc = f64x2.extract_lane(acc, 0);
    const sc1 = f64x2.extract_lane(acc, 1);
    if (sc1 > sc) sc = sc1;
    if (phys != 0) {
      rs |= <u32>phys << 5;
      if (sc < high) sc = high;
    }
    if (load<f64>(flag + off) == 1.0) {
      rs |= 1 << 10;
      if (sc < medium) sc = medium;
    }
    store<f64>(outScore + off, sc);
    store<u32>(outReasons + (<usize>i << 2), rs);
    store<u8>(outPriority + <usize>i, sc >= high ? 3 : sc >= medium ? 2 : sc >= low ? 1 : 0);
  }
}

let pairZ: i32 = 0;
let pairPhys: i32 = 0;

/** Scores and updates one metric pair; returns |z| of contributing lanes (0 elsewhere), sets pairZ/pairPhys lane bits. */
// @ts-ignore: decorator
@inline function pair(x: v128, p: usize, pmin: v128, pmax: v128, low: v128, high: v128, alpha: v128, warmup: v128): v128 {
  const present = f64x2.eq(x, x);
  const inRange = v128.and(v128.and(f64x2.ge(x, pmin), f64x2.le(x, pmax)), f64x2.lt(f64x2.abs(x), f64x2.splat(Infinity)));
  const physical = v128.andnot(present, inRange);
  const upd = v128.and(present, inRange);
  const mean = v128.load(p);
  const v = v128.load(p, 48);
  const c = v128.load(p, 96);
  const warm = v128.and(upd, f64x2.ge(c, warmup));
  const floor = f64x2.mul(f64x2.splat(1e-6), f64x2.add(f64x2.splat(1.0), f64x2.abs(mean)));
  const sd = f64x2.pmax(f64x2.sqrt(v), floor);
  const z = f64x2.div(f64x2.sub(x, mean), sd);
  const az = f64x2.abs(z);
  pairZ = i64x2.bitmask(v128.and(warm, f64x2.ge(az, low)));
  pairPhys = i64x2.bitmask(physical);
  const clamp = v128.and(warm, f64x2.gt(az, high));
  const signedHigh = v128.or(high, v128.and(z, i64x2.splat(0x8000000000000000)));
  const xu = v128.bitselect(f64x2.add(mean, f64x2.mul(signedHigh, sd)), x, clamp);
  let a = f64x2.div(f64x2.splat(1.0), f64x2.add(c, f64x2.splat(1.0)));
  a = f64x2.pmax(a, alpha);
  const delta = f64x2.sub(xu, mean);
  const incr = f64x2.mul(a, delta);
  const meanN = f64x2.add(mean, incr);
  const vN = f64x2.mul(f64x2.sub(f64x2.splat(1.0), a), f64x2.add(v, f64x2.mul(delta, incr)));
  const cN = f64x2.add(c, f64x2.splat(1.0));
  v128.store(p, v128.bitselect(meanN, mean, upd));
  v128.store(p, v128.bitselect(vN, v, upd), 48);
  v128.store(p, v128.bitselect(cN, c, upd), 96);
  return v128.and(az, warm);
}
