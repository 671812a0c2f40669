import type Database from 'better-sqlite3';
import { dictCode, type ColumnarBatch, type DictColumn, type StoredValue } from '../batch.ts';
import { PipelineError } from '../errors.ts';
import { READING_COLUMNS, type ColumnName, type NumericColumn, type TextColumn } from './schema.ts';
import { canonicalEventMs } from './event-time.ts';
import { requireColumns, tableColumns } from './table.ts';
import { columnPlan, loadColumnsExtension, NativeBatchBuilder, type ColumnPlan } from './native-columns.ts';

/** Options of {@link SensorReader}. */
export interface ReaderOptions {
  /** An open connection to the sensor database (read-only is enough). */
  readonly db: Database.Database;
  /** The contract's columns to read (`id` always; `timestamp` whenever the table has it). Default: all 27. */
  readonly columns?: readonly ColumnName[];
  /** Columns outside the contract to read as stored (ingestion keeps every column). Default none. */
  readonly extras?: readonly string[];
  /** Keep the timestamp text as stored (ingestion needs it). Default true. */
  readonly keepTimestampText?: boolean;
  /**
   * Read through the native column reader where it is built (native-columns.ts), else through
   * better-sqlite3 row by row. Default true; false reads through better-sqlite3 (the two make
   * equal batches: test/native-columns.test.ts).
   */
  readonly native?: boolean;
  /** Rows the native reader packs per statement (default {@link nativePieceRows} of the layout). */
  readonly nativeChunkRows?: number;
}

/**
 * Rows per BLOB of the native reader, at most. A read of 50k rows in one BLOB held it three times
 * at once (SQLite's result, better-sqlite3's copy, the batch's columns): ≈ 50 MB a worker, which
 * took a 10M-row enriched drain from 280 to 335 MiB. In pieces, each is decoded straight into the
 * batch's columns (NativeBatchBuilder). See {@link nativePieceRows} for narrower layouts.
 */
export const NATIVE_CHUNK_ROWS = 4096;

/** What a piece's BLOB may take to stay under glibc's mmap threshold (256 KiB, src/cli/malloc.ts), with room for its dictionaries. */
const PIECE_BYTES = 224 * 1024;
/** Fewer rows than this a piece cost more in statements and arena memory than the threshold saves. */
const MIN_FITTING_ROWS = 2048;
/** BLOB bytes per row of each layout kind (native-columns.ts), dictionaries aside; a kept timestamp's text taken as 27 bytes, an extra column's value as 16. */
const ROW_BYTES: Readonly<Record<string, number>> = { i: 8, r: 8, T: 8, s: 4, S: 4, t: 40, x: 16 };

/**
 * Rows per piece for a column layout: NATIVE_CHUNK_ROWS, or fewer where that keeps the BLOB under
 * the mmap threshold with at least MIN_FITTING_ROWS rows. better-sqlite3 copies every BLOB into
 * a Buffer of its own; above the threshold that copy is mapped, faulted in and unmapped per piece
 * (a TLB shootdown on the other core each). The detector's and aggregated's columns (≈ 60–68
 * bytes a row, 4096 rows ≈ 250–280 KB) fit in pieces of 3,370–3,820 rows. A wide layout — every
 * contract column, ≈ 340 bytes a row — would need ≈ 650: pieces of 640 rows took a 10M-row
 * enriched Parquet drain from 245–254 to 258–262 MiB peak (malloc arenas fragment) for no
 * measurable time, so it keeps 4096 (bench/README.md, eleventh pass).
 */
export function nativePieceRows(layout: string): number {
  let bytes = 0;
  for (const kind of layout) bytes += ROW_BYTES[kind] ?? 16;
  const fit = Math.floor(PIECE_BYTES / Math.max(1, bytes));
  return fit >= MIN_FITTING_ROWS && fit < NATIVE_CHUNK_ROWS ? fit : NATIVE_CHUNK_ROWS;
}

type Kind = 'int' | 'real' | 'text' | 'extra';
const KIND = new Map<string, Kind>(READING_COLUMNS.map((c) => [c.name, c.kind]));

/** The largest id edgelake reads: ids are JS numbers, exact up to 2^53 - 1. */
export const MAX_READ_ID = Number.MAX_SAFE_INTEGER;

