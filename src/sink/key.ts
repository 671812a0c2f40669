/**
 * Object naming of the data contract (§4), as pure functions: the only place keys and bucket
 * names are made, so a replayed batch always lands on the same keys.
 */

/** Stages that own a bucket. */
export type BucketStage = 'ingestion' | 'validated' | 'enriched' | 'aggregated' | 'emergency' | 'metrics';

/** Datasets written by edgelake (the first key segment). */
export type Dataset = 'sensor_readings' | 'alerts' | 'pipeline_metrics' | 'latency_metrics';

/** `{prefix}-databricks-{stage}-{region}`. */
export function bucketName(prefix: string, stage: BucketStage, region: string): string {
  return `${prefix}-databricks-${stage}-${region}`;
}

const pad2 = (n: number) => (n < 10 ? '0' : '') + n;

/** Ids are zero-padded to 12 digits so keys sort in id order. */
export function padId(id: number): string {
  return String(id).padStart(12, '0');
}

/** The start of the UTC hour holding `epochMs`. */
export function hourStart(epochMs: number): number {
  return Math.floor(epochMs / 3_600_000) * 3_600_000;
}

/** `year=YYYY/month=MM/day=DD/hour=HH` of the UTC hour holding `epochMs`. */
export function hourPartition(epochMs: number): string {
  const d = new Date(epochMs);
  if (Number.isNaN(d.getTime())) throw new RangeError(`hourPartition: not a time: ${epochMs}`);
  return `year=${String(d.getUTCFullYear()).padStart(4, "0")}/month=${pad2(d.getUTCMonth() + 1)}/day=${pad2(d.getUTCDate())}/hour=${pad2(d.getUTCHours())}`;
}

/** `{dataset}/year=…/hour=HH/{node_id}_{first_id}-{last_id}.jsonl.gz` for row-shaped datasets. */
export function rowObjectKey(p: { dataset: Dataset; hourMs: number; nodeId: string; firstId: number; lastId: number }): string {
  return `${p.dataset}/${hourPartition(p.hourMs)}/${safeNodeId(p.nodeId)}_${padId(p.firstId)}-${padId(p.lastId)}.jsonl.gz`;
}

/** `sensor_readings/year=…/hour=HH/{node_id}_{window_start_epoch_s}_{first_id}-{last_id}.jsonl.gz` for aggregated windows. */
export function windowObjectKey(p: { windowStartMs: number; nodeId: string; firstId: number; lastId: number }): string {
  const startS = Math.floor(p.windowStartMs / 1000);
  return `sensor_readings/${hourPartition(p.windowStartMs)}/${safeNodeId(p.nodeId)}_${startS}_${padId(p.firstId)}-${padId(p.lastId)}.jsonl.gz`;
}

/**
 * Node ids come from the environment or a host name; anything outside [A-Za-z0-9._-] would
 * break a path segment, so it is replaced by `-` (keys are parsed from the right, so `_` is fine).
 */
export function safeNodeId(nodeId: string): string {
  return nodeId.replace(/[^A-Za-z0-9._-]/g, '-');
}
