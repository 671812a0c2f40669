// Shared helpers of the kernels. Memory is managed by the host (runtime stub): it bump-allocates
// columns from heapBase() and passes pointers and lengths; kernels never allocate.

/** First free byte after the module's static data: where the host's arena starts. */
export function heapBase(): usize {
  return __heap_base;
}

let slotMinValue: i32 = 0;

/** Smallest value seen by the last slotMax call (call slotMax first). */
export function slotMin(): i32 {
  return slotMinValue;
}

/** Largest i32 in [ptr, ptr + 4n); the smallest is left for slotMin(). Returns -1 and min 0 when n = 0. */
export function slotMax(ptr: usize, n: i32): i32 {
  let vmin = i32x4.splat(i32.MAX_VALUE);
  let vmax = i32x4.splat(i32.MIN_VALUE);
  const n4 = n & ~3;
  for (let i = 0; i < n4; i += 4) {
    const v = v128.load(ptr + (<usize>i << 2));
    vmin = i32x4.min_s(vmin, v);
    vmax = i32x4.max_s(vmax, v);
  }
  let lo = min(min(i32x4.extract_lane(vmin, 0), i32x4.extract_lane(vmin, 1)), min(i32x4.extract_lane(vmin, 2), i32x4.extract_lane(vmin, 3)));
  let hi = max(max(i32x4.extract_lane(vmax, 0), i32x4.extract_lane(vmax, 1)), max(i32x4.extract_lane(vmax, 2), i32x4.extract_lane(vmax, 3)));
  for (let i = n4; i < n; i++) {
    const s = load<i32>(ptr + (<usize>i << 2));
    lo = min(lo, s);
    hi = max(hi, s);
  }
  if (n == 0) {
    lo = 0;
    hi = -1;
  }
  slotMinValue = lo;
  return hi;
}

/** Loads the values of two adjacent metric columns (`stride` bytes apart) at byte offset `off` as one f64x2. */
// @ts-ignore: decorator
@inline export function loadPair(colA: usize, off: usize, stride: usize): v128 {
  const v = v128.load64_zero(colA + off);
  return v128.load64_lane(colA + stride + off, v, 1);
}

/** Lane 1 set to NaN, lane 0 zero: OR-ed onto a load64_zero so the padding metric is always missing. */
// @ts-ignore: decorator
@inline export function nanLane1(): v128 {
  return i64x2(0, 0x7ff8000000000000);
}
