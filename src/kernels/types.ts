/**
 * The kernel API shared by the WASM kernels, their plain-TypeScript reference, the worker pool
 * and the stages: columnar inputs (typed arrays, NaN = NULL), per-row outputs, and the small
 * host-side helpers (rule table, partial merge). Metric index m always follows `METRICS`
 * (temperature, humidity, pressure, vibration, voltage).
 */
import { METRICS } from '../source/schema.ts';
import type { Metric } from '../source/schema.ts';
import type { ScoreState } from './score-state.ts';

export { ScoreState } from './score-state.ts';
export type { ScoreStateJSON, ScoreStateOptions } from './score-state.ts';
export { sensorSeeds } from './seeds.ts';
export { mergePartials, emptyPartial, partialStddev } from './partial.ts';

/** Which implementation runs the kernels: the WASM build (production) or the TypeScript reference (oracle). */
export type KernelImpl = 'wasm' | 'ts';

/** Number of metrics every kernel handles (`METRICS.length`). */
export const METRIC_COUNT = 5;

/**
 * Validation rule bits of the per-row mask returned by `Kernels.validate` (Uint32).
 * For metric m: `MISSING[m] = 1 << 2m` (NULL or not a number), `OUT_OF_RANGE[m] = 1 << (2m+1)`.
 */
export const RULE = {
  MISSING: [1 << 0, 1 << 2, 1 << 4, 1 << 6, 1 << 8] as const,
  OUT_OF_RANGE: [1 << 1, 1 << 3, 1 << 5, 1 << 7, 1 << 9] as const,
  /** Timestamp NULL or unparseable (eventMs NaN). */
  TS_MISSING: 1 << 10,
  /** Event time later than nowMs + maxFutureMs. */
  TS_FUTURE: 1 << 11,
  /** Event time earlier than minEventMs. */
  TS_BEFORE_MIN: 1 << 12,
  /** Latitude or longitude NULL, or outside [-90, 90] / [-180, 180]. */
  GPS_INVALID: 1 << 13,
  /** voltage < collapseVoltage while vibration > collapseVibration (a failing supply under mechanical stress). */
  VOLTAGE_COLLAPSE_WITH_VIBRATION: 1 << 14,
  /** status_code and anomaly_flag both valid (0/1) and different: status 1 ⇔ flag 1 must hold. */
  STATUS_FLAG_MISMATCH: 1 << 15,
  /** status_code or anomaly_flag present but neither 0 nor 1. */
  FLAG_INVALID: 1 << 16,
} as const;

/** One row of the rule table: how a stage turns a mask bit into a `_validation.errors[]` record. */
export interface RuleInfo {
  readonly bit: number;
  /** The `field` of the error record. */
  readonly field: string;
  /** The `rule` of the error record (stable identifier). */
  readonly rule: string;
  /** Source columns whose values the error record's `value` should carry (one column → scalar, several → object). */
  readonly columns: readonly string[];
  /** Human-readable message (the limits are filled in by the stage if it wishes). */
  readonly message: string;
}

/** Every rule bit with its error-record description, in bit order. */
export const RULES: readonly RuleInfo[] = [
  ...METRICS.flatMap((m: Metric, i): RuleInfo[] => [
    { bit: RULE.MISSING[i], field: m, rule: 'required', columns: [m], message: `${m} is missing or not a number` },
    { bit: RULE.OUT_OF_RANGE[i], field: m, rule: 'range', columns: [m], message: `${m} is outside its physical range` },
  ]),
  { bit: RULE.TS_MISSING, field: 'timestamp', rule: 'required', columns: ['timestamp'], message: 'timestamp is missing or unparseable' },
  { bit: RULE.TS_FUTURE, field: 'timestamp', rule: 'not_future', columns: ['timestamp'], message: 'timestamp is in the future' },
  { bit: RULE.TS_BEFORE_MIN, field: 'timestamp', rule: 'min_time', columns: ['timestamp'], message: 'timestamp is before the earliest accepted time' },
  { bit: RULE.GPS_INVALID, field: 'gps', rule: 'gps_range', columns: ['latitude', 'longitude'], message: 'latitude/longitude missing or outside [-90,90]/[-180,180]' },
  {
    bit: RULE.VOLTAGE_COLLAPSE_WITH_VIBRATION,
    field: 'voltage',
    rule: 'voltage_collapse_with_vibration',
    columns: ['voltage', 'vibration'],
    message: 'voltage collapsed while vibration is high',
  },
  {
    bit: RULE.STATUS_FLAG_MISMATCH,
    field: 'status_code',
    rule: 'status_flag_consistency',
    columns: ['status_code', 'anomaly_flag'],
    message: 'status_code and anomaly_flag disagree (status 1 must go with flag 1)',
  },
  { bit: RULE.FLAG_INVALID, field: 'status_code', rule: 'flag_domain', columns: ['status_code', 'anomaly_flag'], message: 'status_code or anomaly_flag is not 0 or 1' },
];

