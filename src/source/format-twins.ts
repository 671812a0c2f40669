import type { StoredValue } from '../batch.ts';
import type { DecodedRecords, LakeRow } from './record-batch.ts';
import { READING_COLUMNS } from './schema.ts';

/**
 * An ingestion object of one id range in both formats: `{stem}.jsonl.gz` and `{stem}.parquet`
 * under the same hour folder, node part and id range. edgelake writes both only when a batch
 * that landed in one format was replayed in the other (killed after the upload, run again with
 * another `--format`), or when someone converted a lake in place. Read both and every row would
 * be processed twice; read one blindly and a twin that differs would be dropped unseen.
 *
 * The rule: the JSON Lines object is the one read — it is the lossless one (it tells a column
 * the table lacked from NULL, and keeps an extra column that is NULL in every row), and it keeps
 * the partition unit a JSON Lines lake has — and its Parquet twin is read beside it only to
 * prove that it holds the same rows; if it does not, reading stops with an error naming both.
 */

/** What a listing needs of an object to pair twins. */
export interface TwinCandidate {
  readonly key: string;
  readonly format: 'jsonl' | 'parquet';
}

/** The key without its format's extension: equal for twins. */
export function objectStem(key: string): string {
  return key.replace(/\.(jsonl\.gz|parquet)$/, '');
}

/**
 * Pairs twins in a listing: each JSON Lines object whose Parquet twin is listed too gets
 * `twin` (the Parquet key), and the Parquet twin leaves the listing (reported to `onTwin`).
 * Everything else is returned as listed.
 */
export function pairTwins<T extends TwinCandidate>(objects: readonly T[], onTwin?: (parquetKey: string) => void): Array<T & { readonly twin?: string }> {
  const jsonl = new Map<string, T>();
  for (const o of objects) if (o.format === 'jsonl') jsonl.set(objectStem(o.key), o);
  const twins = new Map<T, string>();
  const out: Array<T & { readonly twin?: string }> = [];
  for (const o of objects) {
    if (o.format !== 'parquet') continue;
    const kept = jsonl.get(objectStem(o.key));
    if (kept) {
      twins.set(kept, o.key);
      onTwin?.(o.key);
    }
  }
  for (const o of objects) {
    if (o.format === 'parquet' && jsonl.has(objectStem(o.key))) continue;
    const twin = twins.get(o);
    out.push(twin === undefined ? o : { ...o, twin });
  }
  return out;
}

/**
 * The first difference between the rows of two twins, in words (row id, column, both values);
 * null when they hold the same rows. What the two formats cannot differ in by design is not a
 * difference: a column absent from one and NULL in the other, an extra column that is NULL, and
 * the sign of a zero (JSON Lines writes -0 as 0). Processing times may differ (a replay is later).
 */
export function twinDifference(a: DecodedRecords, b: DecodedRecords): string | null {
  if (a.rows.length !== b.rows.length) return `${a.rows.length} rows against ${b.rows.length}`;
  if (a.nodeId !== null && b.nodeId !== null && a.nodeId !== b.nodeId) return `node id ${JSON.stringify(a.nodeId)} against ${JSON.stringify(b.nodeId)}`;
  for (let r = 0; r < a.rows.length; r++) {
    const x = a.rows[r];
    const y = b.rows[r];
    if (x.id !== y.id) return `row ${r + 1}: id ${x.id} against ${y.id}`;
    for (let c = 1; c < READING_COLUMNS.length; c++) {
      if (!sameValue(x.values[c] ?? null, y.values[c] ?? null)) return `id ${x.id}, column ${READING_COLUMNS[c].name}: ${show(x.values[c])} against ${show(y.values[c])}`;
    }
    const name = extraDifference(x, y);
    if (name !== null) return `id ${x.id}, extra column ${name}: ${show(x.extra?.get(name))} against ${show(y.extra?.get(name))}`;
  }
  return null;
}

function extraDifference(x: LakeRow, y: LakeRow): string | null {
  const names = new Set([...(x.extra?.keys() ?? []), ...(y.extra?.keys() ?? [])]);
  for (const n of names) if (!sameValue(x.extra?.get(n) ?? null, y.extra?.get(n) ?? null)) return n;
  return null;
}

function sameValue(a: StoredValue, b: StoredValue): boolean {
  if (a === b) return true; // also 0 and -0
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b);
  return false;
}

function show(v: StoredValue | undefined): string {
  if (v === undefined) return 'absent';
  if (Buffer.isBuffer(v)) return `a BLOB of ${v.byteLength} bytes`;
  return String(JSON.stringify(typeof v === 'bigint' ? String(v) : v)).slice(0, 60);
}
