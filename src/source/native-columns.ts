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
import { dictCode, type ColumnarBatch, type DictColumn, type StoredValue } from '../batch.ts';
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

  /** Copies `n` doubles into `out` from index `at`. */
  float64sInto(out: Float64Array, at: number, n: number): void {
    out.set(new Float64Array(this.buf.buffer, this.buf.byteOffset + this.at, n), at);
    this.at += 8 * n;
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
 * Builds one batch out of the BLOBs of consecutive pieces of a read (what
 * `edgelake_columns(plan.layout, …)` returned for each; null for a piece without rows), straight
 * into the batch's own columns: a piece's values are copied once, from the BLOB into place, and
 * its dictionary codes are mapped to the batch's (first seen first, as the JS reader numbers
 * them). No per-piece arrays: at 8k rows a piece, those were ≈ 12 MB of garbage a batch in each
 * worker, most of it in malloc's arenas until the next collection.
 * `slowEventTime` is SQLite's parse of a timestamp the fast paths leave to it (seconds, or null).
 */
export class NativeBatchBuilder {
  readonly #plan: ColumnPlan;
  readonly #slowEventTime: (text: string) => unknown;
  #n = 0;
  #rawBytes = 0;
  readonly #id: Float64Array;
  readonly #eventMs: Float64Array;
  readonly #ts: (string | null)[] | null;
  readonly #numeric: Float64Array[] = [];
  readonly #codes: Int32Array[] = [];
  readonly #dicts: Array<Map<string, number>> = [];
  readonly #values: string[][] = [];
  readonly #extra: StoredValue[][];
  readonly #irregular = new Map<ColumnName, Map<number, StoredValue>>();

  constructor(plan: ColumnPlan, capacity: number, slowEventTime: (text: string) => unknown) {
    this.#plan = plan;
    this.#slowEventTime = slowEventTime;
    this.#id = new Float64Array(capacity);
    this.#eventMs = new Float64Array(capacity);
    // Without a timestamp column no row has an event time.
    if (!plan.columns.includes('timestamp')) this.#eventMs.fill(NaN);
    this.#ts = plan.keepTs ? [] : null;
    for (const name of plan.columns) {
      const text = name !== 'id' && name !== 'timestamp' && KIND.get(name) === 'text';
      const numeric = name !== 'id' && name !== 'timestamp' && !text;
      this.#numeric.push(numeric ? new Float64Array(capacity) : EMPTY_F64);
      this.#codes.push(text ? new Int32Array(capacity) : EMPTY_I32);
      this.#dicts.push(new Map());
      this.#values.push([]);
    }
    this.#extra = plan.extras.map(() => []);
  }

