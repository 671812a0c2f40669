/**
 * Seeded synthetic kernel inputs for benchmarks and the kernel tests (no part of the product): the generic profile of CONTRACT §1
 * (temperature 25±2 °C, humidity 50±10 %, pressure 101325±1000 Pa, vibration 2.5±0.5 mm/s²,
 * voltage 12±0.5 V), sensors reporting round-robin at a fixed interval, fixed positions.
 */
import type { AggregateInput, FuzzInput, ScoreInput, ValidateInput } from '../src/kernels/types.ts';
import { DEFAULT_LIMITS } from '../src/kernels/types.ts';

/** A small, fast, seeded PRNG (mulberry32): uniforms in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Options of `syntheticBatch`. */
export interface SyntheticOptions {
  /** Rows. */
  readonly rows: number;
  /** Sensors (slots 0..sensors-1); default 1000. */
  readonly sensors?: number;
  /** PRNG seed; default 42. */
  readonly seed?: number;
  /** First event time, epoch ms; default 2025-08-15T00:00:00Z. */
  readonly startMs?: number;
  /** Interval between a sensor's readings, ms; default 1000. */
  readonly intervalMs?: number;
  /** Share of rows with the sensor's anomaly flag and a spiked metric; default 0.045. */
  readonly anomalyRate?: number;
  /** Share of metric values set to NaN (NULL); default 0.001. */
  readonly nullRate?: number;
}

/** Every column the kernels read, for one synthetic batch. */
export interface SyntheticBatch {
  readonly rows: number;
  readonly sensors: number;
  readonly id: Float64Array;
  readonly eventMs: Float64Array;
  readonly slot: Int32Array;
  readonly metrics: Float64Array[];
  readonly latitude: Float64Array;
  readonly longitude: Float64Array;
  readonly statusCode: Float64Array;
  readonly anomalyFlag: Float64Array;
}

const MEAN = [25, 50, 101325, 2.5, 12];
const SD = [2, 10, 1000, 0.5, 0.5];

/** A seeded batch of the generic profile (sum of 4 uniforms as a cheap bell curve). */
export function syntheticBatch(options: SyntheticOptions): SyntheticBatch {
  const { rows, sensors = 1000, seed = 42, startMs = Date.UTC(2025, 7, 15), intervalMs = 1000, anomalyRate = 0.045, nullRate = 0.001 } = options;
  const r = prng(seed);
  const id = new Float64Array(rows);
  const eventMs = new Float64Array(rows);
  const slot = new Int32Array(rows);
  const metrics = MEAN.map(() => new Float64Array(rows));
  const latitude = new Float64Array(rows);
  const longitude = new Float64Array(rows);
  const statusCode = new Float64Array(rows);
  const anomalyFlag = new Float64Array(rows);
  const home = new Float64Array(2 * sensors);
  for (let s = 0; s < sensors; s++) {
    home[2 * s] = -60 + 120 * r();
    home[2 * s + 1] = -180 + 360 * r();
  }
  for (let i = 0; i < rows; i++) {
    const s = i % sensors;
    id[i] = i + 1;
    slot[i] = s;
    // Jitter of ±200 ms: timestamps are not ordered by id (CONTRACT §1).
    eventMs[i] = startMs + Math.floor(i / sensors) * intervalMs + Math.floor(400 * r()) - 200;
    for (let m = 0; m < 5; m++) {
      metrics[m][i] = r() < nullRate ? NaN : MEAN[m] + SD[m] * 1.732 * (r() + r() + r() + r() - 2);
    }
    latitude[i] = home[2 * s];
    longitude[i] = home[2 * s + 1];
    if (r() < anomalyRate) {
      statusCode[i] = 1;
      anomalyFlag[i] = 1;
      const m = Math.floor(5 * r());
      metrics[m][i] = MEAN[m] + SD[m] * (8 + 4 * r());
    }
  }
  return { rows, sensors, id, eventMs, slot, metrics, latitude, longitude, statusCode, anomalyFlag };
}

/** The batch as validate input (now = one hour after its first event). */
export function validateInputOf(b: SyntheticBatch): ValidateInput {
  return { eventMs: b.eventMs, metrics: b.metrics, latitude: b.latitude, longitude: b.longitude, statusCode: b.statusCode, anomalyFlag: b.anomalyFlag, nowMs: b.eventMs[0] + 3_600_000 };
}

/** The batch as score input with the default physical limits. */
export function scoreInputOf(b: SyntheticBatch): ScoreInput {
  return { slot: b.slot, metrics: b.metrics, anomalyFlag: b.anomalyFlag, physical: DEFAULT_LIMITS.ranges };
}

/** The batch as aggregate input; scores and anomalies derived from the flag. */
export function aggregateInputOf(b: SyntheticBatch): AggregateInput {
  const score = new Float64Array(b.rows);
  const isAnomaly = new Uint8Array(b.rows);
  for (let i = 0; i < b.rows; i++) {
    score[i] = b.anomalyFlag[i] * 4.5 + (i % 7) / 7;
    isAnomaly[i] = b.anomalyFlag[i] === 1 ? 1 : 0;
  }
  return { id: b.id, eventMs: b.eventMs, slot: b.slot, metrics: b.metrics, score, isAnomaly };
}

/** The batch as fuzz input with seeds from the PRNG. */
export function fuzzInputOf(b: SyntheticBatch, seed = 7): FuzzInput {
  const r = prng(seed);
  const seeds = new Float64Array(2 * b.sensors);
  for (let k = 0; k < seeds.length; k++) seeds[k] = r();
  return { latitude: b.latitude, longitude: b.longitude, slot: b.slot, seeds };
}
