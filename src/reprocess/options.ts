import { createHash } from 'node:crypto';
import { z } from 'zod';
import { RunOptionsSchema, blankToNaN, configErrorFrom } from '../config.ts';
import { ConfigError } from '../errors.ts';
import { PIPELINE_TYPES, parsePipelineType, type PipelineType } from '../state/pipeline-types.ts';

/**
 * Options of `edgelake reprocess` (contract §3), validated once at the edge of the program.
 * Field names are the flags in camelCase. Stage options (`--window`, `--lateness`, GPS fuzzing,
 * kernels) are `edgelake run`'s own, so a reprocessed record is made exactly as a live one.
 */

const HOUR_MS = 3_600_000;

/** `2025-08-15T06:00Z`, `2025-08-15T06:30:00+02:00` or `2025-08-15`: epoch ms, or NaN. Offsets honoured; a bare date is UTC midnight. */
export function parseTime(text: string): number {
  const t = text.trim();
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}(:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:\d{2}))?$/.test(t)) return NaN;
  const iso = /T\d{2}(Z|[+-]|$)/.test(t) ? t.replace(/T(\d{2})/, 'T$1:00') : t;
  const ms = Date.parse(iso.includes('T') ? iso : `${iso}T00:00Z`);
  // Date.parse rolls an impossible day over (2025-02-30 → 2025-03-02): refuse it instead.
  const [y, m, d] = t.slice(0, 10).split('-').map(Number);
  const day = new Date(Date.UTC(y, m - 1, d));
  if (day.getUTCFullYear() !== y || day.getUTCMonth() !== m - 1 || day.getUTCDate() !== d) return NaN;
  return ms;
}

const time = (flag: string) =>
  z.string().transform((v, ctx) => {
    const ms = parseTime(v);
    if (!Number.isFinite(ms)) {
      ctx.addIssue({ code: 'custom', message: `${flag}: ${JSON.stringify(v)} is not an ISO time with a zone (examples: 2025-08-15T06:00Z, 2025-08-15)` });
      return z.NEVER;
    }
    return ms;
  });

const index = (min: number) =>
  z.preprocess(blankToNaN, z.coerce.number({ message: 'must be a number' }).int('must be a whole number').min(min, `must be at least ${min}`).max(1_000_000, 'must be at most 1000000'));

const run = RunOptionsSchema.shape;

/** The reprocess options as given (before the partition and run defaults are applied). */
export const ReprocessOptionsSchema = z
  .object({
    from: z
      .string()
      .default('ingestion')
      .refine((v) => v === 'ingestion' || v === 'raw', 'must be ingestion (alias raw): only ingestion objects hold the rows as stored')
      .transform(() => 'ingestion' as const)
      .describe('Stage whose landed objects are read. Only ingestion (alias raw). Default ingestion'),
    type: z
      .string({ message: 'is required: the stage to reprocess through (validated, enriched or aggregated)' })
      .transform((v, ctx) => {
        let t: PipelineType;
        try {
          t = parsePipelineType(v);
        } catch {
          ctx.addIssue({ code: 'custom', message: `is not a pipeline type (valid: ${PIPELINE_TYPES.filter((p) => p !== 'ingestion').join(', ')})` });
          return z.NEVER;
        }
        if (t === 'ingestion') {
          ctx.addIssue({ code: 'custom', message: 'cannot be ingestion: that would copy the raw objects into their own bucket; choose validated, enriched or aggregated' });
          return z.NEVER;
        }
        return t;
      })
      .describe('Stage to push the rows through: validated, enriched or aggregated (aliases: schematized)'),
    lake: run.lake,
    s3Endpoint: run.s3Endpoint,
    region: run.region,
    bucketPrefix: run.bucketPrefix,
    createBuckets: run.createBuckets,
    node: z.string().min(1).max(128).optional().describe('Only this node id (every source generation of it). Default: every node'),
    since: time('--since').optional().describe('Only event hours from the one holding this time, e.g. 2025-08-15T00:00Z. Default: from the start'),
    until: time('--until').optional().describe('Only event hours that start before this time, e.g. 2025-08-16T00:00Z. Default: to the end'),
    partitionIndex: index(0).optional().describe('This execution\'s share, 0 … count-1. Default BACALHAU_PARTITION_INDEX, else 0'),
    partitionCount: index(0).optional().describe('Executions sharing the work. Default BACALHAU_PARTITION_COUNT, else 1 (0, as Bacalhau sets it for ops/daemon jobs, means 1)'),
    run: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'must be 1-32 lowercase letters, digits or hyphens, starting with a letter or digit (it becomes part of object keys)')
      .optional()
      .describe('Run name in the keys. Default: a hash of the parameters, so a rerun rewrites the same keys'),
    format: run.format,
    batchSize: run.batchSize,
    gzipLevel: run.gzipLevel,
    kernels: run.kernels,
    keepOriginalGps: run.keepOriginalGps,
    fuzzRadiusKm: run.fuzzRadiusKm,
    window: run.window,
    lateness: run.lateness,
    progress: run.progress,
  })
  .strict();

/** Validated reprocess options, with the partition and the run resolved. */
export type ReprocessOptions = Omit<z.output<typeof ReprocessOptionsSchema>, 'partitionIndex' | 'partitionCount' | 'run'> & {
  readonly partitionIndex: number;
  readonly partitionCount: number;
  readonly run: string;
  /** Where the partition numbers came from, for the log: flags, Bacalhau's variables or the defaults. */
  readonly partitionSource: 'flags' | 'BACALHAU_PARTITION_*' | 'default';
};

