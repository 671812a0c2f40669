import { existsSync, statSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from './errors.ts';
import { redactUrl } from './redact.ts';
import { parseListenAddress } from './ops/addr.ts';
import { STOP_GRACE_MS } from './sink/types.ts';
import { OUTPUT_FORMATS } from './sink/key.ts';
import { PIPELINE_TYPES, parsePipelineType } from './state/pipeline-types.ts';

/**
 * Every option of `edgelake run`, validated once at the edge of the program. Field names are
 * the flags in camelCase; messages name the flag (`--batch-size`), the bad value and the fix.
 */

/** Parses `250ms`, `30s`, `5m`, `1h`, `2d` or a plain number of seconds into milliseconds. */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  if (!m) return NaN;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 's') as 'ms'];
  return Number(m[1]) * unit;
}

const duration = (what: string, opts: { positive?: boolean } = {}) =>
  z.union([z.number(), z.string()]).transform((v, ctx) => {
    const ms = typeof v === 'number' ? v * 1000 : parseDuration(v);
    if (!Number.isFinite(ms) || ms < 0) {
      ctx.addIssue({ code: 'custom', message: `${what}: ${JSON.stringify(v)} is not a duration (examples: 250ms, 30s, 5m, 1h)` });
      return z.NEVER;
    }
    if (opts.positive && ms === 0) {
      ctx.addIssue({ code: 'custom', message: `${what}: must be longer than 0 (examples: 1m, 5m, 1h)` });
      return z.NEVER;
    }
    return ms;
  });

/** Turns an empty or blank flag value into NaN: `z.coerce.number` would read `--gzip-level ""` as 0. */
export const blankToNaN = (v: unknown): unknown => (typeof v === 'string' && v.trim() === '' ? NaN : v);

const int = (min: number, max: number) =>
  z.preprocess(
    blankToNaN,
    z.coerce.number({ message: 'must be a number' }).int('must be a whole number').min(min, `must be at least ${min}`).max(max, `must be at most ${max}`),
  );

const bucketPrefix = z
  .string()
  .regex(/^[a-z0-9][a-z0-9.-]{0,40}$/, 'must be lowercase letters, digits, dots or hyphens (S3 bucket naming), e.g. expanso')
  .refine((s) => !s.startsWith('s3://'), 'must not start with s3://');

const region = z.string().regex(/^[a-z]{2}(-[a-z0-9]+)+-\d+$|^[a-z0-9-]{2,32}$/, 'is not an AWS region name (example: us-west-2)');

const httpUrl = z.string().refine((s) => {
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}, 'must be an http:// or https:// URL');

