import { dictCode, type ColumnarBatch, type DictColumn, type StoredValue } from '../batch.ts';
import type { ColumnName, NumericColumn, TextColumn } from './schema.ts';

/**
 * Joins batches of consecutive id ranges (same columns, ascending ids) into one, as if one
 * reader had read them: numeric columns are copied end to end, text dictionaries are merged
 * (codes remapped once per distinct value, not per row), irregular values are re-indexed.
 * Used where worker threads read disjoint id ranges of one batch in parallel.
 */
export function concatBatches(parts: readonly ColumnarBatch[]): ColumnarBatch {
  if (parts.length === 0) throw new RangeError('concatBatches: need at least one batch');
  if (parts.length === 1) return parts[0];
  const first = parts[0];
  for (const p of parts) {
    if (p.columns.join() !== first.columns.join()) throw new RangeError(`concatBatches: column sets differ (${first.columns.join(',')} vs ${p.columns.join(',')})`);
  }
  const n = parts.reduce((s, p) => s + p.length, 0);
  const joinF64 = (pick: (p: ColumnarBatch) => Float64Array): Float64Array => {
    const out = new Float64Array(n);
    let at = 0;
    for (const p of parts) {
      out.set(pick(p), at);
      at += p.length;
    }
    return out;
  };
  const numeric: Partial<Record<NumericColumn, Float64Array>> = {};
  for (const name of Object.keys(first.numeric) as NumericColumn[]) numeric[name] = joinF64((p) => p.numeric[name]!);
  const text: Partial<Record<TextColumn, DictColumn>> = {};
  for (const name of Object.keys(first.text) as TextColumn[]) text[name] = joinDict(parts.map((p) => p.text[name]!), n);
  const irregular = new Map<ColumnName, Map<number, StoredValue>>();
  let offset = 0;
  for (const p of parts) {
    for (const [col, rows] of p.irregular) {
      let m = irregular.get(col);
      if (!m) irregular.set(col, (m = new Map()));
      for (const [row, v] of rows) m.set(row + offset, v);
    }
    offset += p.length;
  }
  const extra = new Map<string, StoredValue[]>();
  for (const name of first.extra.keys()) extra.set(name, parts.flatMap((p) => p.extra.get(name) ?? []));
  return {
    length: n,
    columns: first.columns,
    extra,
    id: joinF64((p) => p.id),
    eventMs: joinF64((p) => p.eventMs),
    timestampText: first.timestampText ? parts.flatMap((p) => p.timestampText!) : null,
    numeric,
    text,
    irregular,
    rawBytes: parts.reduce((s, p) => s + p.rawBytes, 0),
  };
}

function joinDict(cols: readonly DictColumn[], n: number): DictColumn {
  const values: string[] = [];
  const index = new Map<string, number>();
  const codes = new Int32Array(n);
  let at = 0;
  for (const c of cols) {
    const map = c.values.map((v) => dictCode(index, values, v));
    const src = c.codes;
    for (let i = 0; i < src.length; i++) {
      const k = src[i];
      codes[at + i] = k < 0 ? -1 : map[k];
    }
    at += src.length;
  }
  return { codes, values };
}
