import type { ByteSink } from './bytes.ts';

/**
 * Parquet's RLE / bit-packing hybrid (definition and repetition levels, dictionary indices):
 * runs of 8 or more equal values become RLE runs (`varint(count << 1)`, then the value in
 * ceil(width / 8) bytes), everything else bit-packed groups of 8 values (`varint(groups << 1 | 1)`,
 * then `width` bytes per group, least significant bit first). A bit-packed run must hold whole
 * groups of 8 except at the very end, so before an RLE run the pending literals borrow values from
 * it to fill their last group.
 */

/** Bits needed for values 0 … max. */
export function bitWidth(max: number): number {
  return max <= 0 ? 0 : 32 - Math.clz32(max);
}

/**
 * Appends `values[0 … n)` (each < 2^width, width ≤ 24) encoded with the hybrid to `out`, without a
 * length prefix.
 */
export function encodeHybrid(values: ArrayLike<number>, n: number, width: number, out: ByteSink): void {
  let i = 0;
  let litStart = 0;
  while (i < n) {
    const v = values[i];
    let j = i + 1;
    while (j < n && values[j] === v) j++;
    const run = j - i;
    if (run >= 8) {
      const pending = i - litStart;
      if (pending > 0) {
        const borrow = (8 - (pending % 8)) % 8;
        if (run - borrow < 8) {
          // Too short once the literals took their share: it stays literal.
          i = j;
          continue;
        }
        bitPacked(values, litStart, pending + borrow, width, out);
        i += borrow;
      }
      rle(v, j - i, width, out);
      litStart = j;
    }
    i = j;
  }
  if (litStart < n) bitPacked(values, litStart, n - litStart, width, out);
}

/** One RLE run of `count` copies of `v`. */
export function rle(v: number, count: number, width: number, out: ByteSink): void {
  out.varint(count * 2);
  for (let b = 0, bytes = (width + 7) >> 3; b < bytes; b++) out.byte((v >>> (8 * b)) & 0xff);
}

function bitPacked(values: ArrayLike<number>, from: number, count: number, width: number, out: ByteSink): void {
  const groups = Math.ceil(count / 8);
  out.varint(groups * 2 + 1);
  out.reserve(groups * width);
  const buf = out.buffer;
  let pos = out.length;
  const end = from + count;
  const padded = from + groups * 8;
  let acc = 0;
  let bits = 0;
  for (let k = from; k < padded; k++) {
    acc |= (k < end ? values[k] : 0) << bits;
    bits += width;
    while (bits >= 8) {
      buf[pos++] = acc & 0xff;
      acc >>>= 8;
      bits -= 8;
    }
  }
  out.length = pos;
}
