/**
 * The native column reader: native/sqlite_columns/sqlite_columns.c, a SQLite extension loaded into
 * better-sqlite3's own SQLite, packs a range of rows into one BLOB of columns; this file loads it
 * and turns that BLOB into a {@link ColumnarBatch} equal, value for value, to the one the JS
 * reader (reader.ts) makes — the differential test in test/native-columns.test.ts holds the two
 * together over hostile tables. Reading a row through better-sqlite3 costs a JS value per column;
 * this way a row costs a few C loads and JS sees each distinct string of a batch once
 * (bench/README.md, eighth pass).
 *
 * `EDGELAKE_READER=js` reads through better-sqlite3 (for comparing); `EDGELAKE_READER=native`
 * makes a missing extension an error instead of a quiet fallback.
 */
import Database from 'better-sqlite3';
import { endianness } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { ColumnarBatch, DictColumn, StoredValue } from '../batch.ts';
import { ConfigError, PipelineError } from '../errors.ts';
import { canonicalEventMs } from './event-time.ts';
import { READING_COLUMNS, type ColumnName, type NumericColumn, type TextColumn } from './schema.ts';

/** Where `npm run build:native` puts the extension; resolves alike from src/ (tsx) and build/ (tsc). */
export const COLUMNS_EXTENSION = fileURLToPath(new URL('../../build/native/sqlite_columns.node', import.meta.url));
const ENTRY_POINT = 'sqlite3_edgelakecolumns_init';
const MAGIC = 0x31434c45; // "ELC1"
const LITTLE = endianness() === 'LE';

/** Connections the extension is loaded into. */
const loadedInto = new WeakSet<Database.Database>();
let unavailable: string | null | undefined;

function wanted(): 'js' | 'native' | undefined {
  const v = process.env.EDGELAKE_READER;
  if (v === undefined || v === '') return undefined;
  if (v !== 'js' && v !== 'native') throw new ConfigError('BAD_ENV', `EDGELAKE_READER must be js or native (or unset: native where it is built), got ${JSON.stringify(v)}`);
  return v;
}

/**
 * Loads the extension into `db`; false when this process reads through better-sqlite3 instead
 * (EDGELAKE_READER=js, or the extension was not built: {@link nativeReaderUnavailable} says why).
 */
export function loadColumnsExtension(db: Database.Database): boolean {
  if (loadedInto.has(db)) return true;
  const want = wanted();
  if (want === 'js') return false;
  if (unavailable) {
    if (want === 'native') throw new ConfigError('BAD_ENV', `EDGELAKE_READER=native, but ${unavailable}`);
    return false;
  }
  try {
    // better-sqlite3 takes the entry point as a second argument; its types know only the first.
    (db.loadExtension as (path: string, entryPoint: string) => Database.Database).call(db, COLUMNS_EXTENSION, ENTRY_POINT);
  } catch (err) {
    unavailable = `${COLUMNS_EXTENSION} is not loadable (${(err as Error).message.split('\n')[0]}); build it with \`npm run build:native\``;
    if (want === 'native') throw new ConfigError('BAD_ENV', `EDGELAKE_READER=native, but ${unavailable}`, { cause: err });
    return false;
  }
  unavailable = null;
  loadedInto.add(db);
  return true;
}

/** Why this process reads through better-sqlite3, or null when it reads natively (or has not tried yet). */
export function nativeReaderUnavailable(): string | null {
  const want = wanted();
  return want === 'js' ? 'EDGELAKE_READER=js' : (unavailable ?? null);
}

/**
 * Throws a ConfigError for an EDGELAKE_READER this process cannot honour (a value other than js
 * or native, or native without the extension): `run` calls it before it starts, so the operator
 * hears it at once and not from the first worker that reads.
 */
export function checkReaderEnvironment(): void {
  if (wanted() !== 'native') return;
  const db = new Database(':memory:');
  try {
    loadColumnsExtension(db);
  } finally {
    db.close();
  }
}

const KIND = new Map<string, 'int' | 'real' | 'text'>(READING_COLUMNS.map((c) => [c.name, c.kind]));

/** What the reader reads, and how the extension is told (one letter per value argument, see the C file). */
export interface ColumnPlan {
  readonly columns: readonly ColumnName[];
  readonly extras: readonly string[];
  readonly keepTs: boolean;
  readonly layout: string;
}

