/**
 * Worker side of KernelPool.readColumns: a worker reads its own id range of the sensor
 * database into a ColumnarBatch, and the batch crosses back to the main thread with its
 * typed arrays transferred, not copied. Row materialisation, not arithmetic, bounds the
 * pipeline (shared/PERFORMANCE.md), so moving it off the main thread is what lets two cores
 * read at once and keeps the main thread's event loop free for the alert path and uploads.
 */
import Database from 'better-sqlite3';
import { statSync } from 'node:fs';
import type { ColumnarBatch, StoredValue } from '../batch.ts';
import { PipelineError } from '../errors.ts';
import { tuneSensorConnection } from '../source/open.ts';
import { SensorReader } from '../source/reader.ts';
import type { ColumnName } from '../source/schema.ts';
import type { DbFile, ReadColumnsTask } from './types.ts';

/** One read-only connection per database path and thread; reopened when the file was replaced. */
const connections = new Map<string, { db: Database.Database; ino: number; dev: number; readers: Map<string, SensorReader> }>();

/**
 * This thread's reader of `columns` in the database at `path`, which must be the file `dbFile`
 * when that is given (types.ts DbFile): a replaced file is refused, never read in its place.
 */
export function readerFor(path: string, columns: readonly ColumnName[], extras: readonly string[], keepTimestampText: boolean, dbFile?: DbFile): SensorReader {
  let st: { ino: number; dev: number };
  try {
    st = statSync(path);
  } catch (err) {
    if (dbFile) throw replaced(path, 'deleted');
    throw new PipelineError('SOURCE_READ_FAILED', `pool worker cannot stat ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (dbFile && `${st.dev}:${st.ino}` !== dbFile) throw replaced(path, 'replaced by a new file');
  let conn = connections.get(path);
  if (conn && (conn.ino !== st.ino || conn.dev !== st.dev)) {
    // A restarted sensor replaced the file: the old connection would keep reading the old inode.
    conn.db.close();
    connections.delete(path);
    conn = undefined;
  }
  if (!conn) {
    let db: Database.Database | undefined;
    try {
      db = new Database(path, { readonly: true, fileMustExist: true });
      tuneSensorConnection(db);
    } catch (err) {
      db?.close();
      throw new PipelineError('SOURCE_READ_FAILED', `pool worker cannot open ${path} read-only: ${(err as Error).message}`, { cause: err });
    }
    conn = { db, ino: st.ino, dev: st.dev, readers: new Map() };
    connections.set(path, conn);
  }
  const key = JSON.stringify([keepTimestampText, columns, extras]);
  let r = conn.readers.get(key);
  if (!r) conn.readers.set(key, (r = new SensorReader({ db: conn.db, columns, extras, keepTimestampText })));
  return r;
}

/** The run's own message for a sensor database swapped under it (pipeline/runner.ts #checkFile). */
function replaced(path: string, how: string): PipelineError {
  return new PipelineError('SOURCE_FILE_REPLACED', `the sensor database ${path} was ${how} while running; stopping so that the next run reads the new file (run again, or let the job restart)`);
}

/** Reads up to `limit` rows afterId < id ≤ untilId into a batch. */
export function readColumnsRange(task: ReadColumnsTask): ColumnarBatch {
  if (!(Number.isInteger(task.afterId) && Number.isInteger(task.untilId) && task.afterId < task.untilId)) {
    throw new RangeError(`readColumns: need integer ids with afterId < untilId, got ${task.afterId}..${task.untilId}`);
  }
  return readerFor(task.db, task.columns, task.extras, task.keepTimestampText, task.dbFile).read(task.afterId, task.limit, task.untilId);
}

/**
 * Undoes what structured cloning did to a batch: a BLOB (Buffer) arrives as a plain
 * Uint8Array, and encoders tell BLOBs apart with Buffer.isBuffer.
 */
export function reviveBatch(batch: ColumnarBatch): ColumnarBatch {
  for (const rows of batch.irregular.values()) {
    const m = rows as Map<number, StoredValue>;
    for (const [row, v] of m) {
      const u = v as unknown;
      if (u instanceof Uint8Array && !Buffer.isBuffer(u)) m.set(row, Buffer.from(u.buffer, u.byteOffset, u.byteLength));
    }
  }
  for (const values of batch.extra.values()) {
    const a = values as StoredValue[];
    for (let i = 0; i < a.length; i++) {
      const u = a[i] as unknown;
      if (u instanceof Uint8Array && !Buffer.isBuffer(u)) a[i] = Buffer.from(u.buffer, u.byteOffset, u.byteLength);
    }
  }
  return batch;
}
