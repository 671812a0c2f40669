import type { ColumnarBatch } from '../batch.ts';
import { hourStart, rowObjectKey, type BucketStage } from '../sink/key.ts';
import { JsonWriter, fragment } from '../encode/json-writer.ts';
import { GzipStream } from '../encode/gzip-stream.ts';
import { ParquetFile, SLICE_ROWS, Template, zstd } from '../encode/parquet/index.ts';
import { columnNode, datasetParquetSchema } from '../encode/parquet/datasets.ts';
import type { SliceFill } from '../encode/parquet/readings.ts';
import type { SinkObject } from '../sink/types.ts';
import type { PipelineType } from '../state/pipeline-types.ts';
import type { BatchContext } from './types.ts';

/** Rows of a batch that share one event-time hour, in id order. */
export interface HourGroup {
  readonly hourMs: number;
  readonly rows: number[];
  /** True when these rows had no usable event time and were placed by the batch's start time. */
  readonly fallback: boolean;
}

/**
 * Splits a batch by the UTC hour of each row's event time (contract §4: a batch spanning two
 * hours becomes two objects). Rows without a usable event time go to a separate group placed
 * at the hour of `ctx.startedMs` — recorded with the batch intent, so a replay lands them on
 * the same key — and are marked with `_pipeline.event_time_fallback`.
 */
export function groupByHour(batch: ColumnarBatch, startedMs: number): HourGroup[] {
  const groups = new Map<number, number[]>();
  let fallbackRows: number[] | null = null;
  const ev = batch.eventMs;
  for (let r = 0; r < batch.length; r++) {
    const ms = ev[r];
    if (Number.isNaN(ms)) {
      (fallbackRows ??= []).push(r);
      continue;
    }
    const h = hourStart(ms);
    let g = groups.get(h);
    if (!g) groups.set(h, (g = []));
    g.push(r);
  }
  const out: HourGroup[] = [...groups].map(([hourMs, rows]) => ({ hourMs, rows, fallback: false }));
  if (fallbackRows) out.push({ hourMs: hourStart(startedMs), rows: fallbackRows, fallback: true });
  return out;
}

/** The `_pipeline` member (contract §5) as JSON text, without braces around the record. */
export function pipelineStamp(type: PipelineType | 'alerts', ctx: Pick<BatchContext, 'version' | 'nodeId' | 'batchId' | 'nowMs'>, fallback: boolean): string {
  return `"_pipeline":${JSON.stringify(pipelineRecord(type, ctx, fallback))}`;
}

/** The `_pipeline` member's value (contract §5). */
export function pipelineRecord(type: PipelineType | 'alerts', ctx: Pick<BatchContext, 'version' | 'nodeId' | 'batchId' | 'nowMs'>, fallback: boolean): Record<string, unknown> {
  return {
    type,
    version: ctx.version,
    node_id: ctx.nodeId,
    batch_id: ctx.batchId,
    processed_at: new Date(ctx.nowMs).toISOString(),
    ...(fallback ? { event_time_fallback: true } : {}),
  };
}

/** Writes one record of row `row` (without the newline), ending with `end`: `,"_pipeline":{…}}`, the stamp of its group and the closing brace. */
export type RowWriter = (w: JsonWriter, row: number, end: Uint8Array) => void;

/**
 * The shared back half of every row-shaped stage: one object per hour group, each record written
 * as bytes by `write(w, row, end)` (src/encode/json-writer.ts), where `end` closes the record
 * with the `_pipeline` member of that group. Groups with the same hour (event-time rows and fallback
 * rows) are merged into one object so keys stay unique. Encoding waits whenever compression falls
 * behind (GzipStream.full), so the memory a batch takes is its compressed output plus a couple of
 * MiB per object, never its whole JSON text.
 */
