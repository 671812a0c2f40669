import { storedValue, type ColumnarBatch, type StoredValue } from '../batch.ts';
import { DEFAULT_LIMITS, RULE, type Kernels, type ValidationLimits } from '../kernels/index.ts';
import { METRICS, READING_COLUMNS, type ColumnName } from '../source/schema.ts';

/**
 * The validation of a batch: the WASM `validate` kernel computes a rule mask per row over the
 * columns (ranges, missing values, timestamps, GPS, cross-field physics), and only the rows
 * with a bit set — or with a value of the wrong type — are turned into error records here.
 * Valid rows, nearly all of them, share one constant `_validation` text.
 */

/** One failed check, as written in `_validation.errors` (schema `ValidationError`). */
export interface ValidationIssue {
  /** Column that failed, e.g. `temperature`. */
  readonly field: string;
  /** Stable rule id: `required`, `type`, `format`, `range`, `not_future`, `min_time`, `gps_range`, `flag_domain`, … */
  readonly rule: string;
  /** The offending value as stored (a text in a REAL column stays text; a BLOB is `base64:…`; ±Infinity a string). */
  readonly value: string | number | boolean | null;
  readonly message: string;
}

/** Pass/fail counts of a batch, stored as `details.rejected` in the execution history. */
export interface RejectedSummary {
  readonly valid: number;
  readonly invalid: number;
  /** Failed checks by rule id (a row may fail several). */
  readonly by_rule: Record<string, number>;
  /** Failed checks by field. */
  readonly by_field: Record<string, number>;
}

/** The result of {@link validateBatch}. */
export interface BatchValidation {
  /** Rows with at least one failed check. */
  readonly invalidCount: number;
  /** The `_validation` member's value for a row, as JSON text. */
  json(row: number): string;
  /** The failed checks of a row (empty when valid). */
  issues(row: number): readonly ValidationIssue[];
  readonly summary: RejectedSummary;
}

/** `_validation` of a valid row. */
export const VALID_JSON = '{"valid":true,"errors":[]}';

const KIND = new Map<string, string>(READING_COLUMNS.map((c) => [c.name, c.kind]));
const UNITS = ['°C', '%', 'Pa', 'mm/s²', 'V'];
/** Columns whose wrong-type values the kernel already reports through a mask bit. */
const MASKED = new Set<ColumnName>(['timestamp', ...METRICS, 'latitude', 'longitude']);

/**
 * Validates a batch (it must hold every column the rules read: all of them, in practice).
 * `nowMs` is the reference for "in the future"; stages pass the batch's start time, which a
 * replay keeps, so a replayed batch gets the same verdicts.
 */
export function validateBatch(batch: ColumnarBatch, kernels: Kernels, nowMs: number, limits: ValidationLimits = DEFAULT_LIMITS): BatchValidation {
  const num = batch.numeric;
  const metrics = METRICS.map((m) => need(num[m], m, batch));
  const lat = need(num.latitude, 'latitude', batch);
  const lon = need(num.longitude, 'longitude', batch);
  const status = need(num.status_code, 'status_code', batch);
  const flag = need(num.anomaly_flag, 'anomaly_flag', batch);
  const mask = kernels.validate({ eventMs: batch.eventMs, metrics, latitude: lat, longitude: lon, statusCode: status, anomalyFlag: flag, nowMs }, limits);

  // Checks the kernel does not do, all sparse: wrong-type values, a missing sensor id, synced ∉ {0,1}.
  const extra = new Map<number, ValidationIssue[]>();
  const add = (r: number, issue: ValidationIssue) => {
    const list = extra.get(r);
    if (list) list.push(issue);
    else extra.set(r, [issue]);
  };
  for (const [col, rows] of batch.irregular) {
    if (MASKED.has(col)) continue;
    for (const [r, v] of rows) add(r, typeIssue(col, v));
  }
  const sensor = batch.text.sensor_id;
  const sensorOdd = batch.irregular.get('sensor_id');
  if (sensor) {
    for (let r = 0; r < batch.length; r++) {
      if (sensor.codes[r] < 0 && !sensorOdd?.has(r)) add(r, { field: 'sensor_id', rule: 'required', value: null, message: 'sensor_id is missing (NULL)' });
    }
  }
  const synced = num.synced;
  if (synced) {
    for (let r = 0; r < batch.length; r++) {
      const v = synced[r];
      if (v === v && v !== 0 && v !== 1) add(r, { field: 'synced', rule: 'flag_domain', value: scalar(v), message: `synced ${v} is neither 0 nor 1` });
    }
  }

  const errors = new Map<number, ValidationIssue[]>();
  const byRule: Record<string, number> = {};
  const byField: Record<string, number> = {};
  const ctx: RowContext = { batch, limits, nowMs, metrics, lat, lon, status, flag };
  for (let r = 0; r < batch.length; r++) {
    const bits = mask[r];
    const more = extra.get(r);
    if (bits === 0 && !more) continue;
    const list = bits === 0 ? [] : maskIssues(ctx, r, bits);
    if (more) list.push(...more);
    if (list.length === 0) continue;
    errors.set(r, list);
    for (const e of list) {
      byRule[e.rule] = (byRule[e.rule] ?? 0) + 1;
      byField[e.field] = (byField[e.field] ?? 0) + 1;
    }
  }
  const invalid = errors.size;
  return {
    invalidCount: invalid,
    json: (r) => {
      const list = errors.get(r);
      return list ? JSON.stringify({ valid: false, errors: list }) : VALID_JSON;
    },
    issues: (r) => errors.get(r) ?? [],
    summary: { valid: batch.length - invalid, invalid, by_rule: byRule, by_field: byField },
  };
}

