import type { ColumnarBatch } from '../batch.ts';
import { sensorSeeds, type Kernels } from '../kernels/index.ts';
import type { PipelineType } from '../state/pipeline-types.ts';
import { fragment, type JsonWriter } from '../encode/json-writer.ts';

/**
 * The one place that decides which coordinates leave the node (issue 11): the enriched stage's
 * records and every alert record take their `latitude`/`longitude` from here, so an alert can
 * never carry what its stage withholds.
 *
 * - `fuzz` (enriched): a fixed per-sensor offset within the radius (the WASM `fuzz` kernel over
 *   HMAC-SHA256(key, sensor_id) seeds), with a `_privacy` block saying so; rows without valid
 *   coordinates get nulls and `gps_fuzzed: false`, never a made-up point.
 * - `withhold` (alerts under ingestion, validated, aggregated): no coordinates at all.
 * - `--keep-original-gps` adds the true ones, explicitly named `original_latitude`/`original_longitude`.
 */

/** `_privacy.fuzzing_method`: a fixed per-sensor offset, uniform over the disc, seeded by HMAC-SHA256(key, sensor_id). */
export const FUZZING_METHOD = 'hmac-sha256-uniform-disc';

/** Sensors whose seeds are cached before the cache is started afresh (bounds memory on a node that sees endless ids). */
const SEED_CACHE_LIMIT = 100_000;
/** Slot seed id of rows without a sensor id: no real sensor id is a lone NUL. */
const NO_SENSOR = '\u0000';

/** How fuzzing is done: the kernels, the secret key (never written anywhere) and the radius. */
export interface GpsFuzzing {
  readonly kernels: Kernels;
  readonly key: string;
  /** Largest displacement, km (0, 100]. */
  readonly radiusKm: number;
}

/** Options of {@link CoordinatePolicy}. */
export interface CoordinatePolicyOptions {
  /** Fuzz (enriched) or withhold (null) the coordinates written as latitude/longitude. */
  readonly fuzzing: GpsFuzzing | null;
  /** Also write the true coordinates as original_latitude/original_longitude. Default false. */
  readonly keepOriginal?: boolean;
}

/** What the policy decided for the rows of one batch. */
export interface BatchCoordinates {
  /** Written as latitude/longitude, per row; NaN → null. */
  readonly gps: { readonly latitude: Float64Array; readonly longitude: Float64Array };
  /** True when original_latitude/original_longitude are written too (from the batch's own columns). */
  readonly originalGps: boolean;
  /** The `,"_privacy":{…}` member of a row, or null when the policy withholds (no block). */
  readonly privacy: ((row: number) => string) | null;
  /** The same member written as bytes (the stage's records). */
  readonly writePrivacy: ((w: JsonWriter, row: number) => void) | null;
  /** Rows whose coordinates were fuzzed. */
  readonly fuzzedRows: number;
  /** The `_privacy` block as columns (Parquet output), or null when the policy withholds: per row fuzzed (0/1) and distance (m, unrounded). */
  readonly privacyColumns: { readonly fuzzed: Uint8Array; readonly distanceM: Float64Array; readonly radiusKm: number; readonly method: string; readonly timestampMs: number } | null;
}

/** See the file comment. */
export class CoordinatePolicy {
  readonly #fuzzing: GpsFuzzing | null;
  readonly #keepOriginal: boolean;
  readonly #seeds: SeedCache | null;

  constructor(opts: CoordinatePolicyOptions) {
    if (opts.fuzzing) {
      if (!opts.fuzzing.key) throw new RangeError('CoordinatePolicy: the fuzzing key must not be empty');
      const r = opts.fuzzing.radiusKm;
      if (!(r > 0 && r <= 100)) throw new RangeError(`CoordinatePolicy: radiusKm must be in (0, 100], got ${r}`);
    }
    this.#fuzzing = opts.fuzzing;
    this.#keepOriginal = opts.keepOriginal ?? false;
    this.#seeds = opts.fuzzing ? new SeedCache(opts.fuzzing.key) : null;
  }

  /** The fuzzing key, for a worker thread that builds the same policy (never for anything leaving the process); null when withholding. */
  fuzzingKey(): string | null {
    return this.#fuzzing?.key ?? null;
  }