/** `edgelake run` options. */
export const RunOptionsSchema = z
  .object({
    db: z.string().min(1).default('sensor_data.db').describe('Sensor database (SQLite, WAL). Default sensor_data.db'),
    stateDb: z.string().min(1).optional().describe('Separate state database; default: the sensor database itself'),
    once: z.boolean().default(false).describe('Drain every pending row, then exit 0'),
    lake: z.string().min(1).optional().describe('Local lake folder (the embedded default: ./lake when no S3 is configured)'),
    s3Endpoint: httpUrl.optional().describe('S3-compatible endpoint URL, e.g. http://127.0.0.1:4568'),
    region: region.default('us-west-2').describe('Region in bucket names and for S3. Default us-west-2 (or AWS_REGION)'),
    bucketPrefix: bucketPrefix.default('expanso').describe('Bucket name prefix. Default expanso'),
    createBuckets: z.boolean().default(false).describe('Create missing buckets instead of failing'),
    type: z
      .string()
      .optional()
      .transform((v, ctx) => {
        if (v === undefined) return undefined;
        try {
          return parsePipelineType(v);
        } catch (e) {
          ctx.addIssue({ code: 'custom', message: `is not a pipeline type (valid: ${PIPELINE_TYPES.join(', ')}; aliases raw, schematized)` });
          return z.NEVER;
        }
      })
      .describe('Override the active pipeline type for this run'),
    fromId: int(Number.MIN_SAFE_INTEGER + 1, Number.MAX_SAFE_INTEGER).optional().describe('Reprocess from this id (zero and negative ids too) with --type, on a separate checkpoint'),
    batchSize: int(1, 1_000_000).default(50_000).describe('Rows per batch. Default 50000'),
    batchTimeout: duration('--batch-timeout').default(1000).describe('Follow mode: upload a partial batch once its oldest row waited this long. Default 1s'),
    pollInterval: duration('--poll-interval').default(200).describe('Longest wait between polls when idle. Default 200ms'),
    gzipLevel: int(0, 9).default(1).describe('gzip level of objects. Default 1 (fast)'),
    format: z
      .enum(OUTPUT_FORMATS, { message: `must be one of ${OUTPUT_FORMATS.join(', ')} (gzip JSON Lines or Parquet)` })
      .default('jsonl')
      .describe('Object format of every dataset: jsonl (gzip JSON Lines) or parquet (zstd, same keys with .parquet). Default jsonl'),
    nodeIdentity: z.string().min(1).optional().describe('Node identity JSON file: {node_id, location{...}, capabilities[], node_type}'),
    nodeId: z.string().min(1).max(128).optional().describe('Node id (else NODE_ID, the identity file, the id recorded in the state, the host name)'),
    rekeyNode: z.boolean().default(false).describe('Write new batches under the node id configured now, replacing the one recorded in the state'),
    waitLock: duration('--wait-lock').default(0).describe('Wait this long for another run holding the same state to finish. Default 0: exit 2 at once'),
    alertWebhook: z.array(httpUrl).default([]).describe('POST alerts to this URL (repeatable)'),
    alertMinPriority: z.enum(['low', 'medium', 'high']).default('medium').describe('Lowest priority that raises an alert. Default medium'),
    alertRateLimit: duration('--alert-rate-limit').default(10_000).describe('Per sensor and priority, at most one alert per this much event time; 0 = off. Default 10s'),
    alertQueueLimit: int(1, 10_000_000).default(10_000).describe('Undelivered webhook alerts kept per URL (oldest dropped; they stay in the emergency bucket). Default 10000'),
    alerts: z.boolean().default(true).describe('Detect and route alerts beside the active stage (--no-alerts turns off)'),
    kernels: z.enum(['wasm', 'ts']).default('wasm').describe('Kernel implementation. Default wasm'),
    readThreads: int(0, 64)
      .optional()
      .describe('Worker threads (0 = everything on the main thread). Default: 2, at most the CPU count; they run whole batches of the row stages and read large batches of aggregated, and a --once run with a backlog under 8192 ids does without them'),
    keepOriginalGps: z.boolean().default(false).describe('Keep true coordinates as original_latitude/original_longitude'),
    fuzzKeyFile: z.string().min(1).optional().describe('File holding the GPS fuzzing key (a mounted secret); else EDGELAKE_FUZZ_KEY(_FILE), else a key generated into the private file'),
    privateDb: z.string().min(1).optional().describe("edgelake's private file (fuzzing key, alert outbox); default <state db>.private"),
    fuzzRadiusKm: z.coerce.number().positive().max(100).default(1).describe('GPS fuzzing radius. Default 1 km'),
    window: duration('--window', { positive: true }).default(300_000).describe('Aggregation window. Default 5m'),
    lateness: duration('--lateness').default(60_000).describe('Allowed lateness before a window closes. Default 1m'),
    flushWindows: z.boolean().default(true).describe('With --once, emit still-open windows at the end (--no-flush-windows keeps them open)'),
    progress: z.boolean().default(true).describe('Show a status line (TTY: redrawn; otherwise a line every 10 s while working, every 60 s when idle)'),
    metricsAddr: z
      .string()
      .transform((v, ctx) => {
        const a = parseListenAddress(v);
        if (typeof a === 'string') {
          ctx.addIssue({ code: 'custom', message: a });
          return z.NEVER;
        }
        return a;
      })
      .optional()
      .describe('Serve Prometheus metrics at /metrics and a health check at /healthz on HOST:PORT (a bare port: 127.0.0.1). Default: off. Example 127.0.0.1:9464'),
    stopGrace: duration('--stop-grace')
      .refine((ms) => ms <= 600_000, 'must be at most 10m')
      .default(STOP_GRACE_MS)
      .describe('After SIGINT/SIGTERM, how long the batch in flight and alert deliveries may take before they are abandoned (left pending / queued for the next run). Default 5s'),
  })
  .strict();

export type RunOptions = z.output<typeof RunOptionsSchema>;

/** Flags whose values may hold secrets (a webhook's path or query): never echoed as given. */
const SECRET_VALUED = new Set(['alertWebhook']);

/** Turns a zod failure into a ConfigError whose message names each bad flag and value. */
export function configErrorFrom(error: z.ZodError, input: Record<string, unknown>): ConfigError {
  const lines = error.issues.map((issue) => {
    const key = String(issue.path[0] ?? '');
    const flag = key ? '--' + key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase()) : 'options';
    // A receiver's URL is named only by scheme, host, port and a hash (src/redact.ts), even when it is malformed.
    const raw = input[key];
    const hide = (v: unknown) => (typeof v === 'string' ? redactUrl(v) : v);
    const shown = SECRET_VALUED.has(key) ? (Array.isArray(raw) ? raw.map(hide) : hide(raw)) : raw;
    const value = key in input ? ` ${JSON.stringify(shown)}` : '';
    if (issue.code === 'unrecognized_keys') return `unknown option(s): ${issue.keys.map((k) => '--' + k).join(', ')}`;
    return `${flag}${value} ${issue.message}`;
  });
  return new ConfigError('BAD_OPTION', lines.join('; '));
}

/** Validates raw run options (from the CLI or a caller) into {@link RunOptions}. */
export function parseRunOptions(input: Record<string, unknown>): RunOptions {
  const r = RunOptionsSchema.safeParse(input);
  if (!r.success) throw configErrorFrom(r.error, input);
  const o = r.data;
  if (o.lake && o.s3Endpoint) throw new ConfigError('BAD_OPTION', '--lake and --s3-endpoint are exclusive: choose a local lake folder or an S3 endpoint');
  if (o.fromId !== undefined && !o.type) throw new ConfigError('BAD_OPTION', '--from-id needs --type: reprocessing names the stage explicitly');
  if (o.fromId !== undefined && !o.once) throw new ConfigError('BAD_OPTION', '--from-id needs --once: reprocessing history is a batch job');
  // The key file is read only when a stage fuzzes; a wrong path is still a mistake to name at once.
  if (o.fuzzKeyFile !== undefined && !(existsSync(o.fuzzKeyFile) && statSync(o.fuzzKeyFile).isFile())) {
    throw new ConfigError('BAD_OPTION', `--fuzz-key-file ${JSON.stringify(o.fuzzKeyFile)} is not a readable file (it must hold the GPS fuzzing key)`);
  }
  return o;
}
