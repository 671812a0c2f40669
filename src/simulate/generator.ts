import type { Rng } from './random.ts';
import type { SimSensor } from './sensors.ts';

/**
 * Anomaly types the simulator injects, by code (code = index + 1; 0 = normal reading).
 * spike: one reading jumps 5–8 σ on one metric; trend: a metric drifts away over 5–12
 * readings up to 6 σ; pattern: a metric oscillates ±4 σ with a 4–6-reading period over 6–12
 * readings; noise: a metric gets 4 σ of extra jitter for 3–8 readings.
 */
export const ANOMALY_TYPES = ['spike', 'trend', 'pattern', 'noise'] as const;
export type AnomalyType = (typeof ANOMALY_TYPES)[number];

/**
 * The generic profile, per metric in METRICS order (temperature °C, humidity %, pressure Pa,
 * vibration mm/s², voltage V). A reading is mean + per-sensor offset + daily sine (peak at 15:00
 * local solar time) + mean-reverting random walk + white noise, rounded to `decimals` and kept
 * inside [min, max] (the contract's plausible range). Overall spreads come out near the
 * contract's ±2 °C, ±10 %, ±1000 Pa, ±0.5 mm/s², ±0.5 V.
 */
const PROFILE = [
  { mean: 25, offsetSd: 0.8, daily: 1.5, walkSd: 0.5, tauMs: 2 * 3600e3, noiseSd: 0.15, decimals: 2, min: -10, max: 45 },
  { mean: 50, offsetSd: 4, daily: -6, walkSd: 3, tauMs: 3 * 3600e3, noiseSd: 0.5, decimals: 1, min: 0, max: 100 },
  { mean: 101325, offsetSd: 300, daily: 60, walkSd: 600, tauMs: 12 * 3600e3, noiseSd: 8, decimals: 1, min: 95000, max: 105000 },
  { mean: 2.5, offsetSd: 0.15, daily: 0.2, walkSd: 0.15, tauMs: 1800e3, noiseSd: 0.3, decimals: 3, min: 0, max: 10 },
  { mean: 12, offsetSd: 0.15, daily: 0.2, walkSd: 0.2, tauMs: 6 * 3600e3, noiseSd: 0.05, decimals: 3, min: 10, max: 14 },
] as const;
const M = PROFILE.length;
/** Typical total spread of each metric, the unit of anomaly sizes. */
const SIGMA = PROFILE.map((p) => Math.sqrt(p.offsetSd ** 2 + p.daily ** 2 / 2 + p.walkSd ** 2 + p.noiseSd ** 2));
const SCALE = PROFILE.map((p) => 10 ** p.decimals);
/** Cumulative choice weights of ANOMALY_TYPES and each type's length range in readings. */
const TYPE_CUM = [0.4, 0.6, 0.8, 1];
const LENGTH = [
  [1, 1],
  [5, 12],
  [6, 12],
  [3, 8],
] as const;
const MEAN_LENGTH = LENGTH.reduce((s, [lo, hi], i) => s + ((lo + hi) / 2) * (TYPE_CUM[i] - (TYPE_CUM[i - 1] ?? 0)), 0);
const DAY_MS = 86_400_000;

/**
 * Produces the readings of a fixed sensor set, one call per row, without allocating:
 * `next()` writes the five metric values into `values` and returns the anomaly code.
 * Each sensor's state (random walk, running anomaly episode) lives in typed arrays.
 */
export class ReadingGenerator {
  /** The five metric values of the last `next()` call, METRICS order. */
  readonly values = new Float64Array(M);
  /** The generator's random stream; the writer draws timestamp jitter from it too. */
  readonly random: Rng;
  private readonly offset: Float64Array;
  private readonly walk: Float64Array;
  private readonly lonDays: Float64Array;
  private readonly walkKeep = new Float64Array(M);
  private readonly walkKick = new Float64Array(M);
  /** Probability that a normal reading starts an anomaly episode. */
  private readonly startP: number;
  private readonly epType: Uint8Array;
  private readonly epMetric: Uint8Array;
  private readonly epLen: Int32Array;
  private readonly epStep: Int32Array;
  private readonly epSign: Float64Array;
  private readonly epPeriod: Float64Array;