export async function writeRowObjects(batch: ColumnarBatch, ctx: BatchContext, type: PipelineType, bucket: BucketStage, write: RowWriter): Promise<SinkObject[]> {
  const byHour = new Map<number, HourObject>();
  try {
    for (const g of groupByHour(batch, ctx.startedMs)) {
      const end = fragment(',' + pipelineStamp(type, ctx, g.fallback) + '}');
      let acc = byHour.get(g.hourMs);
      if (!acc) {
        const gz = new GzipStream(ctx.gzipLevel);
        byHour.set(g.hourMs, (acc = { gz, w: gz.jsonWriter(), first: Infinity, last: -Infinity, lines: 0 }));
      }
      const rows = g.rows;
      for (let i = 0; i < rows.length; ) {
        i = writeRows(acc, batch.id, rows, i, write, end);
        if (i < rows.length) await acc.gz.drained();
      }
      acc.lines += rows.length;
    }
  } catch (err) {
    for (const acc of byHour.values()) acc.gz.destroy();
    throw err;
  }
  return Promise.all(
    [...byHour].map(async ([hourMs, acc]) => {
      acc.w.flush();
      return {
        bucket: ctx.buckets[bucket],
        key: rowObjectKey({ dataset: 'sensor_readings', hourMs, nodeKey: ctx.keyNode, firstId: acc.first, lastId: acc.last }),
        body: await acc.gz.finish(),
        records: acc.lines,
      };
    }),
  );
}

/** An hour group's object while its rows are written: the stream, its writer, and the id range so far. */
interface HourObject {
  readonly gz: GzipStream;
  readonly w: JsonWriter;
  first: number;
  last: number;
  lines: number;
}

/**
 * Writes `rows[from…]` into `acc` until they are done or compression falls behind, and returns
 * where it stopped. The hot loop lives apart from the async function around it so that V8
 * optimises this small function alone: inside the async one, the loop's on-stack replacement
 * compiled the code after it, still without type feedback, and the first batch's exit from the
 * loop threw it away, five or six times a worker (`--trace-opt`, `--trace-deopt`).
 */
function writeRows(acc: HourObject, ids: Float64Array, rows: readonly number[], from: number, write: RowWriter, end: Uint8Array): number {
  const { w, gz } = acc;
  let { first, last } = acc;
  let i = from;
  while (i < rows.length) {
    const r = rows[i++];
    write(w, r, end);
    w.byte(10);
    const id = ids[r];
    if (id < first) first = id;
    if (id > last) last = id;
    // Asked every 256 rows (≈ 200 KB), not every row: the stream's state sits behind getters.
    if ((i & 255) === 0 && gz.full) break;
  }
  acc.first = first;
  acc.last = last;
  return i;
}

/**
 * The Parquet counterpart of {@link writeRowObjects} (`--format parquet`): the same hour groups
 * and keys (`.parquet`), one file per hour, filled column by column by `fill` in slices of
 * {@link SLICE_ROWS} rows (one page per column each), with `_pipeline` added here per group.
 * The dataset's schema is `type`'s (src/encode/parquet/datasets.ts).
 */
export async function writeRowParquet(batch: ColumnarBatch, ctx: BatchContext, type: PipelineType, bucket: BucketStage, fill: SliceFill): Promise<SinkObject[]> {
  const codec = await zstd();
  const schema = datasetParquetSchema(type);
  const pipeline = columnNode(schema, '_pipeline');
  const byHour = new Map<number, HourGroup[]>();
  for (const g of groupByHour(batch, ctx.startedMs)) {
    const list = byHour.get(g.hourMs);
    if (list) list.push(g);
    else byHour.set(g.hourMs, [g]);
  }
  const ids = batch.id;
  const objects: SinkObject[] = [];
  // One file at a time, finished before the next begins: a thread holds one file's page buffers.
  for (const [hourMs, groups] of byHour) {
    const file = new ParquetFile(schema, { codec, createdBy: `edgelake ${ctx.version}` });
    let first = Infinity;
    let last = -Infinity;
    for (const g of groups) {
      const stamp = new Template(schema, pipeline, pipelineRecord(type, ctx, g.fallback));
      const rows = Int32Array.from(g.rows);
      for (let from = 0; from < rows.length; from += SLICE_ROWS) {
        const to = Math.min(rows.length, from + SLICE_ROWS);
        fill(file, rows, from, to);
        stamp.repeat(file, to - from);
        file.endSlice(to - from);
      }
      for (const r of g.rows) {
        const id = ids[r];
        if (id < first) first = id;
        if (id > last) last = id;
      }
    }
    const body = file.finish();
    objects.push({
      bucket: ctx.buckets[bucket],
      key: rowObjectKey({ dataset: 'sensor_readings', hourMs, nodeKey: ctx.keyNode, firstId: first, lastId: last, format: 'parquet' }),
      body,
      records: file.rows,
    });
  }
  return objects;
}
