/** Input checks shared by the reference kernels and the WASM host (same messages). */

/** Throws RangeError unless every column has `length` rows. */
export function checkLengths(kernel: string, length: number, columns: Record<string, ArrayLike<number>>): void {
  for (const [name, col] of Object.entries(columns)) {
    if (col.length !== length) throw new RangeError(`${kernel}: column ${name} has ${col.length} rows, expected ${length}`);
  }
}

/** Throws RangeError unless there are 5 metric columns of `length` rows. */
export function checkMetrics(kernel: string, length: number, metrics: readonly ArrayLike<number>[]): void {
  if (metrics.length !== 5) throw new RangeError(`${kernel}: expected 5 metric columns, got ${metrics.length}`);
  for (let m = 0; m < 5; m++) {
    if (metrics[m].length !== length) throw new RangeError(`${kernel}: metric column ${m} has ${metrics[m].length} rows, expected ${length}`);
  }
}

/** Smallest and largest slot id; throws RangeError on a negative slot. Returns max -1 for an empty column. */
export function slotRange(kernel: string, slot: Int32Array): number {
  let min = 0;
  let max = -1;
  for (let i = 0; i < slot.length; i++) {
    const s = slot[i];
    if (s < min) min = s;
    if (s > max) max = s;
  }
  if (min < 0) throw new RangeError(`${kernel}: slot ids must be ≥ 0, got ${min}`);
  return max;
}
