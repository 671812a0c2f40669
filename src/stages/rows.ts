import type { ColumnarBatch } from '../batch.ts';
import { hourStart, rowObjectKey, type BucketStage } from '../sink/key.ts';
import { GzipLines } from '../sink/jsonl.ts';
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
  return `"_pipeline":${JSON.stringify({
    type,
    version: ctx.version,
    node_id: ctx.nodeId,
    batch_id: ctx.batchId,
    processed_at: new Date(ctx.nowMs).toISOString(),
    ...(fallback ? { event_time_fallback: true } : {}),
  })}`;
}

/**
 * The shared back half of every row-shaped stage: one object per hour group, each line made by
 * `encode(row, stamp)`, where `stamp` is the `_pipeline` member for that group. Groups with the
 * same hour (event-time rows and fallback rows) are merged into one object so keys stay unique.
 * Encoding waits whenever compression falls behind (GzipLines.full), so the memory a batch takes
 * is its compressed output plus ~1 MiB per object, not its whole JSON text.
 */
export async function writeRowObjects(
  batch: ColumnarBatch,
  ctx: BatchContext,
  type: PipelineType,
  bucket: BucketStage,
  encode: (row: number, stamp: string) => string,
): Promise<SinkObject[]> {
  const byHour = new Map<number, { lines: GzipLines; first: number; last: number }>();
  try {
    for (const g of groupByHour(batch, ctx.startedMs)) {
      const stamp = pipelineStamp(type, ctx, g.fallback);
      let acc = byHour.get(g.hourMs);
      if (!acc) byHour.set(g.hourMs, (acc = { lines: new GzipLines(ctx.gzipLevel), first: Infinity, last: -Infinity }));
      const { lines } = acc;
      for (const r of g.rows) {
        lines.add(encode(r, stamp));
        const id = batch.id[r];
        if (id < acc.first) acc.first = id;
        if (id > acc.last) acc.last = id;
        if (lines.full) await lines.drained();
      }
    }
  } catch (err) {
    for (const acc of byHour.values()) void acc.lines.finish().catch(() => {});
    throw err;
  }
  return Promise.all(
    [...byHour].map(async ([hourMs, acc]) => ({
      bucket: ctx.buckets[bucket],
      key: rowObjectKey({ dataset: 'sensor_readings', hourMs, nodeKey: ctx.keyNode, firstId: acc.first, lastId: acc.last }),
      body: await acc.lines.finish(),
      records: acc.lines.lines,
    })),
  );
}