/** Inclusive [min, max] per metric, in METRICS order. */
export type MetricRanges = readonly [readonly [number, number], readonly [number, number], readonly [number, number], readonly [number, number], readonly [number, number]];

/** Limits the validation kernel checks (and the physical ranges the scorer treats as hard limits). */
export interface ValidationLimits {
  /** Inclusive physical range per metric, METRICS order (units: °C, %, Pa, mm/s², V). */
  readonly ranges: MetricRanges;
  /** Earliest accepted event time, epoch ms (inclusive). */
  readonly minEventMs: number;
  /** How far past `nowMs` an event time may lie, ms (clock skew allowance). */
  readonly maxFutureMs: number;
  /** Voltage (V) below which a supply counts as collapsed. */
  readonly collapseVoltage: number;
  /** Vibration (mm/s²) above which a collapse is flagged. */
  readonly collapseVibration: number;
}

/**
 * Default limits: the generic profile of CONTRACT §1 widened to physical plausibility, so that
 * merely unusual readings (the scorer's job) are not invalid.
 * - temperature [-40, 85] °C: industrial sensor operating range;
 * - humidity [0, 100] %: physical bounds;
 * - pressure [80000, 110000] Pa: ~2000 m altitude up to the highest recorded sea-level pressure;
 * - vibration [0, 50] mm/s²: 5× the typical maximum;
 * - voltage [0, 24] V: twice the 12 V nominal supply;
 * - minEventMs 0 (the epoch), maxFutureMs 5 min (clock skew);
 * - collapseVoltage 9 V (75 % of nominal), collapseVibration 8 mm/s² (top of the typical range).
 */
export const DEFAULT_LIMITS: ValidationLimits = Object.freeze({
  ranges: Object.freeze([
    Object.freeze([-40, 85]),
    Object.freeze([0, 100]),
    Object.freeze([80000, 110000]),
    Object.freeze([0, 50]),
    Object.freeze([0, 24]),
  ]) as unknown as MetricRanges,
  minEventMs: 0,
  maxFutureMs: 5 * 60 * 1000,
  collapseVoltage: 9,
  collapseVibration: 8,
});

/** Input of `validate`: all columns have the batch length. */
export interface ValidateInput {
  /** Event time, epoch ms, NaN when missing. */
  readonly eventMs: Float64Array;
  /** Five metric columns in METRICS order. */
  readonly metrics: readonly Float64Array[];
  readonly latitude: Float64Array;
  readonly longitude: Float64Array;
  readonly statusCode: Float64Array;
  readonly anomalyFlag: Float64Array;
  /** The reference "now", epoch ms, for TS_FUTURE. */
  readonly nowMs: number;
}

/** |z| thresholds of the alert priorities (inclusive: |z| ≥ low → low, …). Defaults in DEFAULT_THRESHOLDS. */
export interface ScoreThresholds {
  readonly low: number;
  readonly medium: number;
  readonly high: number;
}

/** Default thresholds: |z| ≥ 3 low, ≥ 4.5 medium, ≥ 6 high. */
export const DEFAULT_THRESHOLDS: ScoreThresholds = Object.freeze({ low: 3, medium: 4.5, high: 6 });

/** Reason bits of `ScoreOutput.reasons`. */
export const REASON = {
  /** Metric m's |z| reached the low threshold: `ZSCORE[m] = 1 << m`. */
  ZSCORE: [1 << 0, 1 << 1, 1 << 2, 1 << 3, 1 << 4] as const,
  /** Metric m outside its physical range (score ≥ high): `PHYSICAL[m] = 1 << (5 + m)`. */
  PHYSICAL: [1 << 5, 1 << 6, 1 << 7, 1 << 8, 1 << 9] as const,
  /** The sensor set anomaly_flag = 1 (score ≥ medium). */
  SENSOR_FLAG: 1 << 10,
} as const;