/** Double-quotes an SQL identifier. */
const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;

/**
 * Reads `sensor_readings` by `id` cursor into {@link ColumnarBatch}es.
 *
 * Where the native column reader is built (native-columns.ts: a SQLite extension packs a range's
 * columns into BLOBs in C), a read is a few statements of 4096 rows in one read transaction,
 * decoded straight into the batch. Otherwise rows reach JS
 * through one scalar SQL function called per row (`edgelake_fill`), which writes straight into
 * preallocated typed arrays: no row objects, no per-row arrays (~2.8× faster than
 * `.raw().iterate()`, shared/PERFORMANCE.md). Both make the same batch
 * (test/native-columns.test.ts). The event time of canonical timestamps is parsed in C or JS
 * (event-time.ts); other shapes by SQLite (`unixepoch(timestamp,'subsec')`), which honours `Z`
 * and `±HH:MM` offsets.
 *
 * Ids are read in [-(2^53 - 1), 2^53 - 1], zero and negative ones like any other; {@link maxId}
 * stops at 2^53 - 1 and {@link unreadableId} names the first id beyond, which the run refuses
 * with a clear error instead of reading it wrong.
 */
export class SensorReader {
  readonly #db: Database.Database;
  readonly #columns: ColumnName[];
  readonly #extras: string[];
  readonly #keepTs: boolean;
  readonly #eventTime: Database.Statement;
  /** The better-sqlite3 path's statements (its row function fills `#holder.f`), when it does not read natively. */
  readonly #js: { range: Database.Statement; page: Database.Statement; byIds: Database.Statement } | null = null;
  readonly #maxId: Database.Statement;
  readonly #maxSafeId: Database.Statement;
  readonly #nextId: Database.Statement;
  readonly #holder: { f: Filler | null } = { f: null };
  /** The native reader's plan and statements, when it reads natively. */
  readonly #native: {
    plan: ColumnPlan;
    range: Database.Statement;
    page: Database.Statement;
    byIds: Database.Statement;
    chunk: number;
    /** Runs a read's statements in one read transaction: one snapshot per batch, as when one statement read it. */
    snapshot: (read: () => ColumnarBatch) => ColumnarBatch;
  } | null = null;
  #unreadable: bigint | null = null;

  constructor(opts: ReaderOptions) {
    this.#db = opts.db;
    const table = tableColumns(this.#db);
    const wanted = new Set<ColumnName>(opts.columns ?? READING_COLUMNS.map((c) => c.name));
    wanted.add('id');
    if (table.known.includes('timestamp')) wanted.add('timestamp');
    requireColumns(table, [...wanted], 'this stage');
    // Keep table order so encoders write columns in the contract's order.
    this.#columns = READING_COLUMNS.map((c) => c.name).filter((n) => wanted.has(n));
    this.#extras = [...(opts.extras ?? [])];
    this.#keepTs = (opts.keepTimestampText ?? true) && this.#columns.includes('timestamp');
    const cols = [...this.#columns, ...this.#extras].map(ident).join(', ');
    // Only text starting with a real calendar date is parsed: SQLite's date functions also accept
    // `now`, a bare `HH:MM` (→ 2000-01-01) and numeric text (a Julian day), and roll an impossible
    // day over (2025-02-30 → 2025-03-02), which would place garbage in a made-up hour. Only days
    // 29–31 can roll over, so only those pay for the date() round trip.
    const eventTime = (ts: string) =>
      `CASE WHEN typeof(${ts}) = 'text' AND ${ts} GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*'
           AND (substr(${ts}, 9, 2) < '29' OR date(substr(${ts}, 1, 10)) = substr(${ts}, 1, 10))
         THEN unixepoch(${ts}, 'subsec') END`;
    // The event time of canonical timestamps is parsed in JS (event-time.ts); SQLite is asked only for other shapes.
    this.#eventTime = this.#db.prepare(`SELECT ${eventTime('t')} FROM (SELECT ? AS t)`).pluck();
    if ((opts.native ?? true) && loadColumnsExtension(this.#db)) {
      const plan = columnPlan(this.#columns, this.#extras, this.#keepTs);
      const pack = `edgelake_columns('${plan.layout}', ${cols})`;
      const chunk = opts.nativeChunkRows ?? nativePieceRows(plan.layout);
      if (!Number.isInteger(chunk) || chunk <= 0) throw new RangeError(`nativeChunkRows must be a positive integer, got ${chunk}`);
      this.#native = {
        plan,
        chunk,
        snapshot: this.#db.transaction((read: () => ColumnarBatch) => read()),
        range: this.#db.prepare(`SELECT ${pack} FROM sensor_readings WHERE id > ? AND id <= ?`).pluck(),
        page: this.#db.prepare(`SELECT ${pack} FROM (SELECT ${cols} FROM sensor_readings WHERE id > ? AND id <= ? ORDER BY id LIMIT ?)`).pluck(),
        byIds: this.#db.prepare(`SELECT ${pack} FROM (SELECT ${cols} FROM sensor_readings WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id)`).pluck(),
      };
    } else {
      const fn = `edgelake_fill_${process.pid}_${nextReaderId++}`;
      this.#db.function(fn, { deterministic: false, varargs: false }, rowFunction(this.#holder, this.#columns, this.#extras.length, this.#keepTs));
      const fill = `count(${fn}(${cols}))`;
      this.#js = {
        // A range of at most `limit` ids needs no LIMIT: without the sub-select SQLite feeds the rows straight
        // from the table b-tree, in id order, ~1.2 µs a row cheaper.
        range: this.#db.prepare(`SELECT ${fill} FROM sensor_readings WHERE id > ? AND id <= ?`),
        page: this.#db.prepare(`SELECT ${fill} FROM (SELECT ${cols} FROM sensor_readings WHERE id > ? AND id <= ? ORDER BY id LIMIT ?)`),
        byIds: this.#db.prepare(`SELECT ${fill} FROM (SELECT ${cols} FROM sensor_readings WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id)`),
      };
    }
    this.#maxId = this.#db.prepare('SELECT max(id) FROM sensor_readings').pluck().safeIntegers(true);
    this.#maxSafeId = this.#db.prepare(`SELECT max(id) FROM sensor_readings WHERE id <= ${MAX_READ_ID}`).pluck();
    this.#nextId = this.#db.prepare('SELECT min(id) FROM sensor_readings WHERE id > ?').pluck();
  }

  /** The contract's columns each batch holds, in table order. */
  get columns(): readonly ColumnName[] {
    return this.#columns;
  }

  /** The extra columns each batch holds, in table order. */
  get extras(): readonly string[] {
    return this.#extras;
  }

  /**
   * Largest id in the table that edgelake can read (at most 2^53 - 1); 0 when the table is empty.
   * A larger id is remembered for {@link unreadableId}.
   */
  maxId(): number {
    const max = this.#maxId.get() as bigint | null;
    if (max === null) return 0;
    if (max <= BigInt(MAX_READ_ID)) {
      this.#unreadable = null;
      return Number(max);
    }
    this.#unreadable = this.#db.prepare(`SELECT min(id) FROM sensor_readings WHERE id > ${MAX_READ_ID}`).pluck().safeIntegers(true).get() as bigint;
    return Number(this.#maxSafeId.get() ?? 0);
  }

  /** The smallest id beyond 2^53 - 1 seen by the last {@link maxId}, or null. */
  unreadableId(): bigint | null {
    return this.#unreadable;
  }

  /** The smallest id greater than `afterId`, or null when there is none (one indexed lookup). */
  nextId(afterId: number): number | null {
    return (this.#nextId.get(afterId) as number | null) ?? null;
  }

  /** True when this reader reads through the native column reader (native-columns.ts). */
  get native(): boolean {
    return this.#native !== null;
  }

  /** Reads the rows of the given ids (any order, duplicates ignored) into a batch in id order; missing ids are skipped. */
  readIds(ids: readonly number[]): ColumnarBatch {
    if (this.#native) {
      const { plan, byIds } = this.#native;
      const into = new NativeBatchBuilder(plan, ids.length, (t) => this.#eventTime.get(t));
      this.#readNative(() => byIds.get(JSON.stringify(ids)), into, `reading ${ids.length} rows of sensor_readings by id failed`);
      return into.finish();
    }
    const fill = (this.#holder.f = new Filler(this.#columns, this.#extras, Math.max(1, ids.length), this.#keepTs, this.#eventTime));
    try {
      this.#js!.byIds.get(JSON.stringify(ids));
      this.#holder.f = null;
      return fill.finish();
    } catch (err) {
      throw new PipelineError('SOURCE_READ_FAILED', `reading ${ids.length} rows of sensor_readings by id failed: ${(err as Error).message}`, { cause: err });
    } finally {
      this.#holder.f = null;
    }
  }

  /**
   * Reads up to `limit` rows with `afterId < id <= untilId` in id order.
   * Rejects a limit that is not a positive integer (RangeError).
   */
  read(afterId: number, limit: number, untilId = MAX_READ_ID): ColumnarBatch {
    if (!Number.isInteger(limit) || limit <= 0) throw new RangeError(`read: limit must be a positive integer, got ${limit}`);
    if (this.#native) return this.#readNativeRange(afterId, limit, untilId);
    const fill = (this.#holder.f = new Filler(this.#columns, this.#extras, limit, this.#keepTs, this.#eventTime));
    try {
      if (untilId - afterId <= limit) this.#js!.range.get(afterId, untilId);
      else this.#js!.page.get(afterId, untilId, limit);
      this.#holder.f = null;
      return fill.finish();
    } catch (err) {
      throw new PipelineError('SOURCE_READ_FAILED', `reading sensor_readings after id ${afterId} failed: ${(err as Error).message}`, {
        cause: err,
      });
    } finally {
      this.#holder.f = null;
    }
  }

  /**
   * {@link read} through the native reader, in pieces of at most `chunk` rows, into one batch; the
   * pieces of one read share a snapshot (a writer's commit between two of them is not half seen).
   */
  #readNativeRange(afterId: number, limit: number, untilId: number): ColumnarBatch {
    const { chunk, snapshot } = this.#native!;
    const read = () => this.#readNativePieces(afterId, limit, untilId);
    return untilId - afterId <= chunk ? read() : snapshot(read);
  }

  #readNativePieces(afterId: number, limit: number, untilId: number): ColumnarBatch {
    const { plan, range, page, chunk } = this.#native!;
    const failed = `reading sensor_readings after id ${afterId} failed`;
    if (untilId - afterId <= limit) {
      // At most `limit` ids: pieces of `chunk` ids, each a plain range scan.
      const into = new NativeBatchBuilder(plan, Math.max(0, untilId - afterId), (t) => this.#eventTime.get(t));
      for (let from = afterId; from < untilId; ) {
        const to = Math.min(untilId, from + chunk);
        this.#readNative(() => range.get(from, to), into, failed);
        from = to;
      }
      return into.finish();
    }
    // More ids than rows wanted: pages of `chunk` rows after the last id read, until `limit` rows or the end.
    const into = new NativeBatchBuilder(plan, limit, (t) => this.#eventTime.get(t));
    for (let after = afterId; into.length < limit; ) {
      const take = Math.min(chunk, limit - into.length);
      const before = into.length;
      this.#readNative(() => page.get(after, untilId, take), into, failed);
      if (into.length - before < take) break;
      after = into.lastId;
    }
    return into.finish();
  }

  /** Runs one statement of the native reader and adds its rows to `into`. */
  #readNative(query: () => unknown, into: NativeBatchBuilder, failed: string): void {
    let blob: unknown;
    try {
      blob = query();
    } catch (err) {
      throw new PipelineError('SOURCE_READ_FAILED', `${failed}: ${(err as Error).message}`, { cause: err });
    }
    // SQLite's own parse of the odd timestamps runs in add(), once the statement is done with the connection.
    into.add(blob as Buffer | null);
    // The batch holds copies: the BLOB's memory goes back now, not when the heap next collects
    // (V8 lets ~64 MB of dead Buffers pile up per thread before it does; batch.ts releaseBuffers).
    if (blob instanceof Uint8Array && blob.byteOffset === 0 && blob.byteLength === blob.buffer.byteLength && blob.buffer instanceof ArrayBuffer) {
      structuredClone(blob.buffer, { transfer: [blob.buffer] });
    }
  }
}

let nextReaderId = 0;

/**
 * The function SQLite calls once per row, generated for the reader's column layout: one
 * parameter per column and straight-line code per column (no loop over columns, no per-row
 * argument array, no string comparison of kinds). It is the pipeline's hottest code — ~27 values
 * a row — and generating it roughly halves the JS cost of a row against a generic loop. Only
 * column *indices* and kinds go into the generated source, never names or data. It writes into
 * the current {@link Filler} (`holder.f`), swapped per read.
 *
 * Text values are looked up in a small per-sensor cache first: most text columns (model,
 * firmware, serial, location, …) repeat per sensor, so one string comparison usually replaces a
 * hash-map lookup.
 */
function rowFunction(holder: { f: Filler | null }, columns: readonly ColumnName[], extras: number, keepTs: boolean): (...args: StoredValue[]) => number {
  const n = columns.length + extras;
  const params = Array.from({ length: n }, (_, i) => `a${i}`);
  const sc = columns.indexOf('sensor_id');
  const lines: string[] = ['const F = H.f;', 'const row = F.n++;', 'let bytes = 0;', 'let sensor = -1;'];
  const odd = (c: number) => `if (a${c} !== null) { F.odd(${c}, row, a${c}); bytes += typeof a${c} === 'string' ? a${c}.length : 8; }`;
  if (sc >= 0) {
    lines.push(`if (typeof a${sc} === 'string') { bytes += a${sc}.length; sensor = F.code(${sc}, a${sc}); F.codes[${sc}][row] = sensor; } else { F.codes[${sc}][row] = -1; ${odd(sc)} }`);
  }
  columns.forEach((name, c) => {
    if (c === sc) return;
    const kind = KIND.get(name);
    if (c === 0) lines.push(`if (typeof a0 === 'number') F.id[row] = a0; else F.id[row] = Number(a0);`, 'bytes += 8;');
    else if (name === 'timestamp') {
      lines.push(
        `if (typeof a${c} === 'string') { bytes += a${c}.length;${keepTs ? ` F.ts.push(a${c});` : ''} const ms = CE(a${c}); if (ms !== undefined) F.eventMs[row] = ms; else F.oddTimes.push(row, a${c}); }`,
        `else {${keepTs ? ' F.ts.push(null);' : ''} F.eventMs[row] = NaN; ${odd(c)} }`,
      );
    } else if (kind === 'text') {
      lines.push(
        `if (typeof a${c} === 'string') { bytes += a${c}.length; let code; if (sensor >= 0) { const k = F.cache[${c}]; const i = sensor * 2; if (k[i] === a${c}) code = k[i + 1]; else { code = F.code(${c}, a${c}); k[i] = a${c}; k[i + 1] = code; } } else code = F.code(${c}, a${c}); F.codes[${c}][row] = code; }`,
        `else { F.codes[${c}][row] = -1; ${odd(c)} }`,
      );
    } else {
      lines.push(`bytes += 8; if (typeof a${c} === 'number') F.numeric[${c}][row] = a${c}; else { F.numeric[${c}][row] = NaN; if (a${c} !== null) { F.odd(${c}, row, a${c}); if (typeof a${c} === 'string') bytes += a${c}.length - 8; } }`);
    }
  });
  for (let e = 0; e < extras; e++) {
    const a = `a${columns.length + e}`;
    lines.push(`F.extra[${e}].push(typeof ${a} === 'bigint' ? Number(${a}) : ${a}); bytes += ${a} === null ? 0 : typeof ${a} === 'string' ? ${a}.length : ${a} instanceof Uint8Array ? ${a}.byteLength : 8;`);
  }
  lines.push('F.rawBytes += bytes;', 'return 1;');
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- see the function comment: generated from indices only.
  const make = new Function('H', 'CE', `return function fill(${params.join(', ')}) {\n${lines.join('\n')}\n};`) as (h: typeof holder, ce: typeof canonicalEventMs) => (...args: StoredValue[]) => number;
  return make(holder, canonicalEventMs);
}

/** Accumulates one page of rows, column by column (written by {@link rowFunction}). */
class Filler {
  readonly #columns: ColumnName[];
  readonly #extras: string[];
  readonly #kinds: Kind[];
  n = 0;
  rawBytes = 0;
  readonly id: Float64Array;
  readonly eventMs: Float64Array;
  /** The timestamp text per row (the generated code pushes it, when kept). */
  readonly ts: (string | null)[];
  readonly #keepTs: boolean;
  readonly numeric: Float64Array[] = [];
  readonly codes: Int32Array[] = [];
  readonly dicts: Map<string, number>[] = [];
  readonly dictValues: string[][] = [];
  readonly irregular = new Map<ColumnName, Map<number, StoredValue>>();
  readonly extra: StoredValue[][];
  /** Per text column, per sensor code: the last value seen and its code (`[value, code, value, code, …]`). */
  readonly cache: Array<Array<string | number>>;
  /** Rows whose timestamp SQLite must parse, once the page is read (the connection is busy meanwhile): `[row, text, …]`. */
  readonly oddTimes: Array<number | string> = [];
  /** SQLite's event time of a timestamp value, for shapes the JS fast path leaves to it. */
  readonly #slowEventTime: Database.Statement;

  constructor(columns: ColumnName[], extras: string[], capacity: number, keepTs: boolean, slowEventTime: Database.Statement) {
    this.#slowEventTime = slowEventTime;
    this.#columns = columns;
    this.#extras = extras;
    this.#kinds = [...columns.map((c) => KIND.get(c)!), ...extras.map(() => 'extra' as const)];
    this.#keepTs = keepTs;
    this.cache = columns.map(() => []);
    this.id = new Float64Array(capacity);
    this.eventMs = new Float64Array(capacity);
    // Without a timestamp column no row has an event time.
    if (!columns.includes('timestamp')) this.eventMs.fill(NaN);
    this.ts = [];
    this.extra = extras.map(() => []);
    for (let c = 0; c < columns.length; c++) {
      const kind = this.#kinds[c];
      this.numeric.push(kind === 'text' ? EMPTY_F64 : new Float64Array(capacity));
      // The timestamp is text but not a dictionary column (its text and event time are kept apart).
      this.codes.push(kind === 'text' && columns[c] !== 'timestamp' ? new Int32Array(capacity) : EMPTY_I32);
      this.dicts.push(new Map());
      this.dictValues.push([]);
    }
  }

  /** The dictionary code of text `v` in column `c`, added when new. */
  code(c: number, v: string): number {
    return dictCode(this.dicts[c], this.dictValues[c], v);
  }

  /** Keeps a value whose stored type is not the column's declared one, as stored. */
  odd(c: number, row: number, v: StoredValue): void {
    const name = this.#columns[c];
    let m = this.irregular.get(name);
    if (!m) this.irregular.set(name, (m = new Map()));
    m.set(row, typeof v === 'bigint' ? Number(v) : v);
  }

  finish(): ColumnarBatch {
    const n = this.n;
    const odd = this.oddTimes;
    for (let i = 0; i < odd.length; i += 2) {
      const secs = this.#slowEventTime.get(odd[i + 1]);
      this.eventMs[odd[i] as number] = typeof secs === 'number' ? Math.round(secs * 1000) : NaN;
    }
    const numeric: Partial<Record<NumericColumn, Float64Array>> = {};
    const text: Partial<Record<TextColumn, DictColumn>> = {};
    for (let c = 1; c < this.#columns.length; c++) {
      const name = this.#columns[c];
      if (this.#kinds[c] === 'text') {
        if (name !== 'timestamp') text[name as TextColumn] = { codes: this.codes[c].subarray(0, n), values: this.dictValues[c] };
      } else numeric[name as NumericColumn] = this.numeric[c].subarray(0, n);
    }
    const extra = new Map<string, StoredValue[]>();
    this.#extras.forEach((name, e) => extra.set(name, this.extra[e]));
    return {
      length: n,
      columns: this.#columns,
      extra,
      id: this.id.subarray(0, n),
      eventMs: this.eventMs.subarray(0, n),
      timestampText: this.#keepTs ? this.ts : null,
      numeric,
      text,
      irregular: this.irregular,
      rawBytes: this.rawBytes,
    };
  }
}

const EMPTY_F64 = new Float64Array(0);
const EMPTY_I32 = new Int32Array(0);
