import type { ColumnarBatch } from '../batch.ts';
import { DEFAULT_LIMITS, sensorSeeds, type Kernels, type ValidationLimits } from '../kernels/index.ts';
import { readBacalhauContext } from '../meta/bacalhau.ts';
import type { NodeIdentity } from '../meta/identity.ts';
import { NodeSnapshotter } from '../meta/snapshot.ts';
import { READING_COLUMNS } from '../source/schema.ts';
import { writeRowObjects } from './rows.ts';
import { typedColumnsEncoder } from './typed.ts';
import type { BatchContext, Stage, StageOutput } from './types.ts';
import { validateBatch } from './validation.ts';

/** Options of {@link createEnrichedStage}. */
export interface EnrichedStageOptions {
  /** The kernels of the run (`await env.kernels()`), loaded once per stage. */
  readonly kernels: Kernels;
  /** HMAC key of the per-sensor GPS offsets (see src/meta/fuzz-key.ts). Never written anywhere. */
  readonly fuzzKey: string;
  /** Largest GPS displacement, km. Default 1. */
  readonly radiusKm?: number;
  /** Also write the true coordinates as `original_latitude`/`original_longitude`. Default false. */
  readonly keepOriginalGps?: boolean;
  /** `_lineage.source_file`: absolute path of the sensor database (or its configured name). */
  readonly sourceFile: string;
  /** The node identity file (location, capabilities, node type of the snapshot). Default none. */
  readonly identity?: NodeIdentity | null;
  /** Environment for `BACALHAU_*` and `NODE_*`. Default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
  /** Range, timestamp and cross-field limits. Default DEFAULT_LIMITS. */
  readonly limits?: ValidationLimits;
  /** Snapshot source (tests inject one with a short max age). Default: a NodeSnapshotter refreshed every 60 s. */
  readonly snapshotter?: NodeSnapshotter;
}

/** `_privacy.fuzzing_method`: a fixed per-sensor offset, uniform over the disc, seeded by HMAC-SHA256(key, sensor_id). */
export const FUZZING_METHOD = 'hmac-sha256-uniform-disc';

/** Sensors whose seeds are cached before the cache is started afresh (bounds memory on a node that sees endless ids). */
const SEED_CACHE_LIMIT = 100_000;
/** Slot seed id of rows without a sensor id: no real sensor id is a lone NUL. */
const NO_SENSOR = '\u0000';

/**
 * Stage 3, enriched: the validated record (typed columns and `_validation`), with latitude and
 * longitude replaced by a stable per-sensor offset within the fuzzing radius (the WASM `fuzz`
 * kernel, slot = the batch's sensor_id dictionary code), plus `_privacy`,
 * `_bacalhau_metadata` (job context and a node snapshot) and `_lineage`. A row whose
 * coordinates are missing or invalid gets `gps_fuzzed: false`, null coordinates and a
 * validation error, never a made-up point.
 */
