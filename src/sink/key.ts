/**
 * Object naming of the data contract (§4), as pure functions: the only place keys and bucket
 * names are made, so a replayed batch always lands on the same keys.
 */

/** Stages that own a bucket, in the contract's order (§4): the one list of buckets. */
export const BUCKET_STAGES = ['ingestion', 'validated', 'enriched', 'aggregated', 'emergency', 'metrics'] as const;

/** A stage that owns a bucket. */
export type BucketStage = (typeof BUCKET_STAGES)[number];

/** Datasets written by edgelake (the first key segment). */
export type Dataset = 'sensor_readings' | 'alerts' | 'pipeline_metrics' | 'latency_metrics';

/** Output formats of `run --format` / `reprocess --format` (contract §3). */
export const OUTPUT_FORMATS = ['jsonl', 'parquet'] as const;

/** An object format: gzip JSON Lines (default) or Parquet with zstd pages. */
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** The key extension of each format: the same keys, `.jsonl.gz` or `.parquet`. */
export const FORMAT_EXTENSION: Readonly<Record<OutputFormat, string>> = { jsonl: '.jsonl.gz', parquet: '.parquet' };

/** `{prefix}-databricks-{stage}-{region}`. */
export function bucketName(prefix: string, stage: BucketStage, region: string): string {
  return `${prefix}-databricks-${stage}-${region}`;
}

/** Every bucket's name under one prefix and region. */
export function bucketNames(prefix: string, region: string): Record<BucketStage, string> {
  return Object.fromEntries(BUCKET_STAGES.map((s) => [s, bucketName(prefix, s, region)])) as Record<BucketStage, string>;
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

/**
 * `{dataset}/year=…/hour=HH/{node_key}_{first_id}-{last_id}.jsonl.gz` for row-shaped datasets
 * (`.parquet` with format parquet; default jsonl); `nodeKey` is a {@link nodeKeyPart}.
 */
export function rowObjectKey(p: { dataset: Dataset; hourMs: number; nodeKey: string; firstId: number; lastId: number; format?: OutputFormat }): string {
  return `${p.dataset}/${hourPartition(p.hourMs)}/${p.nodeKey}_${padId(p.firstId)}-${padId(p.lastId)}${FORMAT_EXTENSION[p.format ?? 'jsonl']}`;
}

/** `sensor_readings/year=…/hour=HH/{node_key}_{window_start_epoch_s}_{first_id}-{last_id}.jsonl.gz` for aggregated windows (`.parquet` with format parquet). */
export function windowObjectKey(p: { windowStartMs: number; nodeKey: string; firstId: number; lastId: number; format?: OutputFormat }): string {
  const startS = Math.floor(p.windowStartMs / 1000);
  return `sensor_readings/${hourPartition(p.windowStartMs)}/${p.nodeKey}_${startS}_${padId(p.firstId)}-${padId(p.lastId)}${FORMAT_EXTENSION[p.format ?? 'jsonl']}`;
}

/**
 * The node part of a key: the encoded node id ({@link encodeNodeKey}), then `~g<N>` from the
 * second source generation on (the sensor database was replaced and ids restarted), then
 * `~<role>` for objects a node writes besides its batches (`~alerts`). `~` never occurs in an
 * encoded id, so the suffixes can never be mistaken for part of one.
 */
export function nodeKeyPart(nodeId: string, opts: { generation?: number; role?: string } = {}): string {
  const gen = opts.generation ?? 1;
  return encodeNodeKey(nodeId) + (gen > 1 ? `~g${gen}` : '') + (opts.role ? `~${opts.role}` : '');
}

const KEY_SAFE = /^[A-Za-z0-9._-]*$/;

/**
 * The node part of a key: the node id with every UTF-8 byte outside `[A-Za-z0-9._-]` written as
 * `%XX` (upper-case hex), the encoding S3 and URLs already use. It is injective — distinct ids
 * never share a key, so one node can never overwrite another's objects (`東京-01` and `大阪-01`
 * used to both become `---01`) — and reversible ({@link decodeNodeKey}). Ids made of safe
 * characters, the usual host names, are unchanged. Keys are parsed from the right, so `_` and `-`
 * inside an id are fine.
 */
export function encodeNodeKey(nodeId: string): string {
  if (KEY_SAFE.test(nodeId)) return nodeId;
  let out = '';
  for (const byte of Buffer.from(nodeId, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += byte < 0x80 && KEY_SAFE.test(c) ? c : '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/** The node id of a node part made by {@link encodeNodeKey}; a RangeError for text it cannot have made. */
export function decodeNodeKey(part: string): string {
  if (!/^(?:[A-Za-z0-9._-]|%[0-9A-F]{2})*$/.test(part)) throw new RangeError(`not an encoded node key: ${JSON.stringify(part)}`);
  const bytes: number[] = [];
  for (let i = 0; i < part.length; i++) {
    if (part[i] === '%') {
      bytes.push(parseInt(part.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(part.charCodeAt(i));
  }
  return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes));
}
