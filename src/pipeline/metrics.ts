import { DEFAULT_LIMITS } from '../kernels/types.ts';
import { selectInPlace } from './select.ts';
import type { BatchContext, StageOutput } from '../stages/types.ts';
import { pipelineStamp } from '../stages/rows.ts';
import { rowObjectKey, type OutputFormat } from '../sink/key.ts';
import { gzipLines } from '../sink/jsonl.ts';
import { recordsParquet, zstd } from '../encode/parquet/index.ts';
import { datasetParquetSchema } from '../encode/parquet/datasets.ts';
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
  /** Per-row latency summary (event time → durable), or null when no row had an event time. */
  readonly latency: LatencySummary | null;
  /** False when the batch reprocesses history (`run --from-id`): kept apart from live figures. */
  readonly live: boolean;
  /** True for a stateful stage's final flush (no rows read; its windows are counted). */
  readonly flush: boolean;
}

/** Event-time → durable latency over the rows of a batch, ms. */
export interface LatencySummary {
  readonly mean: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  /** Rows with an event time behind the figures. */
  readonly rows: number;
}

/** Bytes written for a stage output. */
export function bytesOf(output: StageOutput): number {
  return output.objects.reduce((n, o) => n + o.body.byteLength, 0);
}

/** `(1 - written/raw) * 100` rounded to 0.01, the volume reduction of a batch; 0 when nothing was read. */
export function reductionPct(raw: number, written: number): number {
  return raw > 0 ? Math.round((1 - written / raw) * 10_000) / 100 : 0;
}

/**
 * Latency of each row with a plausible event time, from that time to `durableMs`, summarised.
 * Plausible is what the validated stage accepts: not before `minEventMs` (the epoch: a failed clock
 * read of 1969) and not more than `maxFutureMs` ahead of `durableMs` (a node two days ahead); a 56-year
 * "latency" says nothing about the pipeline. Future times within the allowed skew count as 0
 * rather than negative. The edge's batches and the cloud-only path's landings share this rule.
 */
export function latencySummary(eventMs: Float64Array, durableMs: number): LatencySummary | null {
  const lat = new Float64Array(eventMs.length);
  const earliest = DEFAULT_LIMITS.minEventMs;
  const latest = durableMs + DEFAULT_LIMITS.maxFutureMs;
  let n = 0;
  let sum = 0;
  for (let i = 0; i < eventMs.length; i++) {
    const e = eventMs[i];
    if (e >= earliest && e <= latest) {
      const l = durableMs > e ? durableMs - e : 0;
      lat[n++] = l;
      sum += l;
    }
  }
  if (n === 0) return null;
  // Nearest-rank percentiles, as sorted[rank] would give. Selecting p99 first leaves the smaller
  // ranks to its left, so each next selection searches only that part.
  const values = lat.subarray(0, n);
  const rank = (p: number) => Math.min(n - 1, Math.floor(p * n));
  const r99 = rank(0.99);
  const r95 = rank(0.95);
  const r50 = rank(0.5);
  const p99 = selectInPlace(values, r99);
  const p95 = selectInPlace(values, r95, 0, r99);
  const p50 = selectInPlace(values, r50, 0, r95);
  return { mean: sum / n, p50, p95, p99, rows: n };
}

/**
 * The `pipeline_metrics` and `latency_metrics` records of a batch (contract §5), as objects for
 * the metrics bucket. Keys follow the row layout, partitioned by the batch's start hour and
 * named by its id range, so a replayed batch overwrites its own metrics; the node part carries
 * the stage (`~validated`), and `~reprocess` / `~flush` where they apply, so that the same ids
 * run through two stages, reprocessed, or flushed at the end never overwrite each other's metrics.
 * With `ctx.format` parquet both are Parquet objects (`.parquet`) holding the same record.
 */
export async function metricsObjects(facts: BatchFacts, ctx: BatchContext): Promise<SinkObject[]> {
  const now = new Date(ctx.nowMs).toISOString();
  const dataSize = bytesOf(facts.output);
  const stamp = pipelineStamp(facts.type, ctx, false);
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
    processing_time: round3(facts.processingMs),
    run: facts.live ? 'live' : 'reprocess',
    flush: facts.flush,
    timestamp: now,
  };
  const role = `${ctx.keyNode}~${facts.type}${facts.live ? '' : '~reprocess'}${facts.flush ? '~flush' : ''}`;
  const format = ctx.format ?? 'jsonl';
  const key = (dataset: 'pipeline_metrics' | 'latency_metrics') => rowObjectKey({ dataset, hourMs: ctx.startedMs, nodeKey: role, firstId: facts.firstId, lastId: facts.lastId, format });
  const objects = [await oneRecordObject(ctx.buckets.metrics, key('pipeline_metrics'), pipeline, stamp, format, ctx.version)];
  const l = facts.latency;
  if (l) {
    const latency = {
      processing_location: 'edge',
      node_id: ctx.nodeId,
      batch_id: ctx.batchId,
      pipeline_type: facts.type,
      end_to_end_latency: round3(l.mean),
      p50: round3(l.p50),
      p95: round3(l.p95),
      p99: round3(l.p99),
      row_count: l.rows,
      run: facts.live ? 'live' : 'reprocess',
      timestamp: now,
    };
    objects.push(await oneRecordObject(ctx.buckets.metrics, key('latency_metrics'), latency, stamp, format, ctx.version));
  }
  return objects;
}

async function oneRecordObject(bucket: string, key: string, record: object, stamp: string, format: OutputFormat, version: string): Promise<SinkObject> {
  const line = JSON.stringify(record).slice(0, -1) + ',' + stamp + '}';
  if (format === 'jsonl') return { bucket, key, body: await gzipLines([line]), records: 1 };
  const dataset = key.startsWith('pipeline_metrics/') ? 'pipeline_metrics' : 'latency_metrics';
  return { bucket, key, body: recordsParquet(datasetParquetSchema(dataset), [JSON.parse(line)], { codec: await zstd(), createdBy: `edgelake ${version}` }), records: 1 };
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;
