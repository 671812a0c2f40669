import { Rng } from './random.ts';

/**
 * Bad rows as a faulty field writer produces them, each breaking exactly one validation rule of
 * the validated stage (src/stages/validation.ts, rule ids of `_validation.errors[].rule`), so a
 * reject on the dashboard can be traced back to the fault that caused it:
 *
 * | kind | what is written | rule broken |
 * |---|---|---|
 * | `null_metric` | one metric NULL (a sensor that dropped a reading) | `required` |
 * | `text_metric` | text in a REAL column (`"n/a"`, `"ERR"`, `"23,5"`, `"--"`) | `type` |
 * | `out_of_range` | a metric outside its physical range (150 °C, 130 % humidity, −2 mm/s²…) | `range` |
 * | `voltage_collapse` | supply below 9 V while vibration is above 8 mm/s² (each value in range on its own) | `voltage_collapse_with_vibration` |
 * | `status_mismatch` | status_code 1 with anomaly_flag 0 | `status_flag_consistency` |
 * | `bad_timestamp` | an unparseable timestamp text (locale format, impossible hour, epoch digits) | `format` |
 * | `future_timestamp` | a timestamp two days ahead (a node with a wrong clock) | `not_future` |
 * | `ancient_timestamp` | 1969-12-31T23:59:59 (a clock read that failed: `time()` returned −1) | `min_time` |
 * | `gps_out_of_range` | latitude beyond ±90 or longitude beyond ±180 | `gps_range` |
 */
export const INVALID_KINDS = [
  { kind: 'null_metric', rule: 'required' },
  { kind: 'text_metric', rule: 'type' },
  { kind: 'out_of_range', rule: 'range' },
  { kind: 'voltage_collapse', rule: 'voltage_collapse_with_vibration' },
  { kind: 'status_mismatch', rule: 'status_flag_consistency' },
  { kind: 'bad_timestamp', rule: 'format' },
  { kind: 'future_timestamp', rule: 'not_future' },
  { kind: 'ancient_timestamp', rule: 'min_time' },
  { kind: 'gps_out_of_range', rule: 'gps_range' },
] as const;

/** A kind of bad row (see {@link INVALID_KINDS}). */
export type InvalidKind = (typeof INVALID_KINDS)[number]['kind'];

/** Metric values outside the validated stage's physical ranges, per metric in METRICS order (low, high). */
const OUT_OF_RANGE: readonly (readonly [number, number])[] = [
  [-60, 150],
  [-3, 130],
  [12_000, 250_000],
  [-2, 75],
  [-5, 31],
];
const TEXTS = ['n/a', 'ERR', '23,5', '--', 'NaN', 'overflow'] as const;
const BAD_TIMESTAMPS = ['15/08/2025 10:02:46', '2025-08-15 25:61:00', '1755252166', 'yesterday', '2025-02-30T10:00:00.000+00:00'] as const;
const DAY_MS = 86_400_000;
/** `time()` returned −1, its error value, and the writer formatted it: 1969-12-31T23:59:59Z. */
const ANCIENT_MS = -1000;

/** One row's values as the writer binds them; a corruption rewrites some of them in place. */
export interface BoundRow {
  /** Timestamp text, or null. */
  timestamp: string | null;
  /** The five metrics (a number, a text, or null). */
  metrics: (number | string | null)[];
  statusCode: number;
  anomalyFlag: number;
  latitude: number;
  longitude: number;
}

/**
 * Decides, row by row, whether a row is written bad and how. It draws from its own random stream
 * (seeded from the run's seed), so a run with `invalidRate` 0 writes exactly the rows it wrote
 * before this existed, and the same seed always corrupts the same rows the same way.
 */
export class InvalidRows {
  readonly #rate: number;
  readonly #rng: Rng;
  readonly #counts = new Map<InvalidKind, number>();

  /** `rate`: probability that a row is bad, in [0, 1]; `seed`: the stream's seed (32 bits used). */
  constructor(rate: number, seed: number) {
    this.#rate = rate;
    this.#rng = new Rng(seed);
  }

  /** Bad rows written so far, by kind (kinds never drawn are absent). */
  get counts(): Readonly<Partial<Record<InvalidKind, number>>> {
    return Object.fromEntries(this.#counts);
  }

  /** Bad rows written so far. */
  get total(): number {
    let n = 0;
    for (const v of this.#counts.values()) n += v;
    return n;
  }

  /** The kind this row gets, or null for a good row. Call once per row, in row order. */
  draw(): InvalidKind | null {
    if (this.#rate <= 0 || this.#rng.next() >= this.#rate) return null;
    const kind = INVALID_KINDS[this.#rng.int(INVALID_KINDS.length)].kind;
    this.#counts.set(kind, (this.#counts.get(kind) ?? 0) + 1);
    return kind;
  }

  /** Rewrites `row` as `kind` describes; `eventMs` is the row's true event time. */
  corrupt(kind: InvalidKind, row: BoundRow, eventMs: number, format: (ms: number) => string): void {
    const rng = this.#rng;
    const m = rng.int(5);
    switch (kind) {
      case 'null_metric':
        row.metrics[m] = null;
        break;
      case 'text_metric':
        row.metrics[m] = rng.pick(TEXTS);
        break;
      case 'out_of_range':
        row.metrics[m] = OUT_OF_RANGE[m][rng.int(2)];
        break;
      case 'voltage_collapse':
        row.metrics[3] = Math.round(rng.range(12, 20) * 1000) / 1000;
        row.metrics[4] = Math.round(rng.range(5, 8.5) * 1000) / 1000;
        break;
      case 'status_mismatch':
        row.statusCode = 1;
        row.anomalyFlag = 0;
        break;
      case 'bad_timestamp':
        row.timestamp = rng.pick(BAD_TIMESTAMPS);
        break;
      case 'future_timestamp':
        row.timestamp = format(eventMs + 2 * DAY_MS);
        break;
      case 'ancient_timestamp':
        row.timestamp = format(ANCIENT_MS);
        break;
      case 'gps_out_of_range':
        if (rng.next() < 0.5) row.latitude = (row.latitude >= 0 ? 1 : -1) * Math.round(rng.range(91, 120) * 1e4) / 1e4;
        else row.longitude = (row.longitude >= 0 ? 1 : -1) * Math.round(rng.range(181, 250) * 1e4) / 1e4;
        break;
    }
  }
}
