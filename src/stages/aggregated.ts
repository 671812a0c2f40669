import type { ColumnarBatch } from '../batch.ts';
import { priorityName } from '../alerts/priority.ts';
import { DEFAULT_LIMITS, DEFAULT_THRESHOLDS, ScoreState, partialStddev, type Kernels, type ScoreStateJSON, type ScoreThresholds } from '../kernels/types.ts';
import { METRICS, type ColumnName } from '../source/schema.ts';
import { windowObjectKey } from '../sink/key.ts';
import { GzipLines } from '../sink/jsonl.ts';
import { recordsParquet, zstd } from '../encode/parquet/index.ts';
import { datasetParquetSchema } from '../encode/parquet/datasets.ts';
import type { SinkObject } from '../sink/types.ts';
import { pipelineStamp } from './rows.ts';
import type { BatchContext, Stage, StageOutput } from './types.ts';
import { WindowStore, type ClosedWindow } from './windows.ts';

/** Options of {@link createAggregatedStage}. */
export interface AggregatedOptions {
  /** Loaded kernels (score + aggregate run synchronously on the calling thread). */
  readonly kernels: Kernels;
  /** Window length, ms. Default 300 000 (5 min, `--window`). */
  readonly windowMs?: number;
  /** Allowed lateness, ms. Default 60 000 (1 min, `--lateness`). */
  readonly latenessMs?: number;
  /** Score thresholds of the priorities. Default DEFAULT_THRESHOLDS (3 / 4.5 / 6). */
  readonly thresholds?: ScoreThresholds;
}

/**
 * The source columns the stage reads: sensor, the five metrics and the sensor's flag (id and the
 * event time are always read; the timestamp text is not needed, only its parsed value).
 */
export const AGGREGATED_COLUMNS: readonly ColumnName[] = ['id', 'sensor_id', ...METRICS, 'anomaly_flag'];

/** Stage state as stored with the checkpoint (JSON), version 1. */
interface AggregatedState {
  v: 1;
  /** Sensor ids by slot (null: rows without a sensor id). */
  sensors: (string | null)[];
  windows: unknown;
  score: ScoreStateJSON;
}

/**
 * Stage 4, aggregated: one record per (sensor_id, event-time tumbling window) with count,
 * min/max/avg/stddev per metric, anomaly count, max anomaly score and alert priority
 * (contract §5). Rows are scored in id order with the kernels' EWMA scorer; a row counts as an
 * anomaly when its score reaches the `low` threshold (the sensor's own flag raises it to medium).
 *
 * Windows close when their end ≤ newest event time − lateness and are written grouped by window
 * start, one object per start: `{node}_{window_start_s}_{first_id}-{last_id}` (contract §4).
 * Open windows, recently emitted windows, sensor slots and the scorer's baseline are the stage
 * state, stored with the checkpoint. Rows for an already emitted window are counted as
 * `late_rows` and emitted as a correction record (`is_correction: true`) restating the window.
 */
