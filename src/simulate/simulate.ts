import { setImmediate as yieldToLoop, setTimeout as delay } from 'node:timers/promises';
import { ReadingGenerator } from './generator.ts';
import { InvalidRows } from './invalid.ts';
import { resolveSimulateOptions, SIMULATE_DEFAULTS, type SimulateOptions, type SimulateSummary } from './options.ts';
import { Rng } from './random.ts';
import { createSensors } from './sensors.ts';
import { ReadingWriter, type RowSchedule, type WriteResult } from './writer.ts';

/** Rows per backfill transaction (PERFORMANCE.md: ~100k-row transactions reach full insert speed). */
const BACKFILL_CHUNK = 50_000;
/** Live mode commits every this many ms, so readers see rows within a tick of their event time. */
const LIVE_TICK_MS = 20;
/** Minimum ms between two onProgress calls. */
const PROGRESS_MS = 100;
/** Offsets the readings stream from the sensor stream, so changing `rows` never changes the sensors. */
const READINGS_STREAM = 0x9e3779b9;
/** Offsets the bad-row stream, so `invalidRate` never changes the readings of the good rows. */
const INVALID_STREAM = 0x85ebca6b;

/** Accumulates write results into a summary and throttles progress callbacks. */
class Tally {
  rows = 0;
  firstId = 0;
  lastId = 0;
  anomalies = 0;
  private lastProgress = 0;
  private readonly started = performance.now();
  constructor(
    private readonly invalid: InvalidRows,
    private readonly onProgress?: (written: number) => void,
  ) {}

  add(r: WriteResult, count: number): void {
    if (count === 0) return;
    if (this.rows === 0) this.firstId = r.firstId;
    this.lastId = r.lastId;
    this.rows += count;
    this.anomalies += r.anomalies;
    const now = performance.now();
    if (this.onProgress && now - this.lastProgress >= PROGRESS_MS) {
      this.lastProgress = now;
      this.onProgress(this.rows);
    }
  }

  finish(): SimulateSummary {
    this.onProgress?.(this.rows);
    const elapsedMs = performance.now() - this.started;
    return {
      rowsWritten: this.rows,
      firstId: this.firstId,
      lastId: this.lastId,
      elapsedMs,
      rowsPerSecond: elapsedMs > 0 ? (this.rows * 1000) / elapsedMs : 0,
      anomalies: this.anomalies,
      invalid: this.invalid.total,
      invalidByKind: { ...this.invalid.counts },
    };
  }
}

/**
 * Writes simulated sensor readings into `sensor_readings` of `opts.db` (contract §1),
 * either a backfill of `rows` historical rows as fast as possible, or live rows at `rate`
 * per second for `durationMs` (default 60 s when neither is given). Rejects with ConfigError
 * on bad options; an abort through `signal` resolves with what was written so far.
 */
export async function simulate(opts: SimulateOptions): Promise<SimulateSummary> {
  const o = resolveSimulateOptions(opts);
  const sensorRng = new Rng(o.seed);
  const readingRng = new Rng((o.seed + READINGS_STREAM) >>> 0);
  const invalid = new InvalidRows(o.invalidRate, (o.seed + INVALID_STREAM) >>> 0);
  const tally = new Tally(invalid, o.onProgress);

  if (o.mode === 'backfill') {
    const spanMs = Math.round(o.spanMs ?? Math.max((o.rows / o.sensors) * 1000, SIMULATE_DEFAULTS.minSpanMs));
    const baseMs = o.startMs !== undefined ? Math.round(o.startMs) : Date.now() - spanMs;
    const stepMs = o.rows > 0 ? spanMs / o.rows : 0;
    const sensors = createSensors(o.sensors, sensorRng, baseMs, o.placement);
    const gen = new ReadingGenerator(sensors, readingRng, stepMs * o.sensors, o.anomalyRate);
    const writer = new ReadingWriter(o.db, sensors, true, invalid);
    const schedule: RowSchedule = { baseMs, stepMs, jitter: true };
    try {
      for (let from = 0; from < o.rows && !o.signal?.aborted; from += BACKFILL_CHUNK) {
        const to = Math.min(o.rows, from + BACKFILL_CHUNK);
        tally.add(writer.write(gen, o.sensors, from, to, schedule), to - from);
        // Between transactions: let an abort or a progress consumer run.
        await yieldToLoop();
      }
    } finally {
      writer.close();
    }
    return tally.finish();
  }

  const t0 = Date.now();
  const stepMs = 1000 / o.rate;
  // Rows are due at t0 + k·step for every k with k·step < durationMs.
  const total = Math.ceil((o.durationMs * o.rate) / 1000);
  const sensors = createSensors(o.sensors, sensorRng, t0, o.placement);
  const gen = new ReadingGenerator(sensors, readingRng, stepMs * o.sensors, o.anomalyRate);
  const writer = new ReadingWriter(o.db, sensors, false, invalid);
  // No jitter: row k's time t0 + floor(k·step) is never later than the clock when it is written.
  const schedule: RowSchedule = { baseMs: t0, stepMs, jitter: false };
  try {
    let written = 0;
    while (!o.signal?.aborted) {
      const elapsed = Date.now() - t0;
      const due = Math.min(total, Math.floor((elapsed * o.rate) / 1000) + 1);
      while (written < due) {
        const to = Math.min(due, written + BACKFILL_CHUNK);
        tally.add(writer.write(gen, o.sensors, written, to, schedule), to - written);
        written = to;
      }
      if (elapsed >= o.durationMs) break;
      // An abort rejects the delay; the loop condition then ends the run.
      const wait = Math.min(LIVE_TICK_MS, o.durationMs - elapsed);
      await delay(wait, undefined, { signal: o.signal }).catch(() => undefined);
    }
  } finally {
    writer.close();
  }
  return tally.finish();
}