  /** Appends the rows of one piece. */
  add(blob: Buffer | null): void {
    if (blob === null) return;
    const { columns, extras, keepTs } = this.#plan;
    const c = new Cursor(blob);
    if (c.u32() !== MAGIC) throw new PipelineError('SOURCE_READ_FAILED', 'the native column reader returned a BLOB that is not a batch (wrong magic number)');
    const n = c.u32();
    const ncols = c.u32();
    const flags = c.u32();
    let rawBytes = c.f64();
    if (ncols !== columns.length + extras.length) throw new PipelineError('SOURCE_READ_FAILED', `the native column reader returned ${ncols} columns, expected ${columns.length + extras.length}`);
    const at = this.#n;
    if (at + n > this.#id.length) throw new PipelineError('SOURCE_READ_FAILED', `the native column reader returned ${at + n} rows for a read of at most ${this.#id.length}`);
    for (let col = 0; col < columns.length; col++) {
      const name = columns[col];
      if (name === 'id') c.float64sInto(this.#id, at, n);
      else if (name === 'timestamp') {
        c.float64sInto(this.#eventMs, at, n);
        if (keepTs) {
          const starts = c.uint32View(n + 1);
          const isText = new Uint8Array(c.buf.buffer, c.buf.byteOffset + c.at, n);
          c.at += n;
          const base = c.at;
          const ascii = (flags & 1) !== 0;
          const ts = this.#ts!;
          for (let r = 0; r < n; r++) ts.push(isText[r] ? c.text(base + starts[r], base + starts[r + 1], ascii) : null);
          c.at = base + starts[n];
          c.pad();
        }
      } else if (KIND.get(name) === 'text') {
        const codes = new Int32Array(c.buf.buffer, c.buf.byteOffset + c.at, n);
        c.at += 4 * n;
        c.pad();
        const count = c.u32();
        c.u32(); // bytes (the last start)
        const ascii = c.u32() === 1;
        c.u32();
        const starts = c.uint32View(count + 1);
        const hits = c.uint32View(count);
        const base = c.at;
        // The piece's codes → the batch's: keyed by the decoded text, as the JS reader keys its
        // dictionary (two invalid UTF-8 byte strings that both decode to U+FFFD are one value).
        const dict = this.#dicts[col];
        const values = this.#values[col];
        const remap = new Int32Array(count);
        for (let k = 0; k < count; k++) {
          const v = c.text(base + starts[k], base + starts[k + 1], ascii);
          rawBytes += hits[k] * v.length;
          remap[k] = dictCode(dict, values, v);
        }
        const out = this.#codes[col];
        for (let r = 0; r < n; r++) {
          const k = codes[r];
          out[at + r] = k < 0 ? -1 : remap[k];
        }
        c.at = base + starts[count];
        c.pad();
      } else c.float64sInto(this.#numeric[col], at, n);
    }
    for (let e = 0; e < extras.length; e++) {
      const len = c.u32();
      const end = c.at + len;
      const values = this.#extra[e];
      for (let r = 0; r < n; r++) {
        const v = c.value();
        if (typeof v === 'string') rawBytes += v.length;
        values.push(v);
      }
      if (c.at !== end) throw new PipelineError('SOURCE_READ_FAILED', `the native column reader's values of extra column ${JSON.stringify(extras[e])} do not add up`);
      c.pad();
    }
    for (let k = c.u32(); k > 0; k--) {
      const col = c.u32();
      const row = at + c.u32();
      const v = c.value();
      if (col === 0) {
        // An id of another type than INTEGER, converted as the JS reader does.
        this.#id[row] = typeof v === 'number' ? v : Number(v);
        continue;
      }
      if (typeof v === 'string') rawBytes += v.length;
      const name = columns[col];
      let m = this.#irregular.get(name);
      if (!m) this.#irregular.set(name, (m = new Map()));
      m.set(row, v);
    }
    for (let k = c.u32(); k > 0; k--) {
      const row = at + c.u32();
      const len = c.u32();
      const t = c.text(c.at, c.at + len, false);
      c.at += len;
      rawBytes += t.length;
      let ms = canonicalEventMs(t);
      if (ms === undefined) {
        const secs = this.#slowEventTime(t);
        ms = typeof secs === 'number' ? Math.round(secs * 1000) : NaN;
      }
      this.#eventMs[row] = ms;
    }
    this.#n += n;
    this.#rawBytes += rawBytes;
  }

  /** Rows added so far. */
  get length(): number {
    return this.#n;
  }

  /** The id of the last row added (NaN before any). */
  get lastId(): number {
    return this.#n > 0 ? this.#id[this.#n - 1] : NaN;
  }

  finish(): ColumnarBatch {
    const n = this.#n;
    const { columns, extras } = this.#plan;
    const numeric: Partial<Record<NumericColumn, Float64Array>> = {};
    const text: Partial<Record<TextColumn, DictColumn>> = {};
    for (let col = 0; col < columns.length; col++) {
      const name = columns[col];
      if (name === 'id' || name === 'timestamp') continue;
      if (KIND.get(name) === 'text') text[name as TextColumn] = { codes: this.#codes[col].subarray(0, n), values: this.#values[col] };
      else numeric[name as NumericColumn] = this.#numeric[col].subarray(0, n);
    }
    const extra = new Map<string, StoredValue[]>();
    extras.forEach((name, e) => extra.set(name, this.#extra[e]));
    return {
      length: n,
      columns,
      extra,
      id: this.#id.subarray(0, n),
      eventMs: this.#eventMs.subarray(0, n),
      timestampText: this.#ts,
      numeric,
      text,
      irregular: this.#irregular,
      rawBytes: this.#rawBytes,
    };
  }
}

const EMPTY_F64 = new Float64Array(0);
const EMPTY_I32 = new Int32Array(0);
