import type { Cell, QueryEngine, QueryResult, Row } from '../query/engine.ts';
import { EGRESS_USD_PER_GB, USD_PER_GB_PARAM, renderedQueries } from '../schema/queries.ts';
import { CITIES } from '../simulate/cities.ts';
import { PIPELINE_TYPES } from '../state/pipeline-types.ts';

/**
 * Everything the report shows, read from the lake with the shared demo/dashboard queries
 * (src/schema/queries.ts: the same SQL `edgelake query` runs and Databricks runs, so the report
 * and the queries agree to the digit) plus one dialect-neutral query of its own for per-batch
 * latency. Panels whose query is absent from this build show as empty, never as made-up figures.
 */

/** Queries only the report needs; plain SQL that Databricks and DuckDB both accept. */
export const REPORT_SQL = {
  /** Per-batch row-latency percentiles (event time → object durable) of the edge's stage batches (alerts have their own panel), ms. */
  latency_batches: `SELECT timestamp, pipeline_type, p50, p95
FROM sensor_data.latency_metrics
WHERE p50 IS NOT NULL AND pipeline_type <> 'alerts' AND processing_location = 'edge'
ORDER BY timestamp, batch_id`,
} as const;

/** Options of {@link collectDashboardData}. */
export interface DashboardDataOptions {
  /** Transfer price, USD per GB (10^9 bytes): the queries' `usd_per_gb` parameter. Default 0.09 (AWS internet egress, first tier). */
  readonly costPerGb?: number;
}

/** One of the brief's success metrics, as `metrics_success` measured it. */
export interface SuccessMetric {
  readonly ordinal: number;
  readonly metric: string;
  readonly measured: number | null;
  readonly unit: string;
  readonly comparison: string;
  readonly target: number;
  readonly status: 'pass' | 'fail' | 'no data';
  readonly edgeFigure: number | null;
  readonly baselineFigure: number | null;
  readonly figureUnit: string;
  readonly basis: string;
}

/** One stage's bytes against the bytes of the same rows shipped raw. */
export interface StageVolume {
  readonly stage: string;
  readonly rowsIn: number;
  readonly recordsWritten: number;
  readonly bytesWritten: number;
  /** Bytes the same rows took in the ingestion format, as the cloud-only baseline shipped them; null without the baseline. */
  readonly rawBytes: number | null;
  /** `100 × (1 − written/raw)`, one decimal (the query's rounding); null without the baseline. */
  readonly reductionPct: number | null;
}

/** Latency percentiles of one path at one location, ms. */
export interface LatencyPath {
  readonly location: string;
  /** `alert`: event → alert, per alert row; `lake`: event → object durable, median batch. */
  readonly path: 'alert' | 'lake';
  readonly n: number;
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
}

/** A node of the fleet, located by its identity. */
export interface FleetNode {
  readonly node: string;
  readonly city: string;
  readonly country: string;
  readonly region: string;
  readonly datacenter: string;
  readonly nodeType: string;
  readonly cpuCores: number | null;
  readonly memoryGb: number | null;
  readonly gpuCount: number | null;
  readonly jobId: string;
  readonly executions: number;
  readonly records: number;
  readonly bytesWritten: number;
  readonly lakeP50: number | null;
  readonly alerts: number;
  readonly alertP50: number | null;
  /** The identity city's coordinates (the simulator's gazetteer); null for a city it does not know. */
  readonly lat: number | null;
  readonly lon: number | null;
}