interface RowContext {
  readonly batch: ColumnarBatch;
  readonly limits: ValidationLimits;
  readonly nowMs: number;
  readonly metrics: Float64Array[];
  readonly lat: Float64Array;
  readonly lon: Float64Array;
  readonly status: Float64Array;
  readonly flag: Float64Array;
}

/** The error records of the mask bits of one row, in bit order. */
function maskIssues(c: RowContext, r: number, bits: number): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  const { batch, limits } = c;
  for (let m = 0; m < METRICS.length; m++) {
    const name = METRICS[m];
    if (bits & RULE.MISSING[m]) out.push(missingOrType(batch, name, r));
    if (bits & RULE.OUT_OF_RANGE[m]) {
      const v = c.metrics[m][r];
      const [lo, hi] = limits.ranges[m];
      out.push({ field: name, rule: 'range', value: scalar(v), message: `${name} ${v} ${UNITS[m]} is outside [${lo}, ${hi}]` });
    }
  }
  if (bits & RULE.TS_MISSING) {
    const stored = storedValue(batch, 'timestamp', r);
    if (typeof stored === 'string') {
      out.push({ field: 'timestamp', rule: 'format', value: stored, message: 'timestamp is not an ISO-8601 time (e.g. 2025-08-15T00:02:46.167+00:00)' });
    } else out.push(missingOrType(batch, 'timestamp', r));
  }
  if (bits & RULE.TS_FUTURE) {
    const ahead = batch.eventMs[r] - c.nowMs;
    out.push({ field: 'timestamp', rule: 'not_future', value: scalar(storedValue(batch, 'timestamp', r)), message: `timestamp is ${ahead} ms in the future (allowed: ${limits.maxFutureMs} ms of clock skew)` });
  }
  if (bits & RULE.TS_BEFORE_MIN) {
    out.push({ field: 'timestamp', rule: 'min_time', value: scalar(storedValue(batch, 'timestamp', r)), message: `timestamp is before ${new Date(limits.minEventMs).toISOString()}` });
  }
  if (bits & RULE.GPS_INVALID) {
    for (const [name, col, max] of [['latitude', c.lat, 90], ['longitude', c.lon, 180]] as const) {
      const v = col[r];
      if (v !== v) out.push(missingOrType(batch, name, r));
      else if (!(v >= -max && v <= max)) out.push({ field: name, rule: 'gps_range', value: scalar(v), message: `${name} ${v} is outside [-${max}, ${max}]` });
    }
  }
  if (bits & RULE.VOLTAGE_COLLAPSE_WITH_VIBRATION) {
    const volt = c.metrics[4][r];
    const vib = c.metrics[3][r];
    out.push({
      field: 'voltage',
      rule: 'voltage_collapse_with_vibration',
      value: scalar(volt),
      message: `voltage ${volt} V is below ${limits.collapseVoltage} V while vibration ${vib} mm/s² is above ${limits.collapseVibration}`,
    });
  }
  if (bits & RULE.STATUS_FLAG_MISMATCH) {
    const s = c.status[r];
    out.push({ field: 'status_code', rule: 'status_flag_consistency', value: s, message: `status_code ${s} contradicts anomaly_flag ${c.flag[r]} (status 1 must go with flag 1)` });
  }
  if (bits & RULE.FLAG_INVALID) {
    for (const [name, col] of [['status_code', c.status], ['anomaly_flag', c.flag]] as const) {
      const v = col[r];
      if (v === v && v !== 0 && v !== 1) out.push({ field: name, rule: 'flag_domain', value: scalar(v), message: `${name} ${v} is neither 0 nor 1` });
    }
  }
  return out;
}

/** `required` for a NULL, `type` for a value of another type (kept as stored). */
function missingOrType(batch: ColumnarBatch, col: ColumnName, r: number): ValidationIssue {
  const odd = batch.irregular.get(col)?.get(r);
  return odd === undefined || odd === null ? { field: col, rule: 'required', value: null, message: `${col} is missing (NULL)` } : typeIssue(col, odd);
}

function typeIssue(col: ColumnName, v: StoredValue): ValidationIssue {
  // The message never repeats the value: it may be megabytes long.
  const what = typeof v === 'string' ? `a text of ${v.length} characters` : v instanceof Uint8Array ? `a BLOB of ${v.length} bytes` : `a ${typeof v}`;
  const expected = col === 'timestamp' ? 'an ISO-8601 text' : KIND.get(col) === 'text' ? 'a text' : 'a number';
  return { field: col, rule: 'type', value: scalar(v), message: `${col} holds ${what}, not ${expected}` };
}

/** A stored value as a JSON scalar: non-finite numbers as their names, BLOBs as `base64:…`. */
function scalar(v: StoredValue): string | number | null {
  if (v === null) return null;
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string') return v;
  return 'base64:' + Buffer.from(v).toString('base64');
}

function need(col: Float64Array | undefined, name: string, batch: ColumnarBatch): Float64Array {
  if (!col) throw new RangeError(`validation needs column "${name}", which was not read (read: ${batch.columns.join(', ')})`);
  return col;
}
