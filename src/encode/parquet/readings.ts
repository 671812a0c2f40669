import type { ColumnarBatch, StoredValue } from '../../batch.ts';
import { jsonStored } from '../../sink/jsonl.ts';
import { READING_COLUMNS, type NumericColumn, type TextColumn } from '../../source/schema.ts';
import { RESCUED_DATA_COLUMN } from '../../schema/rescued.ts';
import type { LeafColumn } from './column.ts';
import type { ParquetFile } from './file.ts';
import type { SchemaNode } from './schema.ts';
import { shred, Template } from './shred.ts';

/**
 * The reading columns of a batch as Parquet columns, straight from its typed arrays and
 * dictionaries (no row objects): `rows[from … to)` of the batch into the leaves of a file.
 * Ingestion keeps every value as stored in a column of the declared type, and what does not fit
 * goes to `_rescued_data`; later stages write the typed columns of contract §5, exactly as their
 * JSON Lines records hold them (src/stages/typed.ts).
 */

/** Appends rows `rows[from … to)` of a batch to a file's columns. */
export type SliceFill = (file: ParquetFile, rows: Int32Array, from: number, to: number) => void;

const KIND = new Map<string, string>(READING_COLUMNS.map((c) => [c.name, c.kind]));

/** Earliest and latest instants with a four-digit year, as the JSON encoder writes them (src/stages/typed.ts). */
const MIN_ISO_MS = -62167219200000;
const MAX_ISO_MS = 253402300799999;

/** Nulls for a column the batch does not have. */
function nulls(leaf: LeafColumn, count: number): void {
  leaf.repeat(leaf.spec.maxDef - 1, 0, undefined, count);
}

/**
 * Ingestion (contract §4): `id`, every contract column in its declared type (REAL → DOUBLE with
 * ±Infinity kept, INTEGER → BIGINT, TEXT → STRING) and `_rescued_data`: per row, a JSON object of
 * the values that fit no typed column — text or a BLOB in a REAL column, a number in a TEXT
 * column, a fraction in an INTEGER one — and of the table's extra columns, each as stored (as the
 * JSON Lines ingestion writes it: BLOBs as `{"$base64": …}`); null when there is nothing to rescue.
 */
export function storedColumnsFill(batch: ColumnarBatch): SliceFill {
  const rescued = rescuedTexts(batch);
  return (file, rows, from, to) => {
    const n = to - from;
    for (const { name, kind } of READING_COLUMNS) {
      const leaf = file.leaf(name);
      if (!batch.columns.includes(name)) nulls(leaf, n);
      else if (name === 'id') leaf.integers(batch.id, rows, from, to);
      else if (name === 'timestamp') leaf.strings(batch.timestampText!, rows, from, to);
      else if (kind === 'text') {
        const d = batch.text[name as TextColumn]!;
        leaf.dictionary(d.codes, d.values, rows, from, to);
      } else if (kind === 'int') leaf.integers(batch.numeric[name as NumericColumn]!, rows, from, to);
      else leaf.doubles(batch.numeric[name as NumericColumn]!, rows, from, to, false);
    }
    const leaf = file.leaf(RESCUED_DATA_COLUMN);
    if (rescued.size === 0) return nulls(leaf, n);
    for (let k = from; k < to; k++) {
      const t = rescued.get(rows[k]);
      if (t === undefined) leaf.level(0);
      else leaf.text(t);
    }
  };
}

/** `_rescued_data` text per row that has something to rescue (sparse). */
function rescuedTexts(batch: ColumnarBatch): Map<number, string> {
  const parts = new Map<number, string[]>();
  const add = (r: number, name: string, v: StoredValue) => {
    const member = `${JSON.stringify(name)}:${jsonStored(v)}`;
    const list = parts.get(r);
    if (list) list.push(member);
    else parts.set(r, [member]);
  };
  // Column by column in table order, so every row's members are in table order too.
  for (const name of batch.columns) {
    const odd = batch.irregular.get(name);
    if (odd) for (const [r, v] of [...odd].sort((a, b) => a[0] - b[0])) if (v !== null) add(r, name, v);
    if (KIND.get(name) === 'int' && name !== 'id') {
      const col = batch.numeric[name as NumericColumn]!;
      for (let r = 0; r < batch.length; r++) {
        const v = col[r];
        if (v === v && !Number.isSafeInteger(v)) add(r, name, v);
      }
    }
  }
  for (const [name, values] of batch.extra) {
    for (let r = 0; r < values.length; r++) if (values[r] !== null) add(r, name, values[r]);
  }
  const out = new Map<number, string>();
  for (const [r, list] of parts) out.set(r, `{${list.join(',')}}`);
  return out;
}

