import { storedValue, type ColumnarBatch } from '../batch.ts';
import { READING_COLUMNS, SENSOR_SEGMENT, type ColumnName, type NumericColumn, type TextColumn } from '../source/schema.ts';
import { perSensorSegment } from '../encode/sensor-segments.ts';

const KIND = new Map<string, string>(READING_COLUMNS.map((c) => [c.name, c.kind]));
import { jsonNumber, jsonStored } from '../sink/jsonl.ts';
import { JsonWriter, fragment } from '../encode/json-writer.ts';
import { storedColumnsFill } from '../encode/parquet/readings.ts';
import { writeRowObjects, writeRowParquet, type RowWriter } from './rows.ts';
import type { BatchContext, Stage, StageOutput } from './types.ts';

/**
 * Stage 1, ingestion: every source column exactly as stored (a text in a REAL column stays
 * text), plus `_pipeline`. Nothing is dropped or changed: columns the contract does not name are
 * kept too, after the contract's, and a contract column the table lacks is simply absent. In
 * Parquet the columns are typed as declared and what does not fit goes to `_rescued_data`
 * (src/encode/parquet/readings.ts).
 */
export function createIngestionStage(): Stage {
  return {
    type: 'ingestion',
    bucket: 'ingestion',
    columns: ['id'],
    everyColumn: true,
    async process(batch: ColumnarBatch, ctx: BatchContext): Promise<StageOutput> {
      const objects =
        ctx.format === 'parquet'
          ? await writeRowParquet(batch, ctx, 'ingestion', 'ingestion', storedColumnsFill(batch))
          : await writeRowObjects(batch, ctx, 'ingestion', 'ingestion', rowWriter(batch));
      return { objects, recordsOut: batch.length };
    },
  };
}

/**
 * Builds the row writer of a batch: `{"id":…` then every column as stored, in table order, then
 * the extra columns. Each dictionary value is encoded once per batch together with its key
 * (`,"model":"TH-100"`), so a text column costs one copy per row; numbers are written as digits
 * (src/encode/json-writer.ts); values of another type than declared go through `jsonStored`. The
 * columns describing the sensor (firmware … sensor_type) are one cached fragment per sensor
 * (src/encode/sensor-segments.ts).
 */
function rowWriter(batch: ColumnarBatch): RowWriter {
  const parts: Array<(w: JsonWriter, row: number) => void> = [];
  const columns = batch.columns.filter((c) => c !== 'id');
  // The columns that describe the sensor, when the batch has them in one run: one cached fragment per sensor.
  const seg = sensorSegmentRange(columns);
  for (let i = 0; i < columns.length; i++) {
    if (seg && i === seg.from) {
      const inner = columns.slice(seg.from, seg.to).map((c) => columnPart(batch, c));
      parts.push(perSensorSegment(batch, columns.slice(seg.from, seg.to) as Array<TextColumn | NumericColumn>, (w, r) => {
        for (const p of inner) p(w, r);
      }));
      i = seg.to - 1;
      continue;
    }
    parts.push(columnPart(batch, columns[i]));
  }
  for (const [name, values] of batch.extra) {
    const key = fragment(`,${JSON.stringify(name)}:`);
    parts.push((w, r) => {
      w.raw(key);
      w.utf8(jsonStored(values[r]));
    });
  }
  const ids = batch.id;
  const open = fragment('{"id":');
  const n = parts.length;
  return (w, r, end) => {
    w.raw(open);
    w.number(ids[r]);
    for (let i = 0; i < n; i++) parts[i](w, r);
    w.raw(end);
  };
}

/** Writes one column of a row (`,"name":value`) as stored. */
function columnPart(batch: ColumnarBatch, name: ColumnName): (w: JsonWriter, row: number) => void {
  const kind = KIND.get(name);
  const key = fragment(`,"${name}":`);
  const nul = fragment(`,"${name}":null`);
  if (batch.irregular.get(name)) {
    return (w, r) => {
      w.raw(key);
      w.utf8(jsonStored(storedValue(batch, name, r)));
    };
  }
  if (name === 'timestamp') {
    const ts = batch.timestampText!;
    return (w, r) => {
      const t = ts[r];
      if (t === null) return w.raw(nul);
      w.raw(key);
      w.string(t);
    };
  }
  if (kind === 'text') {
    const col = batch.text[name as TextColumn]!;
    const frags = col.values.map((v) => fragment(`,"${name}":${JSON.stringify(v)}`));
    const codes = col.codes;
    return (w, r) => w.raw(codes[r] < 0 ? nul : frags[codes[r]]);
  }
  const col = batch.numeric[name as NumericColumn]!;
  return (w, r) => {
    const v = col[r];
    if (v !== v) return w.raw(nul);
    w.raw(key);
    if (v - v === 0) w.number(v);
    else w.ascii(jsonNumber(v));
  };
}

/** Where the sensor-describing columns sit among `columns` when all of them are there, in one run. */
function sensorSegmentRange(columns: readonly ColumnName[]): { from: number; to: number } | null {
  const from = columns.indexOf(SENSOR_SEGMENT[0]);
  if (from < 0) return null;
  for (let i = 0; i < SENSOR_SEGMENT.length; i++) if (columns[from + i] !== SENSOR_SEGMENT[i]) return null;
  return { from, to: from + SENSOR_SEGMENT.length };
}
