import type { ColumnarBatch } from '../batch.ts';
import { DEFAULT_LIMITS, DEFAULT_THRESHOLDS, PRIORITY_NAMES, ScoreState, type Kernels, type ScoreStateJSON, type ScoreThresholds } from '../kernels/types.ts';
import { METRICS, type ColumnName } from '../source/schema.ts';
import { reasonNames } from './priority.ts';
import type { Detection } from './record.ts';

/** Columns the detector needs: only what scoring reads. */
export const DETECTOR_COLUMNS: readonly ColumnName[] = ['id', 'timestamp', 'sensor_id', ...METRICS, 'anomaly_flag'];

/** Options of {@link AlertDetector}. */
export interface DetectorOptions {
  readonly kernels: Kernels;
  /** Lowest priority code that alerts (1 low, 2 medium, 3 high). */
  readonly minPriority: 1 | 2 | 3;
  /** Per sensor and priority, at most one alert per this many ms of event time (0: off). */
  readonly rateLimitMs: number;
  /** Default DEFAULT_THRESHOLDS. */
  readonly thresholds?: ScoreThresholds;
}

interface DetectorJSON {
  v: 1;
  sensors: (string | null)[];
  score: ScoreStateJSON;
  /** Per slot: event time of the last alert at priority low, medium, high, then of the last row (null: none). */
  last: (number | null)[];
  suppressed: number;
}

/**
 * Scores rows in id order (the kernels' EWMA scorer, its own baseline, independent of the active
 * stage) and picks the alerts: priority ≥ the minimum, at most one per sensor and priority per
 * `rateLimitMs` of *event* time (deterministic, so a replayed poll picks the same alerts; a row
 * without event time counts at its sensor's latest event time). Suppressed alerts are counted.
 */
export class AlertDetector {
  readonly #k: Kernels;
  readonly #min: number;
  readonly #rate: number;
  readonly #t: ScoreThresholds;
  #score = new ScoreState();
  #sensors: (string | null)[] = [];
  #slotOf = new Map<string | null, number>();
  /** 4 per slot: last alert event ms at priority 1..3, last row event ms. */
  #last: number[] = [];
  #suppressed = 0;

  constructor(opts: DetectorOptions) {
    this.#k = opts.kernels;
    this.#min = opts.minPriority;
    this.#rate = opts.rateLimitMs;
    this.#t = opts.thresholds ?? DEFAULT_THRESHOLDS;
  }

  /** Alerts suppressed by the rate limit so far (persisted with the state). */
  get suppressed(): number {
    return this.#suppressed;
  }

  /** Scores a batch and returns its alerts in id order. */
  detect(batch: ColumnarBatch): Detection[] {
    const n = batch.length;
    const slot = new Int32Array(n);
    const col = batch.text.sensor_id!;
    const bySlot = col.values.map((v) => this.#slot(v));
    for (let i = 0; i < n; i++) slot[i] = col.codes[i] >= 0 ? bySlot[col.codes[i]] : this.#slot(null);
    const metrics = METRICS.map((m) => batch.numeric[m]!);
    const r = this.#k.score({ slot, metrics, anomalyFlag: batch.numeric.anomaly_flag!, physical: DEFAULT_LIMITS.ranges }, this.#score, this.#t);
    const out: Detection[] = [];
    const last = this.#last;
    for (let i = 0; i < n; i++) {
      const b = slot[i] * 4;
      let ev = batch.eventMs[i];
      if (ev === ev) last[b + 3] = ev;
      const p = r.priority[i];
      if (p < this.#min) continue;
      if (this.#rate > 0) {
        const t = ev === ev ? ev : last[b + 3];
        if (t - last[b + p - 1] < this.#rate) {
          this.#suppressed++;
          continue;
        }
        if (t === t) last[b + p - 1] = t;
      }
      ev = batch.eventMs[i];
      out.push({ id: batch.id[i], eventMs: ev, score: r.score[i], priority: PRIORITY_NAMES[p] as Detection['priority'], reasons: reasonNames(r.reasons[i]) });
    }
    return out;
  }

  #slot(s: string | null): number {
    let v = this.#slotOf.get(s);
    if (v === undefined) {
      v = this.#sensors.length;
      this.#sensors.push(s);
      this.#slotOf.set(s, v);
      this.#last.push(-Infinity, -Infinity, -Infinity, NaN);
    }
    return v;
  }

  toJSON(): DetectorJSON {
    return {
      v: 1,
      sensors: this.#sensors,
      score: this.#score.toJSON(),
      last: this.#last.map((x) => (Number.isFinite(x) ? x : null)),
      suppressed: this.#suppressed,
    };
  }

  /** Restores a state written by `toJSON` (null: start empty). */
  restore(json: string | null): void {
    const s = json ? (JSON.parse(json) as DetectorJSON) : null;
    if (s && s.v !== 1) throw new RangeError(`alert detector state has unknown version ${JSON.stringify(s.v)}`);
    this.#sensors = s ? s.sensors.slice() : [];
    this.#slotOf = new Map(this.#sensors.map((id, i) => [id, i]));
    this.#score = s ? ScoreState.fromJSON(s.score) : new ScoreState();
    this.#last = s ? s.last.map((x, i) => (x === null ? (i % 4 === 3 ? NaN : -Infinity) : x)) : [];
    this.#suppressed = s ? s.suppressed : 0;
  }
}
