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

  /**
   * Scores the rows of a batch from index `from` on (rows before it were scored already) and
   * returns their alerts in id order, each with its row index in `batch`.
   */
  detect(batch: ColumnarBatch, from = 0): Detection[] {
    const n = batch.length - from;
    if (n <= 0) return [];
    const slot = new Int32Array(n);
    const col = batch.text.sensor_id;
    if (!col) throw new RangeError(`the alert detector needs column "sensor_id", which was not read (read: ${batch.columns.join(', ')})`);
    const bySlot = col.values.map((v) => this.#slot(v));
    const codes = col.codes;
    for (let i = 0; i < n; i++) slot[i] = codes[from + i] >= 0 ? bySlot[codes[from + i]] : this.#slot(null);
    const metrics = METRICS.map((m) => batch.numeric[m]!.subarray(from));
    const eventMs = batch.eventMs.subarray(from);
    const r = this.#k.score({ slot, metrics, anomalyFlag: batch.numeric.anomaly_flag!.subarray(from), physical: DEFAULT_LIMITS.ranges }, this.#score, this.#t);
    const out: Detection[] = [];
    const last = this.#last;
    for (let i = 0; i < n; i++) {
      const b = slot[i] * 4;
      let ev = eventMs[i];
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
      ev = eventMs[i];
      out.push({ id: batch.id[from + i], row: from + i, eventMs: ev, score: r.score[i], priority: PRIORITY_NAMES[p] as Detection['priority'], reasons: reasonNames(r.reasons[i]) });
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
