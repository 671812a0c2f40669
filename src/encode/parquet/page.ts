import type { ByteSink } from './bytes.ts';
import { encodeHybrid, rle } from './rle.ts';

/**
 * The pieces of a page body that do not depend on a column's state: levels with their length
 * prefix, PLAIN numbers and booleans.
 */

const TWO32 = 4294967296;

/** Levels with their 4-byte length prefix (data page v1); all-equal levels, the usual case, as one RLE run. */
export function levels(values: Uint8Array, n: number, width: number, out: ByteSink): void {
  const at = out.length;
  out.u32(0);
  const first = values[0];
  let same = true;
  for (let i = 1; i < n; i++) {
    if (values[i] !== first) {
      same = false;
      break;
    }
  }
  if (same) rle(first, n, width, out);
  else encodeHybrid(values, n, width, out);
  out.setU32(at, out.length - at - 4);
}

/** PLAIN DOUBLE values (little-endian IEEE 754: the platform's own layout). */
export function plainDoubles(values: Float64Array, n: number, out: ByteSink): void {
  out.raw(new Uint8Array(values.buffer, values.byteOffset, n * 8));
}

/** PLAIN INT64 values from numbers (integers below 2^53 in magnitude), two's complement little-endian. */
export function plainInt64s(values: ArrayLike<number>, n: number, out: ByteSink): void {
  out.reserve(n * 8);
  const base = out.length;
  const view = new DataView(out.buffer.buffer, out.buffer.byteOffset);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    const hi = Math.floor(v / TWO32);
    view.setUint32(base + 8 * i, v - hi * TWO32, true);
    view.setInt32(base + 8 * i + 4, hi, true);
  }
  out.length = base + n * 8;
}

/** PLAIN BOOLEAN values from 0/1, bit-packed least significant bit first. */
export function plainBooleans(values: Float64Array, n: number, out: ByteSink): void {
  const bytes = (n + 7) >> 3;
  out.reserve(bytes);
  const buf = out.buffer;
  const base = out.length;
  buf.fill(0, base, base + bytes);
  for (let i = 0; i < n; i++) if (values[i] === 1) buf[base + (i >> 3)] |= 1 << (i & 7);
  out.length = base + bytes;
}

/** One INT64 as 8 bytes (statistics). */
export function int64Bytes(v: number): Uint8Array {
  const b = new Uint8Array(8);
  const view = new DataView(b.buffer);
  const hi = Math.floor(v / TWO32);
  view.setUint32(0, v - hi * TWO32, true);
  view.setInt32(4, hi, true);
  return b;
}

const BLOCK = 128;
const MINIBLOCKS = 4;
const MINI = BLOCK / MINIBLOCKS;
/** Widest delta (after subtracting a block's minimum) packed with 32-bit arithmetic. */
const MAX_DELTA_BITS = 24;

/**
 * DELTA_BINARY_PACKED INT64 values (ids, instants: mostly increasing by small steps), or false
 * when some block's deltas need more than {@link MAX_DELTA_BITS} bits (the caller writes PLAIN).
 * Blocks of 128 values in 4 miniblocks of 32, each bit-packed with its own width; the header holds
 * the first value, so `n` values make `n - 1` deltas.
 */
export function deltaInt64s(values: ArrayLike<number>, n: number, out: ByteSink): boolean {
  const start = out.length;
  varint53(BLOCK, out);
  varint53(MINIBLOCKS, out);
  varint53(n, out);
  varint53(zigzag(n > 0 ? values[0] : 0), out);
  const deltas = new Float64Array(BLOCK);
  for (let from = 1; from < n; from += BLOCK) {
    const count = Math.min(BLOCK, n - from);
    let min = Infinity;
    for (let i = 0; i < count; i++) {
      const d = values[from + i] - values[from + i - 1];
      deltas[i] = d;
      if (d < min) min = d;
    }
    varint53(zigzag(min), out);
    const widths = new Uint8Array(MINIBLOCKS);
    for (let m = 0; m * MINI < count; m++) {
      let max = 0;
      for (let i = m * MINI; i < Math.min(count, (m + 1) * MINI); i++) max = Math.max(max, deltas[i] - min);
      if (max >= 2 ** MAX_DELTA_BITS) {
        out.length = start;
        return false;
      }
      widths[m] = max === 0 ? 0 : 32 - Math.clz32(max);
    }
    out.raw(widths);
    for (let m = 0; m * MINI < count; m++) {
      const w = widths[m];
      if (w === 0) continue;
      out.reserve(MINI * w);
      const buf = out.buffer;
      let pos = out.length;
      let acc = 0;
      let bits = 0;
      for (let i = m * MINI; i < (m + 1) * MINI; i++) {
        acc |= (i < count ? deltas[i] - min : 0) << bits;
        bits += w;
        while (bits >= 8) {
          buf[pos++] = acc & 0xff;
          acc >>>= 8;
          bits -= 8;
        }
      }
      out.length = pos;
    }
  }
  return true;
}

const zigzag = (v: number): number => (v >= 0 ? v * 2 : -v * 2 - 1);

/** ULEB128 of a non-negative integer below 2^53. */
function varint53(v: number, out: ByteSink): void {
  while (v >= 0x80) {
    out.byte((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.byte(v);
}
