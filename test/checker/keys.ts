/**
 * The contract's bucket and key layout (§4), parsed by the checker's own rules:
 * `{prefix}-databricks-{stage}-{region}` buckets and
 * `{dataset}/year=YYYY/month=MM/day=DD/hour=HH/{node}[_{window_start_s}]_{first_id}-{last_id}.jsonl.gz` keys,
 * node parts parsed from the right so a node id may hold `_`. The node part is the node id with
 * every UTF-8 byte outside `[A-Za-z0-9._-]` percent-encoded (so distinct ids never share a key),
 * then `~g<N>` for source generation N > 1, then `~<role>` suffixes (`~alerts`, and the stage,
 * `~reprocess`, `~flush` in metrics keys).
 */

/** Buckets the contract names. */
export const CHECKED_STAGES = ['ingestion', 'validated', 'enriched', 'aggregated', 'emergency', 'metrics'] as const;
/** A stage that owns a bucket. */
export type CheckedStage = (typeof CHECKED_STAGES)[number];

/** Stages whose records are one source row each (they carry the row's `id`). */
export const PER_ROW_STAGES = ['ingestion', 'validated', 'enriched'] as const;
/** A stage whose records are source rows. */
export type PerRowStage = (typeof PER_ROW_STAGES)[number];

/** The stage of a bucket name under `prefix` and `region`, or null when it is not one of the contract's buckets. */
export function stageOfBucket(bucket: string, prefix: string, region: string): CheckedStage | null {
  for (const s of CHECKED_STAGES) if (bucket === `${prefix}-databricks-${s}-${region}`) return s;
  return null;
}

/** The parts of an object key. */
export interface ParsedKey {
  readonly dataset: string;
  /** Start of the UTC hour of the partition folders, epoch ms. */
  readonly hourMs: number;
  /** Everything before the id range (and window start): encoded node id, maybe `~g<N>`, maybe `~<role>`s. */
  readonly nodePart: string;
  /** The node id, decoded, with the suffixes removed. */
  readonly node: string;
  /** Source generation (`~g<N>`), 1 when absent. */
  readonly generation: number;
  /** The `~<role>` suffixes in order, e.g. ['alerts'] or ['validated', 'flush']. */
  readonly roles: readonly string[];
  /** Window start in epoch seconds, for aggregated keys only. */
  readonly windowStartS: number | null;
  readonly firstId: number;
  readonly lastId: number;
}

const ROW_KEY = /^([a-z_]+)\/year=(\d{4})\/month=(\d{2})\/day=(\d{2})\/hour=(\d{2})\/(.+)_(\d{12})-(\d{12})\.(?:jsonl\.gz|parquet)$/;
const WINDOW_TAIL = /^(.+)_(-?\d+)$/;
const ENCODED_ID = /^(?:[A-Za-z0-9._-]|%[0-9A-F]{2})+$/;

/** The node id of an encoded node part, or null when it is not a valid encoding (the checker's own decoder). */
export function decodeNodeId(encoded: string): string | null {
  if (!ENCODED_ID.test(encoded)) return null;
  const bytes = encoded.match(/%[0-9A-F]{2}|[^%]/g)!.map((t) => (t.length === 3 ? parseInt(t.slice(1), 16) : t.charCodeAt(0)));
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(bytes));
  } catch {
    return null;
  }
}

/**
 * Parses a key; `windowed` says whether a window start precedes the id range (the aggregated
 * bucket). Returns null when the key does not follow the layout.
 */
export function parseKey(key: string, windowed: boolean): ParsedKey | null {
  const m = ROW_KEY.exec(key);
  if (!m) return null;
  const [month, day, hour] = [Number(m[3]), Number(m[4]), Number(m[5])];
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23) return null;
  let nodePart = m[6];
  let windowStartS: number | null = null;
  if (windowed) {
    const w = WINDOW_TAIL.exec(nodePart);
    if (!w) return null;
    nodePart = w[1];
    windowStartS = Number(w[2]);
  }
  const [encoded, ...suffixes] = nodePart.split('~');
  const node = decodeNodeId(encoded);
  if (node === null) return null;
  let generation = 1;
  if (suffixes.length && /^g\d+$/.test(suffixes[0])) generation = Number(suffixes.shift()!.slice(1));
  if (suffixes.some((r) => !/^[a-z]+$/.test(r))) return null;
  return {
    dataset: m[1],
    hourMs: Date.UTC(Number(m[2]), month - 1, day, hour),
    nodePart,
    node,
    generation,
    roles: suffixes,
    windowStartS,
    firstId: Number(m[7]),
    lastId: Number(m[8]),
  };
}

/** The dataset each bucket holds (first key segment); metrics holds two. */
export function datasetsOf(stage: CheckedStage): readonly string[] {
  if (stage === 'emergency') return ['alerts'];
  if (stage === 'metrics') return ['pipeline_metrics', 'latency_metrics'];
  return ['sensor_readings'];
}