  /** What a worker thread of this process needs to build the same policy ({@link policyFromSpec}); never for anything leaving the process. */
  spec(): CoordinatePolicySpec {
    const f = this.#fuzzing;
    return { fuzzKey: f?.key ?? null, radiusKm: f?.radiusKm ?? 0, keepOriginalGps: this.#keepOriginal };
  }

  /** True when coordinates are fuzzed (enriched), false when withheld. */
  get fuzzes(): boolean {
    return this.#fuzzing !== null;
  }

  /** The columns a batch needs for this policy: the true coordinates only when they are fuzzed or kept. */
  get needsCoordinates(): boolean {
    return this.#fuzzing !== null || this.#keepOriginal;
  }

  /** Decides the coordinates of every row of `batch` (`nowMs`: `_privacy.fuzzing_timestamp`). */
  apply(batch: ColumnarBatch, nowMs: number): BatchCoordinates {
    const f = this.#fuzzing;
    if (!f) {
      const none = new Float64Array(batch.length).fill(NaN);
      return { gps: { latitude: none, longitude: none }, originalGps: this.#keepOriginal, privacy: null, writePrivacy: null, fuzzedRows: 0, privacyColumns: null };
    }
    const lat = batch.numeric.latitude;
    const lon = batch.numeric.longitude;
    if (!lat || !lon) throw new RangeError(`GPS fuzzing needs columns latitude and longitude, which were not read (read: ${batch.columns.join(', ')})`);
    const { slot, seeds } = this.#seeds!.forBatch(batch);
    const out = f.kernels.fuzz({ latitude: lat, longitude: lon, slot, seeds }, f.radiusKm * 1000);
    const now = JSON.stringify(new Date(nowMs).toISOString());
    const head = `,"_privacy":{"fuzzing_radius_km":${f.radiusKm},"fuzzing_method":"${FUZZING_METHOD}","fuzzing_timestamp":${now},`;
    const yes = head + '"gps_fuzzed":true,"fuzz_distance_m":';
    const no = head + '"gps_fuzzed":false,"fuzz_distance_m":null}';
    const { fuzzed, distanceM } = out;
    let fuzzedRows = 0;
    for (let r = 0; r < fuzzed.length; r++) fuzzedRows += fuzzed[r];
    const yesBytes = fragment(yes);
    const noBytes = fragment(no);
    return {
      gps: { latitude: out.latitude, longitude: out.longitude },
      originalGps: this.#keepOriginal,
      privacy: (r) => (fuzzed[r] === 1 ? yes + Math.round(distanceM[r] * 1000) / 1000 + '}' : no),
      writePrivacy: (w, r) => {
        if (fuzzed[r] !== 1) return w.raw(noBytes);
        w.raw(yesBytes);
        w.number(Math.round(distanceM[r] * 1000) / 1000);
        w.byte(125);
      },
      fuzzedRows,
      privacyColumns: { fuzzed, distanceM, radiusKm: f.radiusKm, method: FUZZING_METHOD, timestampMs: nowMs },
    };
  }
}

/** A {@link CoordinatePolicy} as plain data, to cross to a worker thread: fuzzing key (null: withhold), radius, originals kept. */
export interface CoordinatePolicySpec {
  readonly fuzzKey: string | null;
  readonly radiusKm: number;
  readonly keepOriginalGps: boolean;
}

/** The policy `spec` describes, fuzzing (if at all) with `kernels`. */
export function policyFromSpec(spec: CoordinatePolicySpec, kernels: Kernels): CoordinatePolicy {
  return new CoordinatePolicy({ fuzzing: spec.fuzzKey === null ? null : { kernels, key: spec.fuzzKey, radiusKm: spec.radiusKm }, keepOriginal: spec.keepOriginalGps });
}

/** The policy alerts follow under pipeline type `type`: the enriched stage's fuzzing, withheld elsewhere. */
export function alertPolicyFor(type: PipelineType, enriched: CoordinatePolicy, withheld: CoordinatePolicy): CoordinatePolicy {
  return type === 'enriched' ? enriched : withheld;
}

/**
 * Fuzzing seeds per sensor id, kept across batches: HMAC-SHA256 is computed once per sensor,
 * not once per batch. Changed only synchronously (the runner pipelines batches).
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
    if (!dict) throw new RangeError(`GPS fuzzing needs column "sensor_id", which was not read (read: ${batch.columns.join(', ')})`);
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
