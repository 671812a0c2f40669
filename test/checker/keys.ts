/**
 * The contract's bucket and key layout (§4), parsed by the checker's own rules:
 * `{prefix}-databricks-{stage}-{region}` buckets and
 * `{dataset}/year=YYYY/month=MM/day=DD/hour=HH/{node}[_{window_start_s}]_{first_id}-{last_id}.jsonl.gz` keys,
 * node parts parsed from the right so a node id may hold `_`.
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
  /** Everything before the id range (and window start): node id, maybe `.g<N>`, maybe `.alerts`. */
  readonly nodePart: string;
  /** The node id with the suffixes removed. */
  readonly node: string;
  /** Source generation (`.g<N>`), 1 when absent. */
  readonly generation: number;
  /** Window start in epoch seconds, for aggregated keys only. */
  readonly windowStartS: number | null;
  readonly firstId: number;
  readonly lastId: number;
}

const ROW_KEY = /^([a-z_]+)\/year=(\d{4})\/month=(\d{2})\/day=(\d{2})\/hour=(\d{2})\/(.+)_(\d{12})-(\d{12})\.jsonl\.gz$/;
const WINDOW_TAIL = /^(.+)_(\d+)$/;
const NODE_PART = /^(.+?)(?:\.g(\d+))?(\.alerts)?$/;

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
  const n = NODE_PART.exec(nodePart);
  if (!n) return null;
  return {
    dataset: m[1],
    hourMs: Date.UTC(Number(m[2]), month - 1, day, hour),
    nodePart,
    node: n[1],
    generation: n[2] ? Number(n[2]) : 1,
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
