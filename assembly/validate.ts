// Validation: the per-row RULE mask (see src/kernels/types.ts), two rows per f64x2 step.
// The host pads every column to an even length, so the loop needs no scalar tail.

// @ts-ignore: decorator
@inline function bit(b: i64): v128 {
  return i64x2.splat(b);
}

/**
 * limits (f64): [min0, max0, …, min4, max4, futureMs, minEventMs, collapseVoltage, collapseVibration].
 * metrics: 5 columns of `stride` bytes each. Writes n (rounded up to even) u32 masks at out.
 */
export function validate(n: i32, ev: usize, metrics: usize, stride: usize, lat: usize, lon: usize, st: usize, fl: usize, out: usize, limits: usize): void {
  const lo0 = v128.load64_splat(limits), hi0 = v128.load64_splat(limits + 8);
  const lo1 = v128.load64_splat(limits + 16), hi1 = v128.load64_splat(limits + 24);
  const lo2 = v128.load64_splat(limits + 32), hi2 = v128.load64_splat(limits + 40);
  const lo3 = v128.load64_splat(limits + 48), hi3 = v128.load64_splat(limits + 56);
  const lo4 = v128.load64_splat(limits + 64), hi4 = v128.load64_splat(limits + 72);
  const future = v128.load64_splat(limits + 80);
  const minEv = v128.load64_splat(limits + 88);
  const cv = v128.load64_splat(limits + 96);
  const cvib = v128.load64_splat(limits + 104);
  const zero = f64x2.splat(0.0);
  const one = f64x2.splat(1.0);
  const latLo = f64x2.splat(-90.0), latHi = f64x2.splat(90.0);
  const lonLo = f64x2.splat(-180.0), lonHi = f64x2.splat(180.0);
  for (let i = 0; i < n; i += 2) {
    const off = <usize>i << 3;
    let bits = metricBits(v128.load(metrics + off), lo0, hi0, 1 << 0, 1 << 1);
    bits = v128.or(bits, metricBits(v128.load(metrics + stride + off), lo1, hi1, 1 << 2, 1 << 3));
    bits = v128.or(bits, metricBits(v128.load(metrics + 2 * stride + off), lo2, hi2, 1 << 4, 1 << 5));
    const vib = v128.load(metrics + 3 * stride + off);
    const volt = v128.load(metrics + 4 * stride + off);
    bits = v128.or(bits, metricBits(vib, lo3, hi3, 1 << 6, 1 << 7));
    bits = v128.or(bits, metricBits(volt, lo4, hi4, 1 << 8, 1 << 9));
    const e = v128.load(ev + off);
    bits = v128.or(bits, v128.and(f64x2.ne(e, e), bit(1 << 10)));
    bits = v128.or(bits, v128.and(f64x2.gt(e, future), bit(1 << 11)));
    bits = v128.or(bits, v128.and(f64x2.lt(e, minEv), bit(1 << 12)));
    const la = v128.load(lat + off);
    const lo = v128.load(lon + off);
    const gpsOk = v128.and(v128.and(f64x2.ge(la, latLo), f64x2.le(la, latHi)), v128.and(f64x2.ge(lo, lonLo), f64x2.le(lo, lonHi)));
    bits = v128.or(bits, v128.andnot(bit(1 << 13), gpsOk));
    bits = v128.or(bits, v128.and(v128.and(f64x2.lt(volt, cv), f64x2.gt(vib, cvib)), bit(1 << 14)));
    const s = v128.load(st + off);
    const f = v128.load(fl + off);
    const sOk = v128.or(f64x2.eq(s, zero), f64x2.eq(s, one));
    const fOk = v128.or(f64x2.eq(f, zero), f64x2.eq(f, one));
    const invalid = v128.or(v128.andnot(f64x2.eq(s, s), sOk), v128.andnot(f64x2.eq(f, f), fOk));
    bits = v128.or(bits, v128.and(invalid, bit(1 << 16)));
    const mismatch = v128.and(v128.and(sOk, fOk), f64x2.ne(s, f));
    bits = v128.or(bits, v128.and(mismatch, bit(1 << 15)));
    // Two u32 masks from the low halves of the i64 lanes.
    v128.store64_lane(out + (<usize>i << 2), i32x4.shuffle(bits, bits, 0, 2, 0, 2), 0);
  }
}

// @ts-ignore: decorator
@inline function metricBits(x: v128, lo: v128, hi: v128, miss: i64, oor: i64): v128 {
  const missing = f64x2.ne(x, x);
  const outside = v128.or(f64x2.lt(x, lo), f64x2.gt(x, hi));
  return v128.or(v128.and(missing, i64x2.splat(miss)), v128.and(outside, i64x2.splat(oor)));
}
