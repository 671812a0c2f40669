/**
 * The scorer's memory: per slot (sensor) and metric an EWMA baseline of mean and variance plus
 * a count of values seen, carried across batches and persisted between runs.
 */

/** f64 per slot: mean[6], var[6], count[6] (5 metrics padded to 6 so WASM can use f64x2 pairs). */
export const SLOT_STRIDE = 18;
/** Offsets of the three blocks inside a slot. */
export const MEAN_OFF = 0;
export const VAR_OFF = 6;
export const COUNT_OFF = 12;

/** Options of a new ScoreState. */
export interface ScoreStateOptions {
  /** EWMA smoothing factor in (0, 1]; default 0.05 (≈ the last 20 readings weigh most). */
  readonly alpha?: number;
  /** Values a slot/metric must have seen before its z-score counts; default 30. */
  readonly warmup?: number;
}

/** Persisted form (`JSON.stringify(state)`): the float data as base64 so NaN and bits survive. */
export interface ScoreStateJSON {
  readonly version: 1;
  readonly alpha: number;
  readonly warmup: number;
  readonly slots: number;
  /** Float64Array(slots * 18), little-endian, base64. */
  readonly data: string;
}

/** Defaults of ScoreStateOptions. */
export const DEFAULT_SCORE_STATE: Required<ScoreStateOptions> = Object.freeze({ alpha: 0.05, warmup: 30 });

/**
 * Per-slot, per-metric EWMA baseline. Grows (capacity doubling) as new slots appear; kernels
 * read and write `data` directly with the layout above.
 */
export class ScoreState {
  /** EWMA smoothing factor. */
  readonly alpha: number;
  /** Warm-up length in values. */
  readonly warmup: number;
  #slots = 0;
  #data: Float64Array;

  constructor(options: ScoreStateOptions = {}) {
    const alpha = options.alpha ?? DEFAULT_SCORE_STATE.alpha;
    const warmup = options.warmup ?? DEFAULT_SCORE_STATE.warmup;
    if (!(alpha > 0 && alpha <= 1)) throw new RangeError(`ScoreState alpha must be in (0, 1], got ${alpha}`);
    if (!(Number.isInteger(warmup) && warmup >= 0)) throw new RangeError(`ScoreState warmup must be an integer ≥ 0, got ${warmup}`);
    this.alpha = alpha;
    this.warmup = warmup;
    this.#data = new Float64Array(SLOT_STRIDE * 16);
  }

  /** Number of slots covered (max slot seen + 1). */
  get slots(): number {
    return this.#slots;
  }

  /** The raw state, `slots * SLOT_STRIDE` f64 (a view; valid until the next `ensure`). */
  get data(): Float64Array {
    return this.#data.subarray(0, this.#slots * SLOT_STRIDE);
  }

  /** Grows the state to cover `slots` slots (new slots start empty: count 0). */
  ensure(slots: number): void {
    if (slots <= this.#slots) return;
    if (slots * SLOT_STRIDE > this.#data.length) {
      let cap = this.#data.length;
      while (cap < slots * SLOT_STRIDE) cap *= 2;
      const grown = new Float64Array(cap);
      grown.set(this.#data.subarray(0, this.#slots * SLOT_STRIDE));
      this.#data = grown;
    }
    this.#slots = slots;
  }

  /** Baseline of one slot and metric (for tests and diagnostics). */
  baseline(slot: number, metric: number): { mean: number; variance: number; count: number } {
    if (slot >= this.#slots) return { mean: 0, variance: 0, count: 0 };
    const b = slot * SLOT_STRIDE;
    return { mean: this.#data[b + MEAN_OFF + metric], variance: this.#data[b + VAR_OFF + metric], count: this.#data[b + COUNT_OFF + metric] };
  }

  /** An independent copy. */
  clone(): ScoreState {
    return ScoreState.fromJSON(this.toJSON());
  }

  toJSON(): ScoreStateJSON {
    const d = this.data;
    const bytes = Buffer.from(d.buffer, d.byteOffset, d.byteLength);
    return { version: 1, alpha: this.alpha, warmup: this.warmup, slots: this.#slots, data: bytes.toString('base64') };
  }

  /** Restores a state written by `toJSON`; throws RangeError on a malformed value. */
  static fromJSON(json: ScoreStateJSON): ScoreState {
    if (json === null || typeof json !== 'object' || json.version !== 1) {
      throw new RangeError(`ScoreState JSON must have version 1, got ${JSON.stringify(json && (json as { version?: unknown }).version)}`);
    }
    const state = new ScoreState({ alpha: json.alpha, warmup: json.warmup });
    const bytes = Buffer.from(json.data, 'base64');
    if (bytes.length !== json.slots * SLOT_STRIDE * 8) {
      throw new RangeError(`ScoreState JSON data has ${bytes.length} bytes, expected ${json.slots * SLOT_STRIDE * 8} for ${json.slots} slots`);
    }
    state.ensure(json.slots);
    new Uint8Array(state.#data.buffer, 0, bytes.length).set(bytes);
    return state;
  }
}