export async function createAggregatedStage(opts: AggregatedOptions): Promise<Stage> {
  const k = opts.kernels;
  const windowMs = opts.windowMs ?? 300_000;
  const thresholds = opts.thresholds ?? DEFAULT_THRESHOLDS;
  const store = new WindowStore({ windowMs, latenessMs: opts.latenessMs ?? 60_000 });
  let score = new ScoreState();
  let sensors: (string | null)[] = [];
  let slotOf = new Map<string | null, number>();

  const slotFor = (s: string | null): number => {
    let v = slotOf.get(s);
    if (v === undefined) {
      v = sensors.length;
      sensors.push(s);
      slotOf.set(s, v);
    }
    return v;
  };
  // JSON.stringify({ v: 1, sensors, windows, score }) byte for byte, with the windows' text from the store's cache.
  const snapshot = (): string => `{"v":1,"sensors":${JSON.stringify(sensors)},"windows":${store.toJSONText()},"score":${JSON.stringify(score.toJSON())}}`;

  /** Encodes closed windows into objects (async: gzip); everything it reads is captured first. */
  const write = (closed: ClosedWindow[], ctx: BatchContext): Promise<SinkObject[]> => {
    const names = sensors.slice();
    const byStart = new Map<number, ClosedWindow[]>();
    for (const c of closed) {
      const g = byStart.get(c.partial.windowStartMs);
      if (g) g.push(c);
      else byStart.set(c.partial.windowStartMs, [c]);
    }
    const stamp = pipelineStamp('aggregated', ctx, false);
    return Promise.all(
      [...byStart].map(async ([startMs, group]) => {
        // Deterministic order inside an object: by sensor id, then first emission before correction.
        group.sort((a, b) => cmp(names[a.partial.slot], names[b.partial.slot]) || Number(a.correction) - Number(b.correction));
        const text = group.map((c) => encodeWindow(c, names[c.partial.slot], windowMs, thresholds, stamp));
        let first = Infinity;
        let last = -Infinity;
        for (const c of group) {
          first = Math.min(first, c.partial.firstId);
          last = Math.max(last, c.partial.lastId);
        }
        const format = ctx.format ?? 'jsonl';
        let body: Uint8Array;
        if (format === 'parquet') {
          // The records of the JSON lines themselves, so both formats hold the very same values.
          body = recordsParquet(datasetParquetSchema('aggregated'), text.map((t) => JSON.parse(t)), { codec: await zstd(), createdBy: `edgelake ${ctx.version}` });
        } else {
          const lines = new GzipLines(ctx.gzipLevel);
          for (const t of text) lines.add(t);
          body = await lines.finish();
        }
        return {
          bucket: ctx.buckets.aggregated,
          key: windowObjectKey({ windowStartMs: startMs, nodeKey: ctx.keyNode, firstId: first, lastId: last, format }),
          body,
          records: group.length,
        };
      }),
    );
  };

  const output = async (closed: ClosedWindow[], ctx: BatchContext, state: string, details: Record<string, unknown>): Promise<StageOutput> => {
    const objects = await write(closed, ctx);
    return { objects, recordsOut: closed.length, details, state };
  };

  return {
    type: 'aggregated',
    bucket: 'aggregated',
    columns: AGGREGATED_COLUMNS,
    readBound: true,
    process(batch: ColumnarBatch, ctx: BatchContext): Promise<StageOutput> {
      // Everything up to `output` is synchronous: the runner starts the next batch meanwhile.
      try {
        const n = batch.length;
        const slot = slotsOf(batch, slotFor);
        const metrics = METRICS.map((m) => batch.numeric[m]!);
        const scored = k.score({ slot, metrics, anomalyFlag: batch.numeric.anomaly_flag!, physical: DEFAULT_LIMITS.ranges }, score, thresholds);
        const isAnomaly = new Uint8Array(n);
        let newest = -Infinity;
        let noTime = 0;
        let future = 0;
        // A reading stamped beyond the clock-skew allowance (validation's not_future) is still
        // aggregated, but must not move the watermark: one clock glitch would make every later
        // on-time reading late. Judged against the batch's start time, so a replay agrees.
        const horizon = ctx.startedMs + DEFAULT_LIMITS.maxFutureMs;
        for (let i = 0; i < n; i++) {
          isAnomaly[i] = scored.priority[i] > 0 ? 1 : 0;
          const e = batch.eventMs[i];
          if (e !== e) noTime++;
          else if (e > horizon) future++;
          else if (e > newest) newest = e;
        }
        const partials = k.aggregate({ id: batch.id, eventMs: batch.eventMs, slot, metrics, score: scored.score, isAnomaly }, windowMs);
        const { closed, lateRows } = store.add(partials, newest);
        const corrections = closed.reduce((c, w) => c + (w.correction ? 1 : 0), 0);
        const details = {
          windows_emitted: closed.length - corrections,
          corrections,
          late_rows: lateRows,
          open_windows: store.openCount,
          // Rows without a parseable timestamp belong to no window; counted, never silently lost.
          rows_without_event_time: noTime,
          rows_in_future: future,
        };
        return output(closed, ctx, snapshot(), details);
      } catch (err) {
        return Promise.reject(err);
      }
    },
    restoreState(state: string | null): void {
      const s = state ? (JSON.parse(state) as AggregatedState) : null;
      if (s && s.v !== 1) throw new RangeError(`aggregated stage state has unknown version ${JSON.stringify(s.v)}`);
      sensors = s ? s.sensors.slice() : [];
      slotOf = new Map(sensors.map((id, i) => [id, i]));
      score = s ? ScoreState.fromJSON(s.score) : new ScoreState();
      store.restore(s ? s.windows : null);
    },
    flush(ctx: BatchContext): Promise<StageOutput> {
      const closed = store.flushAll();
      return output(closed, ctx, snapshot(), { windows_emitted: closed.length, corrections: 0, late_rows: 0, open_windows: 0, flushed: true });
    },
  };
}

/** Stable slot per row: the batch dictionary is mapped once per batch, not once per row. */
function slotsOf(batch: ColumnarBatch, slotFor: (s: string | null) => number): Int32Array {
  const n = batch.length;
  const out = new Int32Array(n);
  const col = batch.text.sensor_id!;
  const bySlot = col.values.map((v) => slotFor(v));
  const odd = batch.irregular.get('sensor_id');
  for (let i = 0; i < n; i++) {
    const c = col.codes[i];
    if (c >= 0) out[i] = bySlot[c];
    else {
      // NULL, or a number/BLOB a bad writer stored as sensor_id: grouped under its text form.
      const v = odd?.get(i);
      out[i] = slotFor(v === undefined || v === null ? null : typeof v === 'object' ? Buffer.from(v).toString('hex') : String(v));
    }
  }
  return out;
}

const cmp = (a: string | null, b: string | null): number => (a === b ? 0 : a === null ? -1 : b === null ? 1 : a < b ? -1 : 1);
const num = (v: number): string => (Number.isFinite(v) ? String(v) : 'null');

/** One aggregated record (contract §5) as a JSON line. */
export function encodeWindow(c: ClosedWindow, sensorId: string | null, windowMs: number, t: ScoreThresholds, stamp: string): string {
  const p = c.partial;
  let s = `{"window_start":"${new Date(p.windowStartMs).toISOString()}","window_end":"${new Date(p.windowStartMs + windowMs).toISOString()}"`;
  s += `,"sensor_id":${sensorId === null ? 'null' : JSON.stringify(sensorId)},"record_count":${p.count}`;
  for (let m = 0; m < METRICS.length; m++) {
    const st = p.metrics[m];
    const name = METRICS[m];
    const empty = st.n === 0;
    s += `,"${name}_count":${st.n},"${name}_min":${empty ? 'null' : num(st.min)},"${name}_max":${empty ? 'null' : num(st.max)}`;
    s += `,"${name}_avg":${empty ? 'null' : num(st.mean)},"${name}_stddev":${empty ? 'null' : num(partialStddev(st))}`;
  }
  s += `,"anomaly_count":${p.anomalyCount},"max_anomaly_score":${num(p.maxScore)},"alert_priority":"${priorityName(p.maxScore, t)}"`;
  s += `,"first_id":${p.firstId},"last_id":${p.lastId},"is_correction":${c.correction},"late_rows":${c.lateRows},${stamp}}`;
  return s;
}
