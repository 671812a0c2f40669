import { emptyPartial, mergePartials, type WindowPartial } from '../kernels/types.ts';

/**
 * The open-window store of the aggregated stage: event-time tumbling windows per sensor slot,
 * closed by a global watermark, plus a bounded memory of emitted windows so that late rows
 * become correction records instead of being dropped. Serialises to compact JSON (arrays of
 * numbers; doubles round-trip exactly) so the runner can store it with the checkpoint.
 */

/** A window leaving the store: its statistics and how it relates to earlier emissions. */
export interface ClosedWindow {
  readonly partial: WindowPartial;
  /** True when this restates (or, past the retention horizon, adds to) an already emitted window. */
  readonly correction: boolean;
  /** Rows that arrived after the window was first emitted (0 for a first emission). */
  readonly lateRows: number;
}

/** Options of {@link WindowStore}. */
export interface WindowStoreOptions {
  /** Window length, ms (`--window`, default 5 min). */
  readonly windowMs: number;
  /** Allowed lateness, ms (`--lateness`, default 1 min): a window closes when its end ≤ newest event time − lateness. */
  readonly latenessMs: number;
  /** How long (event time, ms past closing) an emitted window's statistics are kept for full restatements. Default {@link DEFAULT_RETAIN_MS}. */
  readonly retainMs?: number;
}

/** Default retention of emitted windows for corrections: 1 hour of event time past closing. */
export const DEFAULT_RETAIN_MS = 3_600_000;

/** Persisted form, version 1. Partials are flat number arrays (see `pack`). */
interface StoreJSON {
  v: 1;
  /** Newest event time seen, epoch ms (null: none yet). */
  wm: number | null;
  /** Windows with end ≤ this are closed (emitted), epoch ms (null: none yet). */
  closed: number | null;
  open: number[][];
  /** Emitted windows kept for restatement; last element of each array = late rows so far. */
  kept: number[][];
}

const key = (slot: number, startMs: number) => `${slot}:${startMs}`;

/** Open and recently emitted windows; see the file comment. */
export class WindowStore {
  readonly windowMs: number;
  readonly latenessMs: number;
  readonly retainMs: number;
  #watermark = -Infinity;
  #closedBefore = -Infinity;
  #open = new Map<string, WindowPartial>();
  #kept = new Map<string, { partial: WindowPartial; late: number }>();
  /**
   * The JSON text of each kept window, made once: kept windows change only on a correction, and
   * re-printing ~1,200 of them (40k doubles) on every batch was most of an aggregated run's
   * state cost (issue 12: persist window state incrementally). Entries go with their window.
   */
  #keptText = new Map<string, string>();

  constructor(opts: WindowStoreOptions) {
    if (!(opts.windowMs > 0)) throw new RangeError(`window must be > 0 ms, got ${opts.windowMs}`);
    if (!(opts.latenessMs >= 0)) throw new RangeError(`lateness must be ≥ 0 ms, got ${opts.latenessMs}`);
    this.windowMs = opts.windowMs;
    this.latenessMs = opts.latenessMs;
    this.retainMs = opts.retainMs ?? DEFAULT_RETAIN_MS;
  }

  /** Windows currently open. */
  get openCount(): number {
    return this.#open.size;
  }

  /** Newest event time seen, epoch ms (-Infinity before any row). */
  get watermark(): number {
    return this.#watermark;
  }

  /**
   * Adds one batch: its partials (from `Kernels.aggregate`) and its newest event time. Returns
   * the corrections for windows that were already emitted (late rows), then the windows this
   * batch closed. Lateness is judged against what was emitted *before* this batch, so rows of a
   * window that closes in this very batch are on time.
   */
  add(partials: readonly WindowPartial[], newestEventMs: number): { closed: ClosedWindow[]; lateRows: number } {
    const out: ClosedWindow[] = [];
    let lateRows = 0;
    for (const p of partials) {
      const k = key(p.slot, p.windowStartMs);
      if (p.windowStartMs + this.windowMs <= this.#closedBefore) {
        lateRows += p.count;
        const kept = this.#kept.get(k);
        // Past the retention horizon the correction carries only the late rows (record_count = late_rows).
        const merged = kept ? { partial: mergePartials(kept.partial, p), late: kept.late + p.count } : { partial: p, late: p.count };
        this.#keep(k, merged);
        out.push({ partial: merged.partial, correction: true, lateRows: merged.late });
        continue;
      }
      const o = this.#open.get(k);
      this.#open.set(k, o ? mergePartials(o, p) : p);
    }
    if (newestEventMs > this.#watermark) this.#watermark = newestEventMs;
    const frontier = this.#watermark - this.latenessMs;
    if (frontier > this.#closedBefore) {
      this.#closedBefore = frontier;
      for (const [k, p] of this.#open) {
        if (p.windowStartMs + this.windowMs > frontier) continue;
        this.#open.delete(k);
        this.#keep(k, { partial: p, late: 0 });
        out.push({ partial: p, correction: false, lateRows: 0 });
      }
      this.#evict();
    }
    return { closed: out, lateRows };
  }

  /**
   * Emits every open window (end of `--once`, or a switch to another stage). Afterwards these
   * windows count as emitted: later rows for them become corrections.
   */
  flushAll(): ClosedWindow[] {
    const out: ClosedWindow[] = [];
    for (const [k, p] of this.#open) {
      const end = p.windowStartMs + this.windowMs;
      if (end > this.#closedBefore) this.#closedBefore = end;
      this.#keep(k, { partial: p, late: 0 });
      out.push({ partial: p, correction: false, lateRows: 0 });
    }
    this.#open.clear();
    this.#evict();
    return out;
  }

  /** Keeps (or restates) an emitted window; its cached text goes with the old value. */
  #keep(k: string, v: { partial: WindowPartial; late: number }): void {
    this.#kept.set(k, v);
    this.#keptText.delete(k);
  }

  #evict(): void {
    const horizon = this.#closedBefore - this.retainMs;
    for (const [k, v] of this.#kept) {
      if (v.partial.windowStartMs + this.windowMs > horizon) continue;
      this.#kept.delete(k);
      this.#keptText.delete(k);
    }
  }