/** Options of {@link typedColumnsFill} (those of src/stages/typed.ts `typedColumnsWriter`). */
export interface TypedFillOptions {
  /** Coordinates written instead of the batch's latitude/longitude (fuzzed ones); NaN → null. */
  readonly gps?: { readonly latitude: Float64Array; readonly longitude: Float64Array };
  /** Also fill original_latitude/original_longitude from the batch's own coordinates (else they are null, where the schema has them). */
  readonly originalGps?: boolean;
  /** Null for a contract column the batch lacks instead of a RangeError. Default false. */
  readonly absentAsNull?: boolean;
}

/**
 * Typed columns (contract §5): `timestamp` from the event time (null when it has none or lies
 * outside years 0000–9999), finite numbers (NULL, text, BLOBs, ±Infinity → null), `status_code` an
 * integer, `anomaly_flag` and `synced` booleans from 0/1.
 */
export function typedColumnsFill(batch: ColumnarBatch, opts: TypedFillOptions = {}): SliceFill {
  for (const { name } of READING_COLUMNS) {
    if (!opts.absentAsNull && name !== 'id' && name !== 'timestamp' && !batch.columns.includes(name)) {
      throw new RangeError(`typed encoding needs column "${name}", which was not read (read: ${batch.columns.join(', ')})`);
    }
  }
  return (file, rows, from, to) => {
    const n = to - from;
    for (const { name, kind } of READING_COLUMNS) {
      const leaf = file.leaf(name);
      if (name === 'id') leaf.integers(batch.id, rows, from, to);
      else if (name === 'timestamp') leaf.instants(batch.eventMs, rows, from, to, MIN_ISO_MS, MAX_ISO_MS);
      else if (!batch.columns.includes(name)) nulls(leaf, n);
      else if (kind === 'text') {
        const d = batch.text[name as TextColumn]!;
        leaf.dictionary(d.codes, d.values, rows, from, to);
      } else if (kind === 'int') leaf.integers(batch.numeric[name as NumericColumn]!, rows, from, to);
      else {
        const gps = name === 'latitude' ? opts.gps?.latitude : name === 'longitude' ? opts.gps?.longitude : undefined;
        leaf.doubles(gps ?? batch.numeric[name as NumericColumn]!, rows, from, to, true);
      }
    }
    if (!file.schema.columns.some((c) => c.name === 'original_latitude')) return;
    for (const [col, own] of [['original_latitude', 'latitude'], ['original_longitude', 'longitude']] as const) {
      const leaf = file.leaf(col);
      const values = batch.numeric[own];
      if (opts.originalGps && values) leaf.doubles(values, rows, from, to, true);
      else nulls(leaf, n);
    }
  };
}

/** `_validation` of a batch: `{valid: true, errors: []}` for rows without issues (runs of them filled at once), the issues otherwise. */
export function validationFill(node: SchemaNode, issues: (row: number) => readonly object[]): SliceFill {
  let valid: Template | null = null;
  return (file, rows, from, to) => {
    valid ??= new Template(file.schema, node, { valid: true, errors: [] });
    let run = 0;
    for (let k = from; k < to; k++) {
      const list = issues(rows[k]);
      if (list.length === 0) {
        run++;
        continue;
      }
      valid.repeat(file, run);
      run = 0;
      shred(file.leaves, node, { valid: false, errors: list }, 0, 0);
    }
    valid.repeat(file, run);
  };
}
