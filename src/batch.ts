import type { ColumnName, NumericColumn, TextColumn } from './source/schema.ts';

/**
 * A text column, dictionary-encoded for this batch: `codes[i]` indexes `values`, -1 is NULL.
 * Dictionaries are per batch; a consumer that keeps state across batches (per sensor, say)
 * maps `values` to its own stable ids once per batch, not once per row.
 */
export interface DictColumn {
  readonly codes: Int32Array;
  readonly values: readonly string[];
}

/**
 * The code of text `v` in a dictionary being built (`index`: value → code, `values`: by code),
 * added when new: codes in first-seen order, as every reader numbers them.
 */
export function dictCode(index: Map<string, number>, values: string[], v: string): number {
  let code = index.get(v);
  if (code === undefined) {
    code = values.length;
    index.set(v, code);
    values.push(v);
  }
  return code;
}

/**
 * The unit every stage, kernel and sink shares: one bounded slice of `sensor_readings`,
 * in ascending `id` order, held column by column.
 *
 * - Numeric columns (INTEGER and REAL) are Float64Array; NaN means NULL *or* a value of
 *   another type, which then sits in `irregular` exactly as stored.
 * - `eventMs` is the event time in epoch milliseconds as SQLite's date functions parse the
 *   `timestamp` text (offsets honoured), NaN when it is NULL or unparseable.
 * - `timestampText` keeps the `timestamp` column as stored (ingestion writes it verbatim).
 */
export interface ColumnarBatch {
  readonly length: number;
  /** The contract's columns this batch holds (a stage reads only what it needs). `id` and event time are always present. */
  readonly columns: readonly ColumnName[];
  /**
   * Columns outside the contract that the table has, read only for ingestion (every column as
   * stored, contract §5): name → value per row, as stored. Usually empty.
   */
  readonly extra: ReadonlyMap<string, readonly StoredValue[]>;
  readonly id: Float64Array;
  readonly eventMs: Float64Array;
  readonly timestampText: readonly (string | null)[] | null;
  readonly numeric: Readonly<Partial<Record<NumericColumn, Float64Array>>>;
  readonly text: Readonly<Partial<Record<TextColumn, DictColumn>>>;
  /** Values whose stored type is not the declared one: column → row index → value as stored. */
  readonly irregular: ReadonlyMap<ColumnName, ReadonlyMap<number, StoredValue>>;
  /** Bytes of the source rows as SQLite stores them (sum of the column lengths), for volume metrics. */
  readonly rawBytes: number;
}

/** A value as better-sqlite3 returns it. */
export type StoredValue = number | bigint | string | Buffer | null;

/** The value of a column at a row as stored in SQLite (NULL → null), for encoders. */
export function storedValue(batch: ColumnarBatch, column: ColumnName, row: number): StoredValue {
  const odd = batch.irregular.get(column)?.get(row);
  if (odd !== undefined) return odd;
  if (column === 'id') return batch.id[row];
  if (column === 'timestamp') return batch.timestampText ? batch.timestampText[row] : null;
  const num = batch.numeric[column as NumericColumn];
  if (num) {
    const v = num[row];
    return Number.isNaN(v) ? null : v;
  }
  const dict = batch.text[column as TextColumn];
  if (dict) {
    const code = dict.codes[row];
    return code < 0 ? null : dict.values[code];
  }
  throw new RangeError(`column "${column}" was not read into this batch (read: ${batch.columns.join(', ')})`);
}

/**
 * The rows `rows` (ascending indices) of `batch` as a batch of their own, with every column
 * `batch` has: typed arrays copied, dictionaries shared, irregular and extra values re-indexed.
 * For small selections (the alerted rows of a batch), not for whole batches.
 */
export function takeRows(batch: ColumnarBatch, rows: readonly number[]): ColumnarBatch {
  const n = rows.length;
  const pick = (a: Float64Array) => {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = a[rows[i]];
    return out;
  };
  const numeric: Partial<Record<NumericColumn, Float64Array>> = {};
  for (const [name, col] of Object.entries(batch.numeric) as Array<[NumericColumn, Float64Array]>) numeric[name] = pick(col);
  const text: Partial<Record<TextColumn, DictColumn>> = {};
  for (const [name, col] of Object.entries(batch.text) as Array<[TextColumn, DictColumn]>) {
    const codes = new Int32Array(n);
    for (let i = 0; i < n; i++) codes[i] = col.codes[rows[i]];
    text[name] = { codes, values: col.values };
  }
  const at = new Map(rows.map((r, i) => [r, i]));
  const irregular = new Map<ColumnName, Map<number, StoredValue>>();
  for (const [col, values] of batch.irregular) {
    for (const [r, v] of values) {
      const i = at.get(r);
      if (i === undefined) continue;
      let m = irregular.get(col);
      if (!m) irregular.set(col, (m = new Map()));
      m.set(i, v);
    }
  }
  const extra = new Map<string, StoredValue[]>();
  for (const [name, values] of batch.extra) extra.set(name, rows.map((r) => values[r]));
  return {
    length: n,
    columns: batch.columns,
    extra,
    id: pick(batch.id),
    eventMs: pick(batch.eventMs),
    timestampText: batch.timestampText ? rows.map((r) => batch.timestampText![r]) : null,
    numeric,
    text,
    irregular,
    rawBytes: 0,
  };
}

/** The buffers a batch can give away: its typed columns (each Filler allocation is its own buffer). */
export function batchBuffers(batch: ColumnarBatch): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  const add = (a: ArrayBufferView) => {
    if (a.buffer instanceof ArrayBuffer && a.buffer.byteLength > 0) out.add(a.buffer);
  };
  add(batch.id);
  add(batch.eventMs);
  for (const c of Object.values(batch.numeric)) add(c);
  for (const d of Object.values(batch.text)) add(d.codes);
  return [...out];
}

/**
 * Frees a batch's typed columns now instead of at the thread's next full garbage collection: each
 * buffer is detached by a transfer to a clone that nobody keeps, whose memory the next scavenge
 * returns (a promoted column of a batch in flight could otherwise pin its few MB until the heap
 * is next marked, and a thread receiving a batch every few hundred ms piles tens of MB up so).
 * Every column of `batch` reads as empty afterwards, except those in `keep` — call it only when
 * nothing will read the batch again.
 */
export function releaseBuffers(batch: ColumnarBatch, keep: readonly ArrayBufferView[] = []): void {
  const kept = new Set(keep.map((a) => a.buffer));
  const free = batchBuffers(batch).filter((b) => !kept.has(b));
  if (free.length > 0) structuredClone(free, { transfer: free });
}
