import { METRICS } from '../source/schema.ts';
import { PRIORITY_NAMES, REASON, type ScoreThresholds } from '../kernels/types.ts';

/** An alert priority as written in records. */
export type PriorityName = (typeof PRIORITY_NAMES)[number];

/**
 * Priority code of an anomaly score (0 none, 1 low, 2 medium, 3 high). Thresholds are
 * inclusive: a score exactly at `medium` is medium. NaN scores are `none`.
 */
export function priorityCode(score: number, t: ScoreThresholds): 0 | 1 | 2 | 3 {
  return score >= t.high ? 3 : score >= t.medium ? 2 : score >= t.low ? 1 : 0;
}

/** Priority name of an anomaly score, e.g. `priorityName(4.5, DEFAULT_THRESHOLDS)` → `'medium'`. */
export function priorityName(score: number, t: ScoreThresholds): PriorityName {
  return PRIORITY_NAMES[priorityCode(score, t)];
}

/** Parses a priority name (`low`, `medium`, `high`) into its code; RangeError names the bad value. */
export function parsePriority(name: string): 1 | 2 | 3 {
  const code = PRIORITY_NAMES.indexOf(name as PriorityName);
  if (code < 1) throw new RangeError(`alert priority must be low, medium or high, got ${JSON.stringify(name)}`);
  return code as 1 | 2 | 3;
}

/**
 * Reason bits (REASON) as stable strings, in bit order: `zscore:<metric>` (|z| ≥ low threshold),
 * `physical_range:<metric>` (outside the hard physical limits), `sensor_flag` (anomaly_flag = 1).
 */
export function reasonNames(bits: number): string[] {
  const out: string[] = [];
  for (let m = 0; m < METRICS.length; m++) if (bits & REASON.ZSCORE[m]) out.push(`zscore:${METRICS[m]}`);
  for (let m = 0; m < METRICS.length; m++) if (bits & REASON.PHYSICAL[m]) out.push(`physical_range:${METRICS[m]}`);
  if (bits & REASON.SENSOR_FLAG) out.push('sensor_flag');
  return out;
}
