import Database from 'better-sqlite3';
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError, PipelineError } from '../errors.ts';

/** How long a reader or writer waits on a lock before SQLITE_BUSY, ms. */
export const BUSY_TIMEOUT_MS = 10_000;

/**
 * Opens an existing sensor database for the pipeline and checks it is one: the file exists,
 * `sensor_readings` exists, and its `id` is an INTEGER PRIMARY KEY (the only cursor that never
 * repeats; a table whose ids can repeat is refused rather than half-processed).
 */
export function openSensorDb(path: string): Database.Database {
  const full = resolve(path);
  if (!existsSync(full)) {
    throw new ConfigError('DB_MISSING', `--db ${full} does not exist; point --db at the sensor database (create one with: edgelake simulate --db ${path} --rows 10000)`);
  }
  if (!statSync(full).isFile()) throw new ConfigError('DB_MISSING', `--db ${full} is not a file`);
  let db: Database.Database | undefined;
  try {
    db = new Database(full, { fileMustExist: true });
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma('journal_mode = WAL');
  } catch (err) {
    db?.close();
    const code = (err as { code?: unknown }).code;
    // A lock is a runtime fault (exit 1), not a configuration one: the same command works once it is released.
    if (typeof code === 'string' && /^SQLITE_(BUSY|LOCKED)/.test(code)) {
      throw new PipelineError(
        'DB_LOCKED',
        `--db ${full} stayed locked by another process for ${BUSY_TIMEOUT_MS / 1000} s (${code}; a writer holding an exclusive or rollback-journal lock): nothing was read, so nothing is lost; rerun once the lock is released`,
        { cause: err },
      );
    }
    throw new ConfigError('DB_UNREADABLE', `--db ${full} cannot be opened as SQLite: ${(err as Error).message}`, { cause: err });
  }
  checkSensorTable(db, full);
  return db;
}

/** Throws a ConfigError unless `sensor_readings` exists with an INTEGER PRIMARY KEY `id`. */
export function checkSensorTable(db: Database.Database, path: string): void {
  const cols = db.prepare("SELECT name, type, pk FROM pragma_table_info('sensor_readings')").all() as Array<{
    name: string;
    type: string;
    pk: number;
  }>;
  if (cols.length === 0) {
    throw new ConfigError('NO_SENSOR_TABLE', `${path} has no table sensor_readings; is it a sensor database? (tables: ${tableNames(db).join(', ') || 'none'})`);
  }
  const id = cols.find((c) => c.name === 'id');
  if (!id || id.pk !== 1 || id.type.toUpperCase() !== 'INTEGER' || cols.filter((c) => c.pk > 0).length !== 1) {
    throw new ConfigError(
      'ID_NOT_PRIMARY_KEY',
      `${path}: sensor_readings.id is not an INTEGER PRIMARY KEY, so ids may repeat and cannot serve as a cursor; refusing to read it (recreate the table with id INTEGER PRIMARY KEY AUTOINCREMENT)`,
    );
  }
}

function tableNames(db: Database.Database): string[] {
  return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all() as string[]).slice(0, 10);
}

/**
 * The anchor of a checkpoint: the id and stored timestamp of the last row that landed. If a
 * restarted sensor replaced or truncated the file, ids start again from 1 and the row at the
 * checkpoint is gone (max(id) below it) or holds another timestamp.
 */
export function sourceAnchor(db: Database.Database, id: number): string {
  if (id <= 0) return '0|';
  try {
    const ts = db.prepare('SELECT timestamp FROM sensor_readings WHERE id = ?').pluck().get(id);
    return ts === undefined ? `${id}|<missing>` : `${id}|${String(ts)}`;
  } catch (err) {
    throw new PipelineError('SOURCE_READ_FAILED', `cannot read sensor_readings: ${(err as Error).message}`, { cause: err });
  }
}
