import type { BatchContext, StageOutput } from '../stages/types.ts';
import { rowObjectKey } from '../sink/key.ts';
import { gzipLines } from '../sink/jsonl.ts';
import type { SinkObject } from '../sink/types.ts';
import type { PipelineType } from '../state/pipeline-types.ts';

/** Facts about one finished batch, from which the metrics records are made. */
export interface BatchFacts {
  readonly type: PipelineType;
  readonly firstId: number;
  readonly lastId: number;
  readonly recordsIn: number;
  readonly rawBytes: number;
  readonly output: StageOutput;
  /** Processing time, ms: read → objects durable. */
  readonly processingMs: number;
  /** Event time of the newest row in the batch, epoch ms (NaN if none parsed). */
  readonly newestEventMs: number;
  /** When the batch's data objects became durable, epoch ms. */
  readonly durableMs: number;
}

/** Bytes written for a stage output. */
export function bytesOf(output: StageOutput): number {
  return output.objects.reduce((n, o) => n + o.body.byteLength, 0);
}

/** `(1 - written/raw) * 100`, the volume reduction of a batch; null when raw is 0. */
export function reductionPct(raw: number, written: number): number | null {
  return raw > 0 ? Math.round((1 - written / raw) * 10_000) / 100 : null;
}

/**
 * The `pipeline_metrics` and `latency_metrics` records of a batch (contract §5), as objects for
 * the metrics bucket. Keys follow the row layout, partitioned by the batch's start hour and
 * named by its id range, so a replayed batch overwrites its own metrics.
 */
export async function metricsObjects(facts: BatchFacts, ctx: BatchContext): Promise<SinkObject[]> {
  const now = new Date(ctx.nowMs).toISOString();
  const dataSize = bytesOf(facts.output);
  const pipeline = {
    pipeline_type: facts.type,
    node_id: ctx.nodeId,
    batch_id: ctx.batchId,
    record_count: facts.output.recordsOut,
    records_in: facts.recordsIn,
    data_size: dataSize,
    raw_size: facts.rawBytes,
    reduction_pct: reductionPct(facts.rawBytes, dataSize),
    objects_written: facts.output.objects.length,
    invalid_count: facts.output.invalidCount ?? null,
    processing_time: Math.round(facts.processingMs * 1000) / 1000,
    timestamp: now,
  };
  const latency = {
    processing_location: 'edge',
    node_id: ctx.nodeId,
    batch_id: ctx.batchId,
    pipeline_type: facts.type,
    end_to_end_latency: endToEndLatency(facts),
    timestamp: now,
  };
  const key = (dataset: 'pipeline_metrics' | 'latency_metrics') =>
    rowObjectKey({ dataset, hourMs: ctx.startedMs, nodeId: ctx.keyNode, firstId: facts.firstId, lastId: facts.lastId });
  return [
    { bucket: ctx.buckets.metrics, key: key('pipeline_metrics'), body: await gzipLines([JSON.stringify(pipeline)]), records: 1 },
    { bucket: ctx.buckets.metrics, key: key('latency_metrics'), body: await gzipLines([JSON.stringify(latency)]), records: 1 },
  ];
}

/** Event time of the newest row → durable, ms; null when no row had an event time. */
export function endToEndLatency(f: Pick<BatchFacts, 'newestEventMs' | 'durableMs'>): number | null {
  return Number.isFinite(f.newestEventMs) ? Math.max(0, f.durableMs - f.newestEventMs) : null;
}
