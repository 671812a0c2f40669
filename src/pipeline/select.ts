/**
 * The k-th smallest value of a typed array in expected linear time (Hoare's quickselect with a
 * median-of-three pivot), reordering the array in place so that every value before index k is
 * ≤ it and every value after is ≥ it. A batch's latency percentiles need three ranks of 50k
 * values, not the whole order: selecting them is ≈ 10× cheaper than sorting.
 * Values must be comparable numbers (no NaN).
 */
export function selectInPlace(a: Float64Array, k: number, lo = 0, hi = a.length - 1): number {
  if (!(Number.isInteger(k) && k >= lo && k <= hi)) throw new RangeError(`selectInPlace: rank ${k} is outside ${lo}..${hi}`);
  while (hi > lo) {
    // Median of three as the pivot: sorted or reversed input does not go quadratic.
    const mid = (lo + hi) >>> 1;
    if (a[mid] < a[lo]) swap(a, mid, lo);
    if (a[hi] < a[lo]) swap(a, hi, lo);
    if (a[hi] < a[mid]) swap(a, hi, mid);
    const pivot = a[mid];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        swap(a, i, j);
        i++;
        j--;
      }
    }
    // Now a[lo..j] ≤ pivot ≤ a[i..hi], and j < i; values between j and i equal the pivot.
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k];
  }
  return a[k];
}

function swap(a: Float64Array, i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}
