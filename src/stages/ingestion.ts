import { storedValue, type ColumnarBatch } from '../batch.ts';
import { READING_COLUMNS, type NumericColumn, type TextColumn } from '../source/schema.ts';

const KIND = new Map<string, string>(READING_COLUMNS.map((c) => [c.name, c.kind]));
import { jsonNumber, jsonStored } from '../sink/jsonl.ts';
import { writeRowObjects } from './rows.ts';
import type { BatchContext, Stage, StageOutput } from './types.ts';

/**
 * Stage 1, ingestion: every source column exactly as stored (a text in a REAL column stays
 * text), plus `_pipeline`. Nothing is dropped or changed: columns the contract does not name are
 * kept too, after the contract's, and a contract column the table lacks is simply absent.
 */
export function createIngestionStage(): Stage {
  return {
    type: 'ingestion',
    bucket: 'ingestion',
    columns: ['id'],
    everyColumn: true,
    async process(batch: ColumnarBatch, ctx: BatchContext): Promise<StageOutput> {
      const encode = rowEncoder(batch);
      const objects = await writeRowObjects(batch, ctx, 'ingestion', 'ingestion', encode);
      return { objects, recordsOut: batch.length };
    },
  };
}

/**
 * Builds the per-row encoder for a batch. Dictionary values are JSON-escaped once per batch,
 * and the irregular-value lookup is only paid for columns that have irregular values.
 */
function rowEncoder(batch: ColumnarBatch): (row: number, stamp: string) => string {
  const parts: Array<(row: number) => string> = [];
  for (const name of batch.columns) {
    if (name === 'id') continue;
    const kind = KIND.get(name);
    const key = `,"${name}":`;
    const odd = batch.irregular.get(name);
    if (odd) {
      parts.push((r) => key + jsonStored(storedValue(batch, name, r)));
    } else if (name === 'timestamp') {
      const ts = batch.timestampText!;
      parts.push((r) => key + (ts[r] === null ? 'null' : JSON.stringify(ts[r])));
    } else if (kind === 'text') {
      const col = batch.text[name as TextColumn]!;
      const escaped = col.values.map((v) => JSON.stringify(v));
      const codes = col.codes;
      parts.push((r) => key + (codes[r] < 0 ? 'null' : escaped[codes[r]]));
    } else {
      const col = batch.numeric[name as NumericColumn]!;
      parts.push((r) => {
        const v = col[r];
        return key + (v !== v ? 'null' : jsonNumber(v));
      });
    }
  }
  for (const [name, values] of batch.extra) {
    const key = `,${JSON.stringify(name)}:`;
    parts.push((r) => key + jsonStored(values[r]));
  }
  const ids = batch.id;
  return (r, stamp) => {
    let s = '{"id":' + ids[r];
    for (let i = 0; i < parts.length; i++) s += parts[i](r);
    return s + ',' + stamp + '}';
  };
}
