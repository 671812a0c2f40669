import { gunzipSync } from 'node:zlib';
import { z } from 'zod';
import { gzipBytes } from '../sink/jsonl.ts';
import { encodeNodeKey } from '../sink/key.ts';
import type { Sink, SinkObject } from '../sink/types.ts';
import { PIPELINE_TYPES } from './pipeline-types.ts';
import type { PendingBatch } from './store.ts';

/**
 * A node's checkpoint, mirrored into the lake, so that a lost state (a wiped volume, a new
 * container without its state file, a dropped checkpoint table) is recovered exactly instead of
 * uploading every row again under other batch boundaries (contract §2).
 *
 * It is written as the FIRST object of every batch, before the batch's data: it holds the
 * position already committed and the intent being uploaded. A run that finds no checkpoint reads
 * it, recreates the checkpoint at the committed position with the recorded intent pending, and
 * so replays exactly that batch — the same keys, whether the batch had fully landed, partly
 * landed or not at all — and goes on from there. One small PUT per batch buys that.
 *
 * Where: `{metrics bucket}/_edgelake/manifests/{node key}/live.json.gz`, outside the dataset
 * prefixes that Auto Loader reads (`pipeline_metrics/`, `latency_metrics/`).
 */

/** The manifest's shape, version 1. */
export interface NodeManifest {
  readonly v: 1;
  /** The (pinned) node id of the state that wrote it. */
  readonly node_id: string;
  /** Source generation (see the runner: a replaced sensor database starts generation + 1). */
  readonly generation: number;
  readonly committed: {
    readonly last_id: number;
    /** The anchor of the committed row (`id|timestamp`), to tell whether this database is the one exported. */
    readonly source_identity: string | null;
    /** The stage state stored with that checkpoint (JSON text), or null. */
    readonly stage_state: string | null;
  };
  /** The batch being uploaded. */
  readonly pending: PendingBatch;
  /** The anchor of the batch's last row (`id|timestamp`): with the committed one, what tells this database from another. */
  readonly pending_anchor: string;
  readonly written_at: string;
  readonly version: string;
}

const ManifestSchema = z.object({
  v: z.literal(1),
  node_id: z.string().min(1),
  generation: z.number().int().min(1),
  committed: z.object({
    last_id: z.number().int(),
    source_identity: z.string().nullable(),
    stage_state: z.string().nullable(),
  }),
  pending: z.object({
    type: z.enum(PIPELINE_TYPES),
    batchId: z.string(),
    afterId: z.number().int(),
    lastId: z.number().int(),
    limit: z.number().int(),
    startedMs: z.number(),
    keyNode: z.string().optional(),
    kind: z.enum(['batch', 'flush']).optional(),
  }),
  pending_anchor: z.string(),
  written_at: z.string(),
  version: z.string(),
});

/** The manifest's key in the metrics bucket. */
export function manifestKey(nodeId: string): string {
  return `_edgelake/manifests/${encodeNodeKey(nodeId)}/live.json.gz`;
}

/**
 * The manifest as an object for the sink. It carries the stage state (an aggregated run's open
 * and kept windows: ~400 KB of JSON), written before every batch, so it is compressed at level 1
 * (igzip, ≈ 0.5 ms, or zlib on libuv's thread pool): at level 6 on the main thread it was ~20 ms
 * a batch, a tenth of an aggregated run's main-thread time.
 */
export async function manifestObject(bucket: string, m: NodeManifest): Promise<SinkObject> {
  return { bucket, key: manifestKey(m.node_id), body: await gzipBytes(Buffer.from(JSON.stringify(m), 'utf8'), 1), records: 0 };
}

/** Reads a node's manifest; null when there is none. A damaged one is a RangeError naming its key. */
export async function readManifest(sink: Sink, bucket: string, nodeId: string): Promise<NodeManifest | null> {
  const key = manifestKey(nodeId);
  const body = await sink.get(bucket, key);
  if (body === null) return null;
  let json: unknown;
  try {
    json = JSON.parse(gunzipSync(body).toString('utf8'));
  } catch (err) {
    throw new RangeError(`the manifest ${bucket}/${key} is not gzip JSON: ${(err as Error).message}`);
  }
  const r = ManifestSchema.safeParse(json);
  if (!r.success) throw new RangeError(`the manifest ${bucket}/${key} is malformed: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data as NodeManifest;
}
