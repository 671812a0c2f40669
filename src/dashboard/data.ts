import type { Cell, QueryEngine, QueryResult, Row } from '../query/engine.ts';
import { knownQueries } from '../query/engine.ts';
import { EGRESS_USD_PER_GB } from '../schema/queries.ts';
import { PIPELINE_TYPES } from '../state/pipeline-types.ts';

/**
 * Everything the report shows, read from the lake with the shared demo/dashboard queries
 * (src/schema/queries.ts) plus two dialect-neutral ones of its own for per-batch latency.
 */

/** Queries only the report needs; plain SQL that Databricks and DuckDB both accept. */
export const REPORT_SQL = {
  /** Per-batch row-latency percentiles (event time → object durable) of the stage batches (the alerts stream has its own), ms. */
  latency_batches: `SELECT timestamp, pipeline_type, p50, p95, p99
FROM sensor_data.latency_metrics
WHERE p50 IS NOT NULL AND pipeline_type <> 'alerts'
ORDER BY timestamp, batch_id`,
  /** Headline latency: the median batch's p50 and p95, and the worst batch's p99, ms. */
  latency_summary: `SELECT COUNT(*) AS batches, median(p50) AS p50_ms, median(p95) AS p95_ms, MAX(p99) AS p99_ms
FROM sensor_data.latency_metrics
WHERE p50 IS NOT NULL AND pipeline_type <> 'alerts'`,
} as const;

/** Options of {@link collectDashboardData}. */
export interface DashboardDataOptions {
  /** Transfer price assumed for the savings estimate, USD per GB (10^9 bytes). Default 0.09 (AWS internet egress, first tier). */
  readonly costPerGb?: number;
}

/** One stage's volume. */
export interface StageVolume {
  readonly stage: string;
  readonly batches: number;
  readonly recordsIn: number;
  readonly recordsWritten: number;
  readonly rawBytes: number;
  readonly bytesWritten: number;
  /** `100 × (1 − written/raw)`, one decimal (the query's own rounding). */
  readonly reductionPct: number | null;
}

/** The report's data, every figure already computed. */
export interface DashboardData {
  readonly generatedAt: string;
  readonly costPerGb: number;
  readonly stages: readonly StageVolume[];
  readonly totals: { readonly recordsIn: number; readonly rawBytes: number; readonly bytesWritten: number; readonly reductionPct: number | null };
  readonly latency: {
    readonly batches: readonly { t: string; stage: string; p50: number; p95: number; p99: number }[];
    readonly summary: { batches: number; p50: number | null; p95: number | null; p99: number | null };
  };
  readonly alerts: {
    readonly minutes: readonly string[];
    /** Alerts per priority per minute (same order as `minutes`). */
    readonly byPriority: Readonly<Record<string, readonly number[]>>;
    readonly totals: Readonly<Record<string, number>>;
    readonly total: number;
  };
  readonly sensors: readonly { id: string; location: string; lat: number; lon: number; readings: number; anomalies: number }[];
  readonly privacy: { readonly withPosition: number; readonly fuzzedPct: number | null };
  readonly nodes: readonly { node: string; job: string; jobType: string; records: number }[];
  readonly cost: {
    /** Per stage; `actualPerTbUsd` is what 1 TB of raw rows costs to ship after that stage. */
    readonly perStage: readonly { stage: string; rawUsd: number; actualUsd: number; savedUsd: number; actualPerTbUsd: number }[];
    /** What 1 TB (10^12 bytes) of raw rows costs to ship unprocessed, USD. */
    readonly rawPerTbUsd: number;
    readonly rawUsd: number;
    readonly actualUsd: number;
    readonly savedUsd: number;
    /** USD saved per TB (10^12 bytes) of raw rows at the overall reduction. */
    readonly savedPerTbUsd: number;
  };
  /** Every query result the figures come from, by query name. */
  readonly results: Readonly<Record<string, QueryResult>>;
}

/** Alert priorities, most urgent first (the chart stacks them in this order). */
export const PRIORITIES = ['high', 'medium', 'low', 'none'] as const;