/** Input of `score`: rows in processing order (the baseline is sequential). */
export interface ScoreInput {
  /** Stable per-sensor slot id, 0 ≤ slot; the state grows to max(slot) + 1. */
  readonly slot: Int32Array;
  /** Five metric columns in METRICS order. */
  readonly metrics: readonly Float64Array[];
  readonly anomalyFlag: Float64Array;
  /** Hard physical limits per metric (usually `limits.ranges`). */
  readonly physical: MetricRanges;
}

/** Per-row result of `score`. */
export interface ScoreOutput {
  /** Anomaly score ≥ 0: max |z| over metrics, raised to `high` by physical limits, to `medium` by the sensor flag. */
  readonly score: Float64Array;
  /** REASON bits. */
  readonly reasons: Uint32Array;
  /** 0 none, 1 low, 2 medium, 3 high. */
  readonly priority: Uint8Array;
}

/** Priority names by code, as written in records. */
export const PRIORITY_NAMES = ['none', 'low', 'medium', 'high'] as const;

/** Input of `aggregate`: all columns have the batch length. */
export interface AggregateInput {
  /** sensor_readings.id of each row. */
  readonly id: Float64Array;
  /** Event time, epoch ms; rows with NaN are skipped. */
  readonly eventMs: Float64Array;
  readonly slot: Int32Array;
  readonly metrics: readonly Float64Array[];
  /** Anomaly score of each row (from `score`). */
  readonly score: Float64Array;
  /** 1 when the row counts as an anomaly. */
  readonly isAnomaly: Uint8Array;
}

/** Welford statistics of one metric in one window; non-finite values are excluded. */
export interface MetricPartial {
  /** Number of finite values. */
  n: number;
  mean: number;
  /** Sum of squared deviations from the mean (population variance = m2 / n). */
  m2: number;
  /** +Infinity when n = 0. */
  min: number;
  /** -Infinity when n = 0. */
  max: number;
}

/** Mergeable statistics of one (slot, tumbling window): a batch's share of a window. */
export interface WindowPartial {
  slot: number;
  /** floor(eventMs / windowMs) * windowMs. */
  windowStartMs: number;
  /** Rows in the window (with a valid event time). */
  count: number;
  firstId: number;
  lastId: number;
  anomalyCount: number;
  /** Largest score, 0 when none. */
  maxScore: number;
  /** Five entries, METRICS order. */
  metrics: MetricPartial[];
}

/** Input of `fuzz`. */
export interface FuzzInput {
  readonly latitude: Float64Array;
  readonly longitude: Float64Array;
  readonly slot: Int32Array;
  /** Two uniforms in [0, 1) per slot: `seeds[2s]` → radius, `seeds[2s+1]` → bearing (see `sensorSeeds`). */
  readonly seeds: Float64Array;
}

/** Per-row result of `fuzz`. */
export interface FuzzOutput {
  /** Fuzzed latitude, degrees; NaN when the input was invalid. */
  readonly latitude: Float64Array;
  /** Fuzzed longitude, degrees in [-180, 180]; NaN when the input was invalid. */
  readonly longitude: Float64Array;
  /** Great-circle distance between the true and the fuzzed point, metres. */
  readonly distanceM: Float64Array;
  /** 1 when fuzzed, 0 when the input was invalid (NaN, |lat| > 90, |lon| > 180). */
  readonly fuzzed: Uint8Array;
}

/** Mean Earth radius (IUGG), metres, used by fuzzing and its distances. */
export const EARTH_RADIUS_M = 6371008.8;

/** Default tumbling window: 5 minutes in ms. */
export const DEFAULT_WINDOW_MS = 300_000;

/** The four hot-path kernels. Same results from both implementations (fuzz within float ulps of the trig functions). */
export interface Kernels {
  readonly impl: KernelImpl;
  /** Per-row RULE mask. */
  validate(input: ValidateInput, limits: ValidationLimits): Uint32Array;
  /** Scores rows in order, updating `state` (grown to cover every slot). */
  score(input: ScoreInput, state: ScoreState, thresholds: ScoreThresholds): ScoreOutput;
  /** Tumbling-window partials per (slot, window), in order of first appearance. */
  aggregate(input: AggregateInput, windowMs: number): WindowPartial[];
  /** Stable per-sensor offset within `radiusM` metres. */
  fuzz(input: FuzzInput, radiusM: number): FuzzOutput;
}