export function createEnrichedStage(opts: EnrichedStageOptions): Stage {
  if (!opts.fuzzKey) throw new RangeError('createEnrichedStage: fuzzKey must not be empty');
  const radiusKm = opts.radiusKm ?? 1;
  if (!(radiusKm > 0 && radiusKm <= 100)) throw new RangeError(`createEnrichedStage: radiusKm must be in (0, 100], got ${radiusKm}`);
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const env = opts.env ?? process.env;
  const bacalhau = readBacalhauContext(env);
  const snapshotter = opts.snapshotter ?? new NodeSnapshotter({ identity: opts.identity, env });
  const seeds = new SeedCache(opts.fuzzKey);
  const sourceFile = JSON.stringify(opts.sourceFile);
  const jobPart = JSON.stringify(bacalhau).slice(1, -1);

  return {
    type: 'enriched',
    bucket: 'enriched',
    columns: READING_COLUMNS.map((c) => c.name),
    async process(batch: ColumnarBatch, ctx: BatchContext): Promise<StageOutput> {
      const t0 = performance.now();
      const v = validateBatch(batch, opts.kernels, ctx.startedMs, limits);
      const { slot, seeds: slotSeeds } = seeds.forBatch(batch);
      const fuzz = opts.kernels.fuzz({ latitude: batch.numeric.latitude!, longitude: batch.numeric.longitude!, slot, seeds: slotSeeds }, radiusKm * 1000);
      const columns = typedColumnsEncoder(batch, { gps: fuzz, originalGps: opts.keepOriginalGps });
      const now = JSON.stringify(new Date(ctx.nowMs).toISOString());
      const privacy = `,"_privacy":{"fuzzing_radius_km":${radiusKm},"fuzzing_method":"${FUZZING_METHOD}","fuzzing_timestamp":${now},`;
      const privacyFuzzed = privacy + '"gps_fuzzed":true,"fuzz_distance_m":';
      const privacyNot = privacy + '"gps_fuzzed":false,"fuzz_distance_m":null}';
      const lineageHead = `,"_lineage":{"source_file":${sourceFile},"source_row_id":`;
      const lineageTail = `,"processing_timestamp":${now},"pipeline_version":${JSON.stringify(ctx.version)}}`;
      const snapshot = snapshotter.json(ctx.nowMs);
      // The stage's own work on the batch: validation, seeds, fuzzing, snapshot. Encoding and
      // compression follow and are counted in pipeline_metrics.processing_time.
      const executionMs = Math.round((performance.now() - t0) * 1000) / 1000;
      const metadata = `,"_bacalhau_metadata":{${jobPart},"node_id":${JSON.stringify(ctx.nodeId)},"execution_time_ms":${executionMs},"node_snapshot":${snapshot}}`;
      const { fuzzed, distanceM } = fuzz;
      const ids = batch.id;
      const objects = await writeRowObjects(batch, ctx, 'enriched', 'enriched', (r, stamp) => {
        const priv = fuzzed[r] === 1 ? privacyFuzzed + Math.round(distanceM[r] * 1000) / 1000 + '}' : privacyNot;
        return columns(r) + ',"_validation":' + v.json(r) + priv + metadata + lineageHead + ids[r] + lineageTail + ',' + stamp + '}';
      });
      return { objects, recordsOut: batch.length, invalidCount: v.invalidCount, details: { rejected: v.summary } };
    },
  };
}

/**
 * Fuzzing seeds per sensor id, kept across batches: HMAC-SHA256 is computed once per sensor,
 * not once per batch. Changed only synchronously inside `process` (the runner pipelines batches).
 */
class SeedCache {
  readonly #key: string;
  readonly #bySensor = new Map<string, number[]>();

  constructor(key: string) {
    this.#key = key;
  }

  /** Slot per row (the sensor_id dictionary code; rows without one share the last slot) and the seeds per slot. */
  forBatch(batch: ColumnarBatch): { slot: Int32Array; seeds: Float64Array } {
    const dict = batch.text.sensor_id;
    if (!dict) throw new RangeError(`the enriched stage needs column "sensor_id", which was not read (read: ${batch.columns.join(', ')})`);
    const ids = [...dict.values, NO_SENSOR];
    let missing = ids.filter((id) => !this.#bySensor.has(id));
    if (missing.length) {
      if (this.#bySensor.size + missing.length > SEED_CACHE_LIMIT) {
        this.#bySensor.clear();
        missing = ids;
      }
      const fresh = sensorSeeds(this.#key, missing);
      missing.forEach((id, i) => this.#bySensor.set(id, [fresh[2 * i], fresh[2 * i + 1]]));
    }
    const seeds = new Float64Array(ids.length * 2);
    ids.forEach((id, i) => {
      const s = this.#bySensor.get(id)!;
      seeds[2 * i] = s[0];
      seeds[2 * i + 1] = s[1];
    });
    const none = dict.values.length;
    const slot = new Int32Array(batch.length);
    const codes = dict.codes;
    for (let r = 0; r < slot.length; r++) slot[r] = codes[r] < 0 ? none : codes[r];
    return { slot, seeds };
  }
}