/**
 * Validates raw options (from the CLI) and resolves the partition (flags, else
 * `BACALHAU_PARTITION_INDEX`/`COUNT`, else 0 of 1) and the run name (`--run`, else
 * {@link defaultRunName}). Throws a ConfigError (exit 2) naming each bad flag or variable.
 */
export function parseReprocessOptions(input: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): ReprocessOptions {
  const r = ReprocessOptionsSchema.safeParse(input);
  if (!r.success) throw configErrorFrom(r.error, input);
  const o = r.data;
  if (o.lake && o.s3Endpoint) throw new ConfigError('BAD_OPTION', '--lake and --s3-endpoint are exclusive: choose a local lake folder or an S3 endpoint');
  if (o.since !== undefined && o.until !== undefined && !(o.until > o.since)) {
    throw new ConfigError('BAD_OPTION', `--until ${JSON.stringify(input.until)} must be after --since ${JSON.stringify(input.since)}`);
  }
  if (o.type === 'aggregated' && o.since !== undefined && HOUR_MS % o.window !== 0) {
    throw new ConfigError('BAD_OPTION', `--window ${JSON.stringify(input.window)} must divide one hour when --since is given, so that no window straddles the start of the range (e.g. 1m, 5m, 15m, 1h)`);
  }
  const { partitionIndex, partitionCount, partitionSource } = resolvePartition(o.partitionIndex, o.partitionCount, env);
  const { partitionIndex: _i, partitionCount: _c, run: _r, ...rest } = o;
  return { ...rest, partitionIndex, partitionCount, partitionSource, run: o.run ?? defaultRunName(o) };
}

/**
 * The partition of this execution. Flags win (both or neither); else Bacalhau's variables; else
 * 0 of 1. A count of 0 is what Bacalhau sets for `daemon`/`ops` jobs (their Count is forced to 0,
 * they run once per node): the work is then not split, each execution does all of it — which
 * for such a job is the only honest reading, since there is no partition index to share by.
 */
function resolvePartition(
  flagIndex: number | undefined,
  flagCount: number | undefined,
  env: NodeJS.ProcessEnv,
): { partitionIndex: number; partitionCount: number; partitionSource: ReprocessOptions['partitionSource'] } {
  if ((flagIndex === undefined) !== (flagCount === undefined)) {
    throw new ConfigError('BAD_OPTION', '--partition-index and --partition-count go together: give both, or neither (then BACALHAU_PARTITION_INDEX/COUNT are used)');
  }
  let index = flagIndex;
  let count = flagCount;
  let source: ReprocessOptions['partitionSource'] = 'flags';
  if (index === undefined) {
    const ei = env.BACALHAU_PARTITION_INDEX?.trim();
    const ec = env.BACALHAU_PARTITION_COUNT?.trim();
    if (!ei && !ec) return { partitionIndex: 0, partitionCount: 1, partitionSource: 'default' };
    const parse = (name: string, v: string | undefined) => {
      if (v === undefined || !/^\d{1,7}$/.test(v)) throw new ConfigError('BAD_ENV', `${name} ${JSON.stringify(v ?? null)} (environment) is not a whole number ≥ 0; Bacalhau sets both BACALHAU_PARTITION_INDEX and BACALHAU_PARTITION_COUNT`);
      return Number(v);
    };
    index = parse('BACALHAU_PARTITION_INDEX', ei);
    count = parse('BACALHAU_PARTITION_COUNT', ec);
    source = 'BACALHAU_PARTITION_*';
  }
  if (count === 0) count = 1;
  if (index! >= count!) {
    const what = source === 'flags' ? `--partition-index ${index} must be below --partition-count ${count}` : `BACALHAU_PARTITION_INDEX ${index} must be below BACALHAU_PARTITION_COUNT ${count}`;
    throw new ConfigError('BAD_OPTION', `${what} (partitions are numbered 0 … count-1)`);
  }
  return { partitionIndex: index!, partitionCount: count!, partitionSource: source };
}

/**
 * The default run name: 10 hex digits of SHA-256 over every parameter that shapes the output
 * (source, stage, node, time range, stage options) — not the partitioning, which does not change
 * the output, and not the edgelake version, so that a fixed release rewrites rather than
 * duplicates what an earlier one reprocessed. A resubmitted job or a retried partition therefore
 * rewrites the same keys. (BACALHAU_JOB_ID is not used: Bacalhau gives a resubmitted batch job a
 * new id, which would land everything a second time under new keys.)
 */
export function defaultRunName(o: Pick<z.output<typeof ReprocessOptionsSchema>, 'from' | 'type' | 'node' | 'since' | 'until' | 'format' | 'bucketPrefix' | 'region' | 'batchSize' | 'keepOriginalGps' | 'fuzzRadiusKm' | 'window' | 'lateness'>): string {
  const shaping = {
    from: o.from,
    type: o.type,
    node: o.node ?? null,
    since: o.since ?? null,
    until: o.until ?? null,
    format: o.format,
    bucketPrefix: o.bucketPrefix,
    region: o.region,
    ...(o.type === 'aggregated' ? { batchSize: o.batchSize, window: o.window, lateness: o.lateness } : {}),
    ...(o.type === 'enriched' ? { keepOriginalGps: o.keepOriginalGps, fuzzRadiusKm: o.fuzzRadiusKm } : {}),
  };
  return createHash('sha256').update(JSON.stringify(shaping)).digest('hex').slice(0, 10);
}