  toJSON(): StoreJSON {
    const fin = (x: number) => (Number.isFinite(x) ? x : null);
    return {
      v: 1,
      wm: fin(this.#watermark),
      closed: fin(this.#closedBefore),
      open: [...this.#open.values()].map((p) => pack(p)),
      kept: [...this.#kept.values()].map((k) => [...pack(k.partial), k.late]),
    };
  }

  /**
   * `JSON.stringify(this.toJSON())`, byte for byte, with each kept window's text made only once
   * (see #keptText): the checkpoint stores this before every batch.
   */
  toJSONText(): string {
    const fin = (x: number) => (Number.isFinite(x) ? x : null);
    const open = JSON.stringify([...this.#open.values()].map((p) => pack(p)));
    const kept: string[] = [];
    for (const [k, v] of this.#kept) {
      let t = this.#keptText.get(k);
      if (t === undefined) this.#keptText.set(k, (t = JSON.stringify([...pack(v.partial), v.late])));
      kept.push(t);
    }
    return `{"v":1,"wm":${JSON.stringify(fin(this.#watermark))},"closed":${JSON.stringify(fin(this.#closedBefore))},"open":${open},"kept":[${kept.join(',')}]}`;
  }

  /** Replaces the contents with a state written by `toJSON` (null: empty). Throws RangeError on a malformed value. */
  restore(json: unknown): void {
    this.#open.clear();
    this.#kept.clear();
    this.#keptText.clear();
    this.#watermark = -Infinity;
    this.#closedBefore = -Infinity;
    if (json === null || json === undefined) return;
    const s = json as StoreJSON;
    if (s.v !== 1 || !Array.isArray(s.open) || !Array.isArray(s.kept)) throw new RangeError(`aggregated window state has an unknown shape (v=${JSON.stringify(s.v)})`);
    this.#watermark = s.wm ?? -Infinity;
    this.#closedBefore = s.closed ?? -Infinity;
    for (const a of s.open) {
      const p = unpack(a);
      this.#open.set(key(p.slot, p.windowStartMs), p);
    }
    for (const a of s.kept) {
      const p = unpack(a);
      this.#kept.set(key(p.slot, p.windowStartMs), { partial: p, late: a[PACKED_LEN] });
    }
  }
}

/** Length of a packed partial: 7 header numbers + 5 metrics × (n, mean, m2, min, max). */
const PACKED_LEN = 7 + 25;

/** [slot, start, count, firstId, lastId, anomalies, maxScore, (n, mean, m2, min, max) × 5]; empty min/max as 0. */
function pack(p: WindowPartial): number[] {
  const a = [p.slot, p.windowStartMs, p.count, p.firstId, p.lastId, p.anomalyCount, p.maxScore];
  for (const m of p.metrics) a.push(m.n, m.mean, m.m2, m.n > 0 ? m.min : 0, m.n > 0 ? m.max : 0);
  return a;
}

function unpack(a: readonly number[]): WindowPartial {
  if (!Array.isArray(a) || a.length < PACKED_LEN) throw new RangeError(`aggregated window state: a window has ${Array.isArray(a) ? a.length : typeof a} numbers, expected ${PACKED_LEN}`);
  const p = emptyPartial(a[0], a[1]);
  p.count = a[2];
  p.firstId = a[3];
  p.lastId = a[4];
  p.anomalyCount = a[5];
  p.maxScore = a[6];
  for (let m = 0; m < 5; m++) {
    const b = 7 + m * 5;
    const n = a[b];
    p.metrics[m] = { n, mean: a[b + 1], m2: a[b + 2], min: n > 0 ? a[b + 3] : Infinity, max: n > 0 ? a[b + 4] : -Infinity };
  }
  return p;
}
