import { gzipLines } from '../sink/jsonl.ts';
import { nodeKeyPart, rowObjectKey } from '../sink/key.ts';
import type { SinkObject } from '../sink/types.ts';
import { DEFAULT_LIMITS } from '../kernels/types.ts';
import { latencySummary } from '../pipeline/metrics.ts';
import type { CloudBaseline } from './options.ts';
import { describeCloudBaseline } from './options.ts';

/**
 * The cloud-only baseline's measurements as contract records (§5 `latency_metrics`, with
 * `processing_location = "cloud"`): the same fields as the edge's records, keyed with the same key
 * function under a node part of their own (`<node>~cloud`, `<node>~cloud-alerts`: `~` never occurs
 * in an encoded node id, so they can never collide with the node's own objects).
 */

/** Key roles of the cloud baseline's objects (see `nodeKeyPart`). */
export const CLOUD_ROLES = { landing: 'cloud', alerts: 'cloud-alerts' } as const;

/** The `_pipeline` member of a cloud record: the central process wrote it, for the node's rows. */
function stamp(type: 'ingestion' | 'alerts', nodeId: string, batchId: string, version: string, atMs: number): string {
  return `"_pipeline":${JSON.stringify({ type, version, node_id: nodeId, batch_id: batchId, processed_at: new Date(atMs).toISOString() })}`;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** What the central process knows about one landed raw object. */
export interface Landing {
  readonly nodeId: string;
  readonly firstId: number;
  readonly lastId: number;
  /** Rows in the object. */
  readonly rows: number;
  /** Size of the object as it landed, bytes (what the node shipped). */
  readonly bytes: number;
  /** When it landed (the object's modification time), epoch ms. */
  readonly landedMs: number;
  /** Event times of its rows, epoch ms (NaN: none). */
  readonly eventMs: Float64Array;
}

/**
 * The `latency_metrics` record of a raw object's landing: event time → object landed, over its
 * rows with a plausible event time (mean, p50/p95/p99, as the edge summarises a batch; null mean
 * and no percentiles when there is none), with the object's id range, rows and bytes so the same
 * rows can be compared with what the edge shipped for them. Every object gets one: its bytes
 * count whatever its rows' clocks said.
 */
export async function landingObject(l: Landing, bucket: string, version: string): Promise<SinkObject> {
  const s = latencySummary(l.eventMs, l.landedMs);
  const batchId = `${l.nodeId}-cloud-ingestion-${l.firstId}-${l.lastId}`;
  const record = {
    processing_location: 'cloud',
    node_id: l.nodeId,
    batch_id: batchId,
    pipeline_type: 'ingestion',
    end_to_end_latency: s ? round3(s.mean) : null,
    ...(s ? { p50: round3(s.p50), p95: round3(s.p95), p99: round3(s.p99) } : {}),
    row_count: l.rows,
    first_id: l.firstId,
    last_id: l.lastId,
    object_bytes: l.bytes,
    timestamp: new Date(l.landedMs).toISOString(),
  };
  const key = rowObjectKey({ dataset: 'latency_metrics', hourMs: l.landedMs, nodeKey: nodeKeyPart(l.nodeId, { role: CLOUD_ROLES.landing }), firstId: l.firstId, lastId: l.lastId });
  const line = JSON.stringify(record).slice(0, -1) + ',' + stamp('ingestion', l.nodeId, batchId, version, l.landedMs) + '}';
  return { bucket, key, body: await gzipLines([line]), records: 1 };
}

/** One anomaly the central process detected. */
export interface CentralDetection {
  readonly id: number;
  /** Event time of the reading, epoch ms. */
  readonly eventMs: number;
  /** When the central process had detected it, epoch ms. */
  readonly detectedMs: number;
}

/**
 * One object of `latency_metrics` records for the detections of a node in one trigger, one record
 * per alert (its own event → central detection latency as mean, p50, p95 and p99), so
 * percentiles over the records are percentiles over alert rows. Detections without a plausible
 * event time (missing, before 1970, or after the detection) have no latency and are left out, as
 * the comparison queries leave them out on the edge side. Null when none is left.
 */
export async function detectionsObject(nodeId: string, found: readonly CentralDetection[], bucket: string, version: string): Promise<SinkObject | null> {
  const usable = found.filter((d) => d.eventMs >= DEFAULT_LIMITS.minEventMs && d.detectedMs >= d.eventMs);
  if (usable.length === 0) return null;
  const lines = usable.map((d) => {
    const latency = round3(d.detectedMs - d.eventMs);
    const batchId = `${nodeId}-cloud-alert-${d.id}`;
    const record = {
      processing_location: 'cloud',
      node_id: nodeId,
      batch_id: batchId,
      pipeline_type: 'alerts',
      end_to_end_latency: latency,
      p50: latency,
      p95: latency,
      p99: latency,
      row_count: 1,
      first_id: d.id,
      last_id: d.id,
      timestamp: new Date(d.detectedMs).toISOString(),
    };
    return JSON.stringify(record).slice(0, -1) + ',' + stamp('alerts', nodeId, batchId, version, d.detectedMs) + '}';
  });
  const first = usable[0].id;
  const last = usable[usable.length - 1].id;
  const key = rowObjectKey({ dataset: 'latency_metrics', hourMs: usable[0].detectedMs, nodeKey: nodeKeyPart(nodeId, { role: CLOUD_ROLES.alerts }), firstId: first, lastId: last });
  return { bucket, key, body: await gzipLines(lines), records: lines.length };
}

/** Where the baseline's parameters are kept in the metrics bucket: beside the datasets, in no table. */
export const PARAMETERS_KEY = 'cloud_baseline/parameters.jsonl.gz';

/** The parameters object: one JSON line `{parameters: [{key, label, value}], raw: {...}, written_at}` for the dashboard. */
export async function parametersObject(b: CloudBaseline, bucket: string, nowMs: number): Promise<SinkObject> {
  const line = JSON.stringify({ parameters: describeCloudBaseline(b), raw: b, written_at: new Date(nowMs).toISOString() });
  return { bucket, key: PARAMETERS_KEY, body: await gzipLines([line]), records: 1 };
}
