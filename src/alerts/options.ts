import type { RunOptions } from '../config.ts';
import { parsePriority } from './priority.ts';

/**
 * Alert options beyond the ones `edgelake run` already has (`--alert-webhook`, `--no-alerts`).
 * Until src/config.ts declares them (proposed flags `--alert-min-priority`, `--alert-rate-limit`,
 * `--alert-queue-limit`), they are read when present and defaulted otherwise.
 */
export interface AlertSettings {
  /** Lowest priority that raises an alert: `low`, `medium` or `high`. Default `medium` (see {@link ALERT_DEFAULTS}). */
  readonly alertMinPriority?: 'low' | 'medium' | 'high';
  /** Per sensor and priority, at most one alert per this many ms of event time; 0 turns rate limiting off. Default 10 000. */
  readonly alertRateLimit?: number;
  /** Webhook deliveries kept queued per URL before the oldest are dropped (they stay in the emergency bucket). Default 10 000. */
  readonly alertQueueLimit?: number;
}

/**
 * Defaults. `medium` is the minimum priority because `low` (|z| ≥ 3) fires on ~0.3 % of perfectly
 * normal Gaussian readings — noise, not news — while `medium` catches |z| ≥ 4.5, readings the
 * sensor itself flagged, and (as `high`) physically impossible values.
 */
export const ALERT_DEFAULTS = Object.freeze({ alertMinPriority: 'medium', alertRateLimit: 10_000, alertQueueLimit: 10_000 } as const);

/** Resolved alert configuration. */
export interface AlertConfig {
  /** Priority code 1..3 (low..high). */
  readonly minPriority: 1 | 2 | 3;
  readonly rateLimitMs: number;
  readonly queueLimit: number;
  readonly webhooks: readonly string[];
}

/** Reads the alert configuration from run options (RangeError names a bad value). */
export function alertConfig(options: RunOptions & AlertSettings): AlertConfig {
  const rate = options.alertRateLimit ?? ALERT_DEFAULTS.alertRateLimit;
  const limit = options.alertQueueLimit ?? ALERT_DEFAULTS.alertQueueLimit;
  if (!(rate >= 0)) throw new RangeError(`--alert-rate-limit must be ≥ 0 ms, got ${rate}`);
  if (!(Number.isInteger(limit) && limit >= 1)) throw new RangeError(`--alert-queue-limit must be a whole number ≥ 1, got ${limit}`);
  return {
    minPriority: parsePriority(options.alertMinPriority ?? ALERT_DEFAULTS.alertMinPriority),
    rateLimitMs: rate,
    queueLimit: limit,
    webhooks: options.alertWebhook,
  };
}