/** The plan of a reader of `columns` (table order, `id` first) and `extras`. */
export function columnPlan(columns: readonly ColumnName[], extras: readonly string[], keepTs: boolean): ColumnPlan {
  let layout = '';
  for (const name of columns) {
    if (name === 'id') layout += 'i';
    else if (name === 'timestamp') layout += keepTs ? 't' : 'T';
    else if (name === 'sensor_id') layout += 'S';
    else layout += KIND.get(name) === 'text' ? 's' : 'r';
  }
  layout += 'x'.repeat(extras.length);
  return { columns, extras, keepTs, layout };
}

/** Reads the packed columns of one statement's BLOB (null: no rows). */
class Cursor {
  readonly buf: Buffer;
  readonly view: DataView;
  at = 0;

  constructor(blob: Buffer) {
    // Typed-array views need 8-byte alignment; a Buffer from better-sqlite3 has it (its own allocation).
    if (blob.byteOffset % 8 === 0) this.buf = blob;
    else {
      this.buf = Buffer.from(new ArrayBuffer(blob.byteLength));
      blob.copy(this.buf);
    }
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  u32(): number {
    const v = this.view.getUint32(this.at, LITTLE);
    this.at += 4;
    return v;
  }

  f64(): number {
    const v = this.view.getFloat64(this.at, LITTLE);
    this.at += 8;
    return v;
  }

  pad(): void {
    this.at = (this.at + 7) & ~7;
  }

  /** A copy of `n` doubles, its own buffer (batches give their columns away one by one: batch.ts releaseBuffers). */
  float64s(n: number): Float64Array {
    const out = new Float64Array(n);
    out.set(new Float64Array(this.buf.buffer, this.buf.byteOffset + this.at, n));
    this.at += 8 * n;
    return out;
  }

  int32s(n: number): Int32Array {
    const out = new Int32Array(n);
    out.set(new Int32Array(this.buf.buffer, this.buf.byteOffset + this.at, n));
    this.at += 4 * n;
    return out;
  }

  /** A view of `n` u32 (read now, not kept). */
  uint32View(n: number): Uint32Array {
    const v = new Uint32Array(this.buf.buffer, this.buf.byteOffset + this.at, n);
    this.at += 4 * n;
    return v;
  }

  /** Text from `start` to `end` (absolute), as better-sqlite3 would have made it. */
  text(start: number, end: number, ascii: boolean): string {
    return this.buf.toString(ascii ? 'latin1' : 'utf8', start, end);
  }

  /** One tagged value (see the C file): as better-sqlite3 returns it without safe integers. */
  value(): StoredValue {
    const type = this.view.getUint8(this.at++);
    switch (type) {
      case 1: {
        const v = Number(this.view.getBigInt64(this.at, LITTLE));
        this.at += 8;
        return v;
      }
      case 2:
        return this.f64();
      case 3:
      case 4: {
        const n = this.u32();
        const start = this.at;
        this.at += n;
        if (type === 3) return this.text(start, start + n, false);
        // Its own memory, as better-sqlite3 copies a BLOB (not a slice of Node's pool, nor of this batch).
        const b = Buffer.allocUnsafeSlow(n);
        this.buf.copy(b, 0, start, start + n);
        return b;
      }
      case 5:
        return null;
      default:
        throw new PipelineError('SOURCE_READ_FAILED', `the native column reader returned a value of unknown type ${type} at byte ${this.at - 1}`);
    }
  }
}

/**
 * The batch in `blob` (what `edgelake_columns(plan.layout, …)` returned; null for no rows).
 * `slowEventTime` is SQLite's parse of a timestamp the fast paths leave to it (seconds, or null).
 */
export function decodeColumns(blob: Buffer | null, plan: ColumnPlan, slowEventTime: (text: string) => unknown): ColumnarBatch {
  const { columns, extras, keepTs } = plan;
  const numeric: Partial<Record<NumericColumn, Float64Array>> = {};
  const text: Partial<Record<TextColumn, DictColumn>> = {};
  const irregular = new Map<ColumnName, Map<number, StoredValue>>();
  const extra = new Map<string, StoredValue[]>();
  if (blob === null) {
    for (const name of columns) {
      if (name === 'id' || name === 'timestamp') continue;
      if (KIND.get(name) === 'text') text[name as TextColumn] = { codes: new Int32Array(0), values: [] };
      else numeric[name as NumericColumn] = new Float64Array(0);
    }
    for (const name of extras) extra.set(name, []);
    return { length: 0, columns, extra, id: new Float64Array(0), eventMs: new Float64Array(0), timestampText: keepTs ? [] : null, numeric, text, irregular, rawBytes: 0 };
  }
  const c = new Cursor(blob);
  if (c.u32() !== MAGIC) throw new PipelineError('SOURCE_READ_FAILED', 'the native column reader returned a BLOB that is not a batch (wrong magic number)');
  const n = c.u32();
  const ncols = c.u32();
  const flags = c.u32();
  let rawBytes = c.f64();
  if (ncols !== columns.length + extras.length) throw new PipelineError('SOURCE_READ_FAILED', `the native column reader returned ${ncols} columns, expected ${columns.length + extras.length}`);
  let id: Float64Array | null = null;
  let eventMs: Float64Array | null = null;
  let timestampText: (string | null)[] | null = null;
  for (const name of columns) {
    if (name === 'id') id = c.float64s(n);
    else if (name === 'timestamp') {
      eventMs = c.float64s(n);
      if (keepTs) {
        const starts = c.uint32View(n + 1);
        const isText = new Uint8Array(c.buf.buffer, c.buf.byteOffset + c.at, n);
        c.at += n;
        const base = c.at;
        const ascii = (flags & 1) !== 0;
        const ts = (timestampText = new Array<string | null>(n));
        for (let r = 0; r < n; r++) ts[r] = isText[r] ? c.text(base + starts[r], base + starts[r + 1], ascii) : null;
        c.at = base + starts[n];
        c.pad();
      }
    } else if (KIND.get(name) === 'text') {
      const codes = c.int32s(n);
      c.pad();
      const count = c.u32();
      c.u32(); // bytes (the last start)
      const ascii = c.u32() === 1;
      c.u32();
      const starts = c.uint32View(count + 1);
      const hits = c.uint32View(count);
      const base = c.at;
      const values = new Array<string>(count);
      for (let k = 0; k < count; k++) {
        values[k] = c.text(base + starts[k], base + starts[k + 1], ascii);
        rawBytes += hits[k] * values[k].length;
      }
      c.at = base + starts[count];
      c.pad();
      text[name as TextColumn] = { codes, values: ascii ? values : mergeEqual(codes, values) };
    } else numeric[name as NumericColumn] = c.float64s(n);
  }
  for (const name of extras) {
    const len = c.u32();
    const end = c.at + len;
    const values = new Array<StoredValue>(n);
    for (let r = 0; r < n; r++) {
      const v = c.value();
      if (typeof v === 'string') rawBytes += v.length;
      values[r] = v;
    }
    if (c.at !== end) throw new PipelineError('SOURCE_READ_FAILED', `the native column reader's values of extra column ${JSON.stringify(name)} do not add up`);
    c.pad();
    extra.set(name, values);
  }
  if (!id) throw new PipelineError('SOURCE_READ_FAILED', 'the native column reader returned no id column');
  for (let k = c.u32(); k > 0; k--) {
    const col = c.u32();
    const row = c.u32();
    const v = c.value();
    const name = columns[col];
    if (col === 0) {
      // An id of another type than INTEGER, converted as the JS reader does.
      id[row] = typeof v === 'number' ? v : Number(v);
      continue;
    }
    if (typeof v === 'string') rawBytes += v.length;
    let m = irregular.get(name);
    if (!m) irregular.set(name, (m = new Map()));
    m.set(row, v);
  }
  for (let k = c.u32(); k > 0; k--) {
    const row = c.u32();
    const len = c.u32();
    const t = c.text(c.at, c.at + len, false);
    c.at += len;
    rawBytes += t.length;
    let ms = canonicalEventMs(t);
    if (ms === undefined) {
      const secs = slowEventTime(t);
      ms = typeof secs === 'number' ? Math.round(secs * 1000) : NaN;
    }
    eventMs![row] = ms;
  }
  if (!eventMs) eventMs = new Float64Array(n).fill(NaN);
  return { length: n, columns, extra, id, eventMs, timestampText, numeric, text, irregular, rawBytes };
}

/**
 * Distinct byte strings that decode to one string (invalid UTF-8 becomes U+FFFD) are one value
 * to the JS reader, which keys its dictionary by the decoded text: merged here the same way,
 * keeping first-seen order.
 */
function mergeEqual(codes: Int32Array, values: string[]): string[] {
  const first = new Map<string, number>();
  const remap = new Int32Array(values.length);
  const out: string[] = [];
  let merged = false;
  for (let k = 0; k < values.length; k++) {
    const seen = first.get(values[k]);
    if (seen === undefined) {
      first.set(values[k], out.length);
      remap[k] = out.length;
      out.push(values[k]);
    } else {
      remap[k] = seen;
      merged = true;
    }
  }
  if (!merged) return values;
  for (let r = 0; r < codes.length; r++) if (codes[r] >= 0) codes[r] = remap[codes[r]];
  return out;
}
