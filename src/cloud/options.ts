import { z } from 'zod';
import { ALERT_DEFAULTS } from '../alerts/options.ts';
import { parseDuration } from '../config.ts';
import { DEFAULT_THRESHOLDS } from '../kernels/types.ts';

/**
 * The parameters of the measured cloud-only baseline: what a centralised pipeline does instead of
 * processing at the edge. Every node ships its raw rows on the central pipeline's cadence, and one
 * central process (standing in for Databricks with Auto Loader) picks the landed objects up on its
 * own trigger and detects anomalies with the same kernels and the same alert rules as the edge.
 * None of these is a constant of the comparison: each is printed with the results and shown on
 * the dashboard, and each can be changed.
 */

const duration = (flag: string, min: number, max: number) =>
  z.union([z.number(), z.string()]).transform((v, ctx) => {
    const ms = typeof v === 'number' ? v : parseDuration(v);
    if (!Number.isFinite(ms) || ms < min || ms > max) {
      ctx.addIssue({ code: 'custom', message: `${flag} ${JSON.stringify(v)} must be a duration from ${min / 1000} s to ${max / 1000} s (examples: 15s, 1m)` });
      return z.NEVER;
    }
    return ms;
  });

/** The cloud baseline's parameters, validated (durations in ms when given as numbers). */
export const CloudBaselineSchema = z
  .object({
    uploadIntervalMs: duration('--cloud-upload-interval', 1000, 600_000)
      .default(15_000)
      .describe('How long raw rows wait on the node before they are shipped: the upstream uploader sends a batch every 15 s. Default 15s'),
    triggerIntervalMs: duration('--cloud-trigger-interval', 1000, 600_000)
      .default(10_000)
      .describe('Trigger interval of the central stream (Auto Loader processingTime): how often it looks for new raw objects. Default 10s'),
    kernels: z.enum(['wasm', 'ts']).default('wasm').describe('Kernel implementation of the central detector, as at the edge. Default wasm'),
    minPriority: z.enum(['low', 'medium', 'high']).default(ALERT_DEFAULTS.alertMinPriority).describe('Lowest alert priority, as `run --alert-min-priority`. Default medium'),
    rateLimitMs: z.number().min(0).default(ALERT_DEFAULTS.alertRateLimit).describe('Per sensor and priority, at most one alert per this much event time, as `run --alert-rate-limit`. Default 10 s'),
  })
  .strict();

/** The cloud baseline's parameters (see {@link CloudBaselineSchema} for each one's meaning and default). */
export type CloudBaseline = z.output<typeof CloudBaselineSchema>;

/** The defaults: `CloudBaselineSchema.parse({})`. */
export const CLOUD_DEFAULTS: CloudBaseline = Object.freeze(CloudBaselineSchema.parse({}));

/** Validates baseline parameters (a RangeError naming the bad one). */
export function parseCloudBaseline(input: Record<string, unknown>): CloudBaseline {
  const r = CloudBaselineSchema.safeParse(input);
  if (!r.success) throw new RangeError(r.error.issues.map((i) => i.message).join('; '));
  return r.data;
}

/** One parameter as a person reads it. */
export interface BaselineParameter {
  readonly key: string;
  readonly label: string;
  readonly value: string;
}

/** Every parameter of the baseline, for the printed summary and the dashboard. */
export function describeCloudBaseline(b: CloudBaseline): BaselineParameter[] {
  const s = (ms: number) => (ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`);
  return [
    { key: 'upload_interval', label: 'raw upload interval (node → cloud)', value: s(b.uploadIntervalMs) },
    { key: 'trigger_interval', label: 'central trigger interval (Auto Loader)', value: s(b.triggerIntervalMs) },
    { key: 'detector', label: 'detection', value: `AlertDetector, ${b.kernels.toUpperCase()} kernels, EWMA z-score` },
    { key: 'thresholds', label: 'priority thresholds |z|', value: `low ${DEFAULT_THRESHOLDS.low}, medium ${DEFAULT_THRESHOLDS.medium}, high ${DEFAULT_THRESHOLDS.high}` },
    { key: 'min_priority', label: 'lowest alerting priority', value: b.minPriority },
    { key: 'rate_limit', label: 'rate limit per sensor and priority', value: b.rateLimitMs === 0 ? 'off' : s(b.rateLimitMs) },
  ];
}