  /**
   * `intervalMs`: time between two readings of one sensor (drives the random walk).
   * `anomalyRate`: expected fraction of flagged rows, in [0, 1].
   */
  constructor(sensors: readonly SimSensor[], rng: Rng, intervalMs: number, anomalyRate: number) {
    const n = sensors.length;
    this.random = rng;
    this.offset = new Float64Array(n * M);
    this.walk = new Float64Array(n * M);
    this.lonDays = new Float64Array(n);
    for (let s = 0; s < n; s++) {
      this.lonDays[s] = sensors[s].city.lon / 360;
      for (let m = 0; m < M; m++) {
        this.offset[s * M + m] = PROFILE[m].offsetSd * rng.normal();
        this.walk[s * M + m] = PROFILE[m].walkSd * rng.normal();
      }
    }
    for (let m = 0; m < M; m++) {
      // Ornstein–Uhlenbeck step: keeps the walk's spread at walkSd whatever the interval.
      const keep = Math.exp(-intervalMs / PROFILE[m].tauMs);
      this.walkKeep[m] = keep;
      this.walkKick[m] = PROFILE[m].walkSd * Math.sqrt(1 - keep * keep);
    }
    // Episodes of mean length L started with probability q per normal reading flag a fraction
    // L / (L + (1 - q) / q) of rows; solved for q so that fraction equals anomalyRate.
    this.startP = anomalyRate >= 1 ? 1 : anomalyRate / (anomalyRate + MEAN_LENGTH * (1 - anomalyRate));
    this.epType = new Uint8Array(n);
    this.epMetric = new Uint8Array(n);
    this.epLen = new Int32Array(n);
    this.epStep = new Int32Array(n);
    this.epSign = new Float64Array(n);
    this.epPeriod = new Float64Array(n);
  }

  /** Computes the reading of sensor `s` at `eventMs` (epoch ms) into `values`; returns 0 or the anomaly code. */
  next(s: number, eventMs: number): number {
    const rng = this.random;
    const v = this.values;
    let day = eventMs / DAY_MS + this.lonDays[s];
    day -= Math.floor(day);
    const daily = Math.sin(2 * Math.PI * (day - 0.375));
    const base = s * M;
    for (let m = 0; m < M; m++) {
      const p = PROFILE[m];
      const w = this.walk[base + m] * this.walkKeep[m] + this.walkKick[m] * rng.normal();
      this.walk[base + m] = w;
      v[m] = p.mean + this.offset[base + m] + p.daily * daily + w + p.noiseSd * rng.normal();
    }
    const code = this.anomaly(s);
    for (let m = 0; m < M; m++) {
      const p = PROFILE[m];
      const x = Math.round(v[m] * SCALE[m]) / SCALE[m];
      v[m] = x < p.min ? p.min : x > p.max ? p.max : x;
    }
    return code;
  }

  /** Advances sensor `s`'s anomaly episode (starting one at random) and applies it to `values`. */
  private anomaly(s: number): number {
    const rng = this.random;
    if (this.epType[s] === 0) {
      if (this.startP === 0 || rng.next() >= this.startP) return 0;
      const u = rng.next();
      let t = 0;
      while (u >= TYPE_CUM[t]) t++;
      const [lo, hi] = LENGTH[t];
      this.epType[s] = t + 1;
      this.epMetric[s] = rng.int(M);
      this.epLen[s] = lo + rng.int(hi - lo + 1);
      this.epStep[s] = 0;
      this.epSign[s] = rng.next() < 0.5 ? -1 : 1;
      this.epPeriod[s] = 4 + rng.int(3);
    }
    const code = this.epType[s];
    const m = this.epMetric[s];
    const step = this.epStep[s];
    const sigma = SIGMA[m];
    if (code === 1) this.values[m] += this.epSign[s] * rng.range(5, 8) * sigma;
    else if (code === 2) this.values[m] += (this.epSign[s] * 6 * sigma * (step + 1)) / this.epLen[s];
    else if (code === 3) this.values[m] += 4 * sigma * Math.cos((2 * Math.PI * step) / this.epPeriod[s]);
    else this.values[m] += 4 * sigma * rng.normal();
    if (step + 1 >= this.epLen[s]) this.epType[s] = 0;
    else this.epStep[s] = step + 1;
    return code;
  }
}
