import { ByteSink } from './bytes.ts';
import type { Codec } from './codec.ts';
import { deltaInt64s, int64Bytes, levels, plainBooleans, plainDoubles, plainInt64s } from './page.ts';
import { bitWidth, encodeHybrid } from './rle.ts';
import { bytePool, f64Pool, i32Pool } from './scratch.ts';
import type { LeafSpec } from './schema.ts';
import { i64, thriftStruct, type ThriftStruct } from './thrift.ts';

/**
 * One leaf column of a row group: its levels and values are appended (by the typed fillers
 * below or by the record shredder), and every call of {@link LeafColumn.flushPage} turns what
 * was appended into one compressed data page (v1: repetition levels, definition levels, values,
 * compressed together). Text is dictionary-encoded (one PLAIN dictionary page before the data
 * pages, RLE_DICTIONARY indices in them) until the dictionary stops paying — more than half of
 * a page's values new, or past {@link DICT_MAX_BYTES} — and PLAIN from that page on, as
 * parquet-mr does. Numbers (DOUBLE, INT64) are dictionary-encoded the same way while the
 * dictionary at least halves a page: sensor readings have few distinct values (a precision of
 * 0.01, a sensor's fixed position) and shrink to a few bits per row before zstd; unique values
 * (ids, instants) leave it after a few thousand values and are DELTA_BINARY_PACKED when their
 * steps are small (INT64), else PLAIN. BOOLEAN is PLAIN.
 */

/** Dictionary bytes past which a text column falls back to PLAIN pages. */
export const DICT_MAX_BYTES = 1 << 20;
const DICT_MAX_ENTRIES = 1 << 16;
/** Values of a first page after which text that is mostly distinct leaves the dictionary. */
const EARLY_LOOK = 1024;

const PAGE_DATA = 0;
const PAGE_DICTIONARY = 2;
const ENC_PLAIN = 0;
const ENC_RLE = 3;
const ENC_RLE_DICTIONARY = 8;
const ENC_DELTA_BINARY_PACKED = 5;

/** Numbers interned before a page whose values are mostly distinct leaves the dictionary. */
const NUMBER_LOOK = 4096;

/** Where a column chunk's pages are, once written: its pieces and the metadata the footer needs. */
export interface ChunkPieces {
  readonly pages: readonly Uint8Array[];
  /** Bytes before the first data page (the dictionary page), 0 without one. */
  readonly dictionaryBytes: number;
  readonly meta: (offset: number) => ThriftStruct;
  readonly bytes: number;
  readonly uncompressedBytes: number;
}

/** See the file comment. */
export class LeafColumn {
  readonly spec: LeafSpec;
  readonly #codec: Codec;
  /** Levels of the current page (definition always: every leaf is optional; repetition inside lists). */
  #defs = EMPTY_U8;
  #reps: Uint8Array<ArrayBuffer> | null;
  /** Level entries in the current page. */
  #n = 0;
  /** Values of the current page: numbers (DOUBLE, INT64, TIMESTAMP ms, BOOLEAN 0/1) or dictionary indices / strings. */
  #num = EMPTY_F64;
  #idx = EMPTY_I32;
  #plain: string[] = [];
  #nv = 0;
  // Text: the chunk's dictionary.
  #dict: Map<string, number> | null;
  readonly #dictValues: string[] = [];
  #dictBytes = 0;
  #dictPages = 0;
  // Numbers: the chunk's dictionary (values stay in #num while a page is filled; interned when it is written).
  #numDict: Map<number, number> | null;
  readonly #numDictValues: number[] = [];
  /** Dictionary indices of a batch dictionary's codes (-1: not yet seen), per batch dictionary. */
  #codeMaps = new WeakMap<readonly string[], Int32Array>();
  // The chunk so far.
  readonly #pages: Uint8Array[] = [];
  #uncompressed = 0;
  #compressed = 0;
  #levels = 0;
  #valueCount = 0;
  /** Dictionary entries when the current page began (the fallback rule looks at what a page adds). */
  #dictAtPage = 0;
  #min = Infinity;
  #max = -Infinity;
  readonly #encodings = new Set<number>([ENC_RLE]);

