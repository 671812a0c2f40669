/**
 * Worker side of BenchPool.readAggregate: the worker reads its own id range of the sensor
 * database and aggregates it, so both cores read SQLite (row materialisation, not arithmetic,
 * bounds the pipeline: see shared/PERFORMANCE.md) and no column crosses a thread.
 * Reading reuses SensorReader (one scalar SQL function filling preallocated typed arrays).
 */
import Database from 'better-sqlite3';
import { packPartials } from './partials.ts';
import type { AggregateInput, Kernels } from '../../src/kernels/types.ts';
import { PipelineError } from '../../src/errors.ts';
import { BUSY_TIMEOUT_MS } from '../../src/source/open.ts';
import { SensorReader } from '../../src/source/reader.ts';
import { METRICS } from '../../src/source/schema.ts';
import type { RangePartials, ReadAggregateTask } from './types.ts';

/** The columns aggregation needs (id and timestamp are always read). */
const COLUMNS = ['sensor_id', ...METRICS, 'anomaly_flag'] as const;

/** One read-only connection and reader per database path, per thread (kept for the next task). */
const readers = new Map<string, SensorReader>();

function readerFor(path: string): SensorReader {
  let r = readers.get(path);
  if (!r) {
    let db: Database.Database | undefined;
    try {
      db = new Database(path, { readonly: true, fileMustExist: true });
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      r = new SensorReader({ db, columns: [...COLUMNS], keepTimestampText: false });
    } catch (err) {
      db?.close();
      // Only the message survives the trip back to the main thread: say which file and why.
      throw new PipelineError('SOURCE_READ_FAILED', `pool worker cannot open ${path} read-only: ${(err as Error).message}`, { cause: err });
    }
    readers.set(path, r);
  }
  return r;
}

/**
 * Reads rows afterId < id ≤ untilId in one page (at most untilId − afterId rows) and aggregates
 * them. Slots are the page's sensor_id dictionary codes; NULL sensor ids get one extra slot.
 * Scores are 0 (scoring is sequential per sensor and stays with the stage); a row counts as an
 * anomaly when anomaly_flag = 1.
 */
export function readAggregateRange(task: ReadAggregateTask, kernels: Kernels): RangePartials {
  const limit = task.untilId - task.afterId;
  if (!(Number.isInteger(task.afterId) && Number.isInteger(task.untilId) && limit >= 1)) {
    throw new RangeError(`readAggregate: need integer ids with afterId < untilId, got ${task.afterId}..${task.untilId}`);
  }
  const batch = readerFor(task.db).read(task.afterId, limit, task.untilId);
  const n = batch.length;
  const sensor = batch.text.sensor_id!;
  const sensorIds: (string | null)[] = [...sensor.values];
  const nullSlot = sensorIds.length;
  const slot = new Int32Array(n);
  let hasNull = false;
  for (let i = 0; i < n; i++) {
    const c = sensor.codes[i];
    if (c < 0) hasNull = true;
    slot[i] = c < 0 ? nullSlot : c;
  }
  if (hasNull) sensorIds.push(null);
  const flag = batch.numeric.anomaly_flag!;
  const isAnomaly = new Uint8Array(n);
  for (let i = 0; i < n; i++) isAnomaly[i] = flag[i] === 1 ? 1 : 0;
  const input: AggregateInput = {
    id: batch.id,
    eventMs: batch.eventMs,
    slot,
    metrics: METRICS.map((m) => batch.numeric[m]!),
    score: new Float64Array(n),
    isAnomaly,
  };
  return { partials: packPartials(kernels.aggregate(input, task.windowMs)), sensorIds, rows: n };
}