/** Runs the report's queries on an open engine and derives every figure. */
export async function collectDashboardData(engine: QueryEngine, opts: DashboardDataOptions = {}): Promise<DashboardData> {
  const costPerGb = opts.costPerGb ?? EGRESS_USD_PER_GB;
  const results: Record<string, QueryResult> = {};
  for (const q of knownQueries()) results[q.name] = await engine.named(q);
  for (const [name, sql] of Object.entries(REPORT_SQL)) results[name] = await engine.query(sql);
  const rows = (name: string): readonly Row[] => results[name].rows;

  const stages: StageVolume[] = sortStages(rows('demo_1_volume_reduction')).map((r) => ({
    stage: str(r.pipeline_type),
    batches: num(r.batches),
    recordsIn: num(r.records_in),
    recordsWritten: num(r.records_written),
    rawBytes: num(r.raw_bytes),
    bytesWritten: num(r.bytes_written),
    reductionPct: r.reduction_pct === null ? null : num(r.reduction_pct),
  }));
  const sum = (f: (s: StageVolume) => number) => stages.reduce((a, s) => a + f(s), 0);
  const rawBytes = sum((s) => s.rawBytes);
  const bytesWritten = sum((s) => s.bytesWritten);
  const reductionPct = pct(rawBytes, bytesWritten);

  const [ls] = rows('latency_summary');
  const latency = {
    batches: rows('latency_batches').map((r) => ({ t: str(r.timestamp), stage: str(r.pipeline_type), p50: num(r.p50), p95: num(r.p95), p99: num(r.p99) })),
    summary: { batches: num(ls?.batches ?? 0), p50: nullableNum(ls?.p50_ms), p95: nullableNum(ls?.p95_ms), p99: nullableNum(ls?.p99_ms) },
  };

  const alertRows = rows('dash_anomalies_by_priority');
  const minutes = [...new Set(alertRows.map((r) => str(r.minute)))].sort();
  const byPriority: Record<string, number[]> = Object.fromEntries(PRIORITIES.map((p) => [p, minutes.map(() => 0)]));
  for (const r of alertRows) {
    const p = str(r.alert_priority);
    (byPriority[p] ??= minutes.map(() => 0))[minutes.indexOf(str(r.minute))] += num(r.alerts);
  }
  const totals = Object.fromEntries(Object.entries(byPriority).map(([p, xs]) => [p, xs.reduce((a, b) => a + b, 0)]));

  const [priv] = rows('dash_privacy_compliance');
  const costRows = sortStages(rows('dash_transfer_cost_savings')).map((r) => {
    const raw = num(r.raw_bytes);
    const perTb = raw > 0 ? 1000 * costPerGb * (num(r.bytes_written) / raw) : 0;
    const rawUsd = (num(r.raw_bytes) / 1e9) * costPerGb;
    const actualUsd = (num(r.bytes_written) / 1e9) * costPerGb;
    return { stage: str(r.pipeline_type), rawUsd, actualUsd, savedUsd: rawUsd - actualUsd, actualPerTbUsd: perTb };
  });
  const rawUsd = (rawBytes / 1e9) * costPerGb;
  const actualUsd = (bytesWritten / 1e9) * costPerGb;

  return {
    generatedAt: new Date().toISOString(),
    costPerGb,
    stages,
    totals: { recordsIn: sum((s) => s.recordsIn), rawBytes, bytesWritten, reductionPct },
    latency,
    alerts: { minutes, byPriority, totals, total: Object.values(totals).reduce((a, b) => a + b, 0) },
    sensors: rows('dash_sensor_positions').map((r) => ({
      id: str(r.sensor_id),
      location: str(r.location),
      lat: num(r.latitude),
      lon: num(r.longitude),
      readings: num(r.readings),
      anomalies: num(r.anomalies),
    })),
    privacy: { withPosition: num(priv?.readings_with_position ?? 0), fuzzedPct: nullableNum(priv?.fuzzed_pct) },
    nodes: rows('dash_node_job_distribution').map((r) => ({ node: str(r.node_id), job: str(r.job_id), jobType: str(r.job_type), records: num(r.records) })),
    cost: {
      perStage: costRows,
      rawUsd,
      actualUsd,
      savedUsd: rawUsd - actualUsd,
      rawPerTbUsd: 1000 * costPerGb,
      savedPerTbUsd: rawBytes > 0 ? 1000 * costPerGb * (1 - bytesWritten / rawBytes) : 0,
    },
    results,
  };
}

/** `100 × (1 − written/raw)` rounded to one decimal, as the SQL computes it; null without raw bytes. */
export function pct(raw: number, written: number): number | null {
  return raw > 0 ? Math.round(1000 * (1 - written / raw)) / 10 : null;
}

/** Rows with a `pipeline_type`, in pipeline order (ingestion → aggregated), unknown types last. */
function sortStages(rows: readonly Row[]): Row[] {
  const rank = (r: Row) => {
    const i = (PIPELINE_TYPES as readonly string[]).indexOf(str(r.pipeline_type));
    return i < 0 ? PIPELINE_TYPES.length : i;
  };
  return [...rows].sort((a, b) => rank(a) - rank(b));
}

function num(v: Cell | undefined): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : 0;
}

function nullableNum(v: Cell | undefined): number | null {
  return v === null || v === undefined ? null : num(v);
}

function str(v: Cell | undefined): string {
  return v === null || v === undefined ? '' : typeof v === 'string' ? v : String(v);
}