/** The report's data, every figure already computed. */
export interface DashboardData {
  readonly generatedAt: string;
  readonly costPerGb: number;
  readonly success: readonly SuccessMetric[];
  readonly stages: readonly StageVolume[];
  readonly latency: {
    readonly paths: readonly LatencyPath[];
    readonly batches: readonly { t: string; stage: string; p50: number; p95: number }[];
  };
  readonly alerts: {
    readonly minutes: readonly string[];
    /** Alerts per priority per minute (same order as `minutes`). */
    readonly byPriority: Readonly<Record<string, readonly number[]>>;
    readonly totals: Readonly<Record<string, number>>;
    readonly total: number;
  };
  readonly fleet: readonly FleetNode[];
  readonly gps: readonly { bucket: string; positions: number; fuzzed: number; fuzzedPct: number | null }[];
  readonly rejects: {
    readonly byRule: readonly { stage: string; rule: string; field: string; violations: number }[];
    readonly share: readonly { stage: string; readings: number; valid: number; rejected: number; validPct: number | null }[];
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
  for (const q of renderedQueries({ params: { [USD_PER_GB_PARAM.keyword]: costPerGb } })) results[q.name] = await engine.named(q);
  for (const [name, sql] of Object.entries(REPORT_SQL)) results[name] = await engine.query(sql);
  const rows = (name: string): readonly Row[] => results[name]?.rows ?? [];

  const success = rows('metrics_success').map((r) => ({
    ordinal: num(r.ordinal),
    metric: str(r.metric),
    measured: nullableNum(r.measured),
    unit: str(r.unit),
    comparison: str(r.comparison),
    target: num(r.target),
    status: str(r.status) as SuccessMetric['status'],
    edgeFigure: nullableNum(r.edge_figure),
    baselineFigure: nullableNum(r.baseline_figure),
    figureUnit: str(r.figure_unit),
    basis: str(r.basis),
  }));
  const stages = sortStages(rows('metrics_volume_same_rows')).map((r) => ({
    stage: str(r.pipeline_type),
    rowsIn: num(r.rows_in),
    recordsWritten: num(r.records_written),
    bytesWritten: num(r.bytes_written),
    rawBytes: nullableNum(r.raw_bytes_same_rows),
    reductionPct: nullableNum(r.reduction_pct),
  }));

  const alertRows = rows('dash_anomalies_by_priority');
  const minutes = [...new Set(alertRows.map((r) => str(r.minute)))].sort();
  const byPriority: Record<string, number[]> = Object.fromEntries(PRIORITIES.map((p) => [p, minutes.map(() => 0)]));
  for (const r of alertRows) {
    const p = str(r.alert_priority);
    (byPriority[p] ??= minutes.map(() => 0))[minutes.indexOf(str(r.minute))] += num(r.alerts);
  }
  const totals = Object.fromEntries(Object.entries(byPriority).map(([p, xs]) => [p, xs.reduce((a, b) => a + b, 0)]));

  return {
    generatedAt: new Date().toISOString(),
    costPerGb,
    success,
    stages,
    latency: {
      paths: rows('metrics_latency_edge_cloud').map((r) => ({
        location: str(r.processing_location),
        path: str(r.path) as LatencyPath['path'],
        n: num(r.n),
        p50: nullableNum(r.p50_ms),
        p95: nullableNum(r.p95_ms),
        p99: nullableNum(r.p99_ms),
      })),
      batches: rows('latency_batches').map((r) => ({ t: str(r.timestamp), stage: str(r.pipeline_type), p50: num(r.p50), p95: num(r.p95) })),
    },
    alerts: { minutes, byPriority, totals, total: Object.values(totals).reduce((a, b) => a + b, 0) },
    fleet: rows('metrics_fleet_nodes').map((r) => {
      const city = CITIES.find((c) => c.name === str(r.city));
      return {
        node: str(r.node_id),
        city: str(r.city),
        country: str(r.country),
        region: str(r.region),
        datacenter: str(r.datacenter),
        nodeType: str(r.node_type),
        cpuCores: nullableNum(r.cpu_cores),
        memoryGb: nullableNum(r.memory_gb),
        gpuCount: nullableNum(r.gpu_count),
        jobId: str(r.job_id),
        executions: num(r.executions),
        records: num(r.records),
        bytesWritten: num(r.bytes_written),
        lakeP50: nullableNum(r.lake_p50_ms),
        alerts: num(r.alerts),
        alertP50: nullableNum(r.alert_p50_ms),
        lat: city?.lat ?? null,
        lon: city?.lon ?? null,
      };
    }),
    gps: sortBy(rows('metrics_gps_by_bucket'), 'bucket').map((r) => ({ bucket: str(r.bucket), positions: num(r.positions), fuzzed: num(r.fuzzed), fuzzedPct: nullableNum(r.fuzzed_pct) })),
    rejects: {
      byRule: rows('dash_rejects_by_rule').map((r) => ({ stage: str(r.stage), rule: str(r.rule), field: str(r.field), violations: num(r.violations) })),
      share: sortBy(rows('dash_validation_share'), 'stage').map((r) => ({ stage: str(r.stage), readings: num(r.readings), valid: num(r.valid), rejected: num(r.rejected), validPct: nullableNum(r.valid_pct) })),
    },
    results,
  };
}

/** Rows with a `pipeline_type`, in pipeline order (ingestion → aggregated), unknown types last. */
function sortStages(rows: readonly Row[]): Row[] {
  return sortBy(rows, 'pipeline_type');
}

/** Rows in pipeline order of the stage named by `col` (other values, e.g. `alerts`, last). */
function sortBy(rows: readonly Row[], col: string): Row[] {
  const rank = (r: Row) => {
    const i = (PIPELINE_TYPES as readonly string[]).indexOf(str(r[col]));
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