  constructor(spec: LeafSpec, codec: Codec) {
    this.spec = spec;
    this.#codec = codec;
    this.#reps = spec.maxRep > 0 ? EMPTY_U8 : null;
    this.#dict = spec.physical === 'BYTE_ARRAY' ? new Map() : null;
    this.#numDict = spec.physical === 'DOUBLE' || spec.physical === 'INT64' ? new Map() : null;
  }

  /** Makes room for `k` more level entries and values (buffers come from the thread's pool: see scratch.ts). */
  reserve(k: number): void {
    const need = this.#n + k;
    if (need > this.#defs.length) {
      const cap = Math.max(need, this.#defs.length * 2);
      this.#defs = regrow(bytePool, this.#defs, cap, this.#n);
      if (this.#reps) this.#reps = regrow(bytePool, this.#reps, cap, this.#n);
    }
    const needV = this.#nv + k;
    if (this.spec.physical === 'BYTE_ARRAY') {
      if (needV > this.#idx.length) this.#idx = regrow(i32Pool, this.#idx, Math.max(needV, this.#idx.length * 2), this.#nv);
    } else if (needV > this.#num.length) this.#num = regrow(f64Pool, this.#num, Math.max(needV, this.#num.length * 2), this.#nv);
  }

  /** An entry without a value: null (or an absent or empty ancestor) at definition level `def`. */
  level(def: number, rep = 0): void {
    this.reserve(1);
    if (this.#reps) this.#reps[this.#n] = rep;
    this.#defs[this.#n++] = def;
  }

  /** A present number (DOUBLE, INT64, TIMESTAMP ms; BOOLEAN as 0/1). */
  number(v: number, rep = 0): void {
    this.reserve(1);
    if (this.#reps) this.#reps[this.#n] = rep;
    this.#defs[this.#n++] = this.spec.maxDef;
    this.#num[this.#nv++] = v;
  }

  /** A present text value. */
  text(s: string, rep = 0): void {
    this.reserve(1);
    if (this.#reps) this.#reps[this.#n] = rep;
    this.#defs[this.#n++] = this.spec.maxDef;
    if (this.#dict) this.#idx[this.#nv++] = this.#intern(s);
    else this.#plain[this.#nv++] = s;
  }

  #intern(s: string): number {
    let i = this.#dict!.get(s);
    if (i === undefined) {
      i = this.#dictValues.length;
      this.#dict!.set(s, i);
      this.#dictValues.push(s);
      this.#dictBytes += 4 + Buffer.byteLength(s, 'utf8');
    }
    return i;
  }

  /** `count` copies of one entry (a value constant over the rows, e.g. `_pipeline.batch_id`); `value` undefined: no value at `def`. */
  repeat(def: number, rep: number, value: number | string | undefined, count: number): void {
    if (count <= 0) return;
    this.reserve(count);
    const from = this.#n;
    this.#defs.fill(def, from, from + count);
    if (this.#reps) this.#reps.fill(rep, from, from + count);
    this.#n += count;
    if (value === undefined) return;
    if (typeof value === 'number') this.#num.fill(value, this.#nv, this.#nv + count);
    else if (this.#dict) this.#idx.fill(this.#intern(value), this.#nv, this.#nv + count);
    else this.#plain.fill(value, this.#nv, this.#nv + count);
    this.#nv += count;
  }

  // Typed fillers: rows `rows[from … to)` of a batch column, this leaf's ancestors all present.

  /** Doubles; NaN is null, and so are ±Infinity when `finiteOnly`. */
  doubles(values: Float64Array, rows: Int32Array, from: number, to: number, finiteOnly: boolean): void {
    this.reserve(to - from);
    const defs = this.#defs;
    const num = this.#num;
    const present = this.spec.maxDef;
    let n = this.#n;
    let nv = this.#nv;
    for (let k = from; k < to; k++) {
      const v = values[rows[k]];
      if (finiteOnly ? v - v === 0 : v === v) {
        defs[n++] = present;
        num[nv++] = v;
      } else defs[n++] = present - 1;
    }
    this.#n = n;
    this.#nv = nv;
  }

  /** Integers (BIGINT; BOOLEAN from 0/1 when this leaf is boolean): anything else is null. */
  integers(values: Float64Array, rows: Int32Array, from: number, to: number): void {
    this.reserve(to - from);
    const defs = this.#defs;
    const num = this.#num;
    const present = this.spec.maxDef;
    const bool = this.spec.physical === 'BOOLEAN';
    let n = this.#n;
    let nv = this.#nv;
    for (let k = from; k < to; k++) {
      const v = values[rows[k]];
      if (bool ? v === 0 || v === 1 : Number.isSafeInteger(v)) {
        defs[n++] = present;
        num[nv++] = v;
      } else defs[n++] = present - 1;
    }
    this.#n = n;
    this.#nv = nv;
  }

  /** Instants in epoch ms (TIMESTAMP, floored to the ms); NaN and instants outside [min, max] are null. */
  instants(ms: Float64Array, rows: Int32Array, from: number, to: number, min: number, max: number): void {
    this.reserve(to - from);
    const defs = this.#defs;
    const num = this.#num;
    const present = this.spec.maxDef;
    let n = this.#n;
    let nv = this.#nv;
    for (let k = from; k < to; k++) {
      const v = ms[rows[k]];
      if (v >= min && v <= max) {
        defs[n++] = present;
        num[nv++] = Math.floor(v);
      } else defs[n++] = present - 1;
    }
    this.#n = n;
    this.#nv = nv;
  }

  /** Text from a batch dictionary column (code -1 is null); each distinct code is interned once per batch. */
  dictionary(codes: Int32Array, values: readonly string[], rows: Int32Array, from: number, to: number): void {
    this.reserve(to - from);
    const defs = this.#defs;
    const present = this.spec.maxDef;
    let n = this.#n;
    let nv = this.#nv;
    if (!this.#dict) {
      const plain = this.#plain;
      for (let k = from; k < to; k++) {
        const c = codes[rows[k]];
        if (c >= 0) {
          defs[n++] = present;
          plain[nv++] = values[c];
        } else defs[n++] = present - 1;
      }
    } else {
      let map = this.#codeMaps.get(values);
      if (!map || map.length !== values.length) this.#codeMaps.set(values, (map = new Int32Array(values.length).fill(-1)));
      const idx = this.#idx;
      for (let k = from; k < to; k++) {
        const c = codes[rows[k]];
        if (c >= 0) {
          let i = map[c];
          if (i < 0) i = map[c] = this.#intern(values[c]);
          defs[n++] = present;
          idx[nv++] = i;
        } else defs[n++] = present - 1;
      }
    }
    this.#n = n;
    this.#nv = nv;
  }

  /** Text per row (null is null). */
  strings(values: readonly (string | null)[], rows: Int32Array, from: number, to: number): void {
    for (let k = from; k < to; k++) {
      const s = values[rows[k]];
      if (s === null) this.level(this.spec.maxDef - 1);
      else this.text(s);
      // Text per row is often unique (ingestion's timestamp as stored): give up the dictionary early, before any page used it.
      if (this.#nv === EARLY_LOOK && this.#dict && this.#dictPages === 0 && this.#dictValues.length * 2 > EARLY_LOOK) this.#plainFromHere();
    }
  }

  /** Leaves dictionary encoding: the current page's values become plain text, and so does every later page. */
  #plainFromHere(): void {
    for (let i = 0; i < this.#nv; i++) this.#plain[i] = this.#dictValues[this.#idx[i]];
    this.#dict = null;
    this.#codeMaps = new WeakMap();
  }

  /** True when something was appended since the last page. */
  get pending(): boolean {
    return this.#n > 0;
  }

  /** Turns what was appended into one compressed data page. */
  flushPage(): void {
    if (this.#n === 0) return;
    const out = PAGE_OUT;
    out.reset();
    const levelWidth = bitWidth(this.spec.maxDef);
    if (this.#reps) levels(this.#reps, this.#n, bitWidth(this.spec.maxRep), out);
    levels(this.#defs, this.#n, levelWidth, out);
    const encoding = this.#values(out);
    this.#encodings.add(encoding);
    const body = out.bytes();
    const compressed = this.#codec.compress(body);
    const header = thriftStruct({
      1: PAGE_DATA,
      2: body.length,
      3: compressed.length,
      5: { 1: this.#n, 2: encoding, 3: ENC_RLE, 4: ENC_RLE },
    });
    this.#pages.push(header, compressed);
    this.#uncompressed += header.length + body.length;
    this.#compressed += header.length + compressed.length;
    this.#levels += this.#n;
    this.#valueCount += this.#nv;
    this.#dictAtPage = this.#dictValues.length;
    this.#n = 0;
    this.#nv = 0;
    this.#plain.length = 0;
  }

  /** Writes the page's values; returns their encoding. */
  #values(out: ByteSink): number {
    const nv = this.#nv;
    const phys = this.spec.physical;
    if (phys === 'DOUBLE' || phys === 'INT64') {
      if (phys === 'INT64') this.#minMax(nv);
      if (this.#numDict && this.#internNumbers(nv)) return this.#indices(out, this.#numDictValues.length);
      if (phys === 'DOUBLE') plainDoubles(this.#num, nv, out);
      else if (deltaInt64s(this.#num, nv, out)) return ENC_DELTA_BINARY_PACKED;
      else plainInt64s(this.#num, nv, out);
      return ENC_PLAIN;
    }
    if (phys === 'BOOLEAN') {
      plainBooleans(this.#num, nv, out);
      return ENC_PLAIN;
    }
    if (this.#dict) {
      const added = this.#dictValues.length - this.#dictAtPage;
      const tooBig = this.#dictBytes > DICT_MAX_BYTES || this.#dictValues.length > DICT_MAX_ENTRIES || (added > 64 && added * 2 > nv);
      if (!tooBig) return this.#indices(out, this.#dictValues.length);
      // The dictionary stops here (the pages before keep using it); this page and the rest are PLAIN.
      this.#plainFromHere();
    }
    for (let i = 0; i < nv; i++) out.lengthPrefixed(this.#plain[i]);
    return ENC_PLAIN;
  }

  /** The page's dictionary indices (`#idx`): bit width, then the hybrid encoding. */
  #indices(out: ByteSink, entries: number): number {
    const width = Math.max(1, bitWidth(entries - 1));
    out.byte(width);
    encodeHybrid(this.#idx, this.#nv, width, out);
    this.#dictPages++;
    return ENC_RLE_DICTIONARY;
  }

  /** Interns the page's numbers into the chunk's dictionary (indices into `#idx`); false, and PLAIN from here on, when it does not pay. */
  #internNumbers(nv: number): boolean {
    const dict = this.#numDict!;
    const values = this.#numDictValues;
    const num = this.#num;
    if (this.#idx.length < nv) this.#idx = regrow(i32Pool, this.#idx, Math.max(nv, this.#idx.length * 2), 0);
    const idx = this.#idx;
    const before = values.length;
    for (let i = 0; i < nv; i++) {
      const v = num[i];
      let k = dict.get(v);
      if (k === undefined) {
        // -0 and 0 are one Map key: a -0 is kept exact by PLAIN pages.
        if (v === 0 && 1 / v < 0) return this.#plainNumbers();
        k = values.length;
        values.push(v);
        dict.set(v, k);
        if (i === NUMBER_LOOK && values.length - before > NUMBER_LOOK / 2) return this.#plainNumbers();
      }
      idx[i] = k;
    }
    const width = Math.max(1, bitWidth(values.length - 1));
    // It pays when the dictionary and the indices take at most half of the plain values.
    if (values.length > DICT_MAX_ENTRIES || (values.length - before) * 8 + (nv * width) / 8 > nv * 4) return this.#plainNumbers();
    return true;
  }

  #plainNumbers(): false {
    this.#numDict = null;
    return false;
  }

  /** Gives the page buffers back to the thread's pool (the chunk is written). */
  #release(): void {
    bytePool.give(this.#defs);
    if (this.#reps) bytePool.give(this.#reps);
    f64Pool.give(this.#num);
    i32Pool.give(this.#idx);
    this.#defs = EMPTY_U8;
    this.#reps = this.#reps ? EMPTY_U8 : null;
    this.#num = EMPTY_F64;
    this.#idx = EMPTY_I32;
  }

  /** Running min/max of an INT64 page, for the chunk's statistics. */
  #minMax(nv: number): void {
    const num = this.#num;
    let min = this.#min;
    let max = this.#max;
    for (let i = 0; i < nv; i++) {
      const v = num[i];
      if (v < min) min = v;
      if (v > max) max = v;
    }
    this.#min = min;
    this.#max = max;
  }

  /** Ends the chunk: the dictionary page (if any page used it) and the data pages, with the footer's column metadata. */
  finish(): ChunkPieces {
    this.flushPage();
    const pages: Uint8Array[] = [];
    let dictionaryBytes = 0;
    let uncompressed = this.#uncompressed;
    if (this.#dictPages > 0) {
      const out = PAGE_OUT;
      out.reset();
      const entries = this.spec.physical === 'BYTE_ARRAY' ? this.#dictValues.length : this.#numDictValues.length;
      if (this.spec.physical === 'DOUBLE') plainDoubles(Float64Array.from(this.#numDictValues), entries, out);
      else if (this.spec.physical === 'INT64') plainInt64s(this.#numDictValues, entries, out);
      else for (const v of this.#dictValues) out.lengthPrefixed(v);
      const body = out.bytes();
      const compressed = this.#codec.compress(body);
      const header = thriftStruct({ 1: PAGE_DICTIONARY, 2: body.length, 3: compressed.length, 7: { 1: entries, 2: ENC_PLAIN } });
      pages.push(header, compressed);
      dictionaryBytes = header.length + compressed.length;
      uncompressed += header.length + body.length;
      this.#encodings.add(ENC_PLAIN);
    }
    pages.push(...this.#pages);
    this.#release();
    const compressed = dictionaryBytes + this.#compressed;
    const spec = this.spec;
    const stats: ThriftStruct = { 3: i64(this.#levels - this.#valueCount) };
    // Min/max only where the order is plain signed integer order (ids, counts, timestamps): readers prune by them.
    if (spec.physical === 'INT64' && this.#min <= this.#max) {
      const lo = int64Bytes(this.#min);
      const hi = int64Bytes(this.#max);
      Object.assign(stats, { 1: hi, 2: lo, 5: hi, 6: lo });
    }
    const encodings = [...this.#encodings].sort((a, b) => a - b);
    const levels = this.#levels;
    return {
      pages,
      dictionaryBytes,
      bytes: compressed,
      uncompressedBytes: uncompressed,
      meta: (offset) => ({
        1: TYPE[spec.physical],
        2: { list: 'i32', items: encodings },
        3: { list: 'binary', items: [...spec.path] },
        4: this.#codec.id,
        5: i64(levels),
        6: i64(uncompressed),
        7: i64(compressed),
        9: i64(offset + dictionaryBytes),
        11: dictionaryBytes > 0 ? i64(offset) : undefined,
        12: stats,
      }),
    };
  }
}

const TYPE = { BOOLEAN: 0, INT64: 2, DOUBLE: 5, BYTE_ARRAY: 6 } as const;

/** One page encoder per thread: pages are encoded and compressed one at a time. */
const PAGE_OUT = new ByteSink();

const EMPTY_U8 = new Uint8Array(0);
const EMPTY_F64 = new Float64Array(0);
const EMPTY_I32 = new Int32Array(0);

/** A pooled array of at least `cap` elements holding the first `used` of `a`; `a` goes back to the pool. */
function regrow<T extends Uint8Array<ArrayBuffer> | Float64Array<ArrayBuffer> | Int32Array<ArrayBuffer>>(pool: { take(n: number): T; give(a: T): void }, a: T, cap: number, used: number): T {
  const next = pool.take(cap);
  if (used > 0) next.set(a.subarray(0, used) as never);
  pool.give(a);
  return next;
}
