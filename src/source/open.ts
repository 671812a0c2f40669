import Database from 'better-sqlite3';
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError, PipelineError } from '../errors.ts';

/** How long a reader or writer waits on a lock before SQLITE_BUSY, ms. */
export const BUSY_TIMEOUT_MS = 10_000;

/**
 * Page cache of a connection that reads the sensor table, KiB. better-sqlite3 builds SQLite with
 * a 16 MB default (SQLITE_DEFAULT_CACHE_SIZE=-16000), which an id-range scan fills with pages it
 * never reads again — in every worker's malloc arena, 16 MB each. The b-tree's inner pages, all a
 * scan revisits, fit many times over in 512 KiB; the OS page cache keeps the file itself.
 * Measured on 1M rows: peak RSS −30 to −40 MB (ingestion 270–289 MB against 311–321), no slower.
 */
export const SENSOR_CACHE_KIB = 512;

/** Sets the connection's busy timeout and the small page cache of a sensor-table reader ({@link SENSOR_CACHE_KIB}). */
export function tuneSensorConnection(db: Database.Database): void {
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  db.pragma(`cache_size = -${SENSOR_CACHE_KIB}`);
}

/**
 * Opens an existing sensor database for the pipeline and checks it is one: the file exists,
 * `sensor_readings` exists, and its `id` is an INTEGER PRIMARY KEY (the only cursor that never
 * repeats; a table whose ids can repeat is refused rather than half-processed).
 *
 * The database belongs to the sensors: it is read in whatever journal mode it is in (WAL or a
 * rollback journal), never switched. With `readonly` (the state lives in a file of its own) it is
 * opened read-only, so a sensor file on a read-only mount or with mode 0444 works.
 */
export function openSensorDb(path: string, opts: { readonly?: boolean } = {}): Database.Database {
  const full = resolve(path);
  if (!existsSync(full)) {
    throw new ConfigError('DB_MISSING', `--db ${full} does not exist; point --db at the sensor database (create one with: edgelake simulate --db ${path} --rows 10000)`);
  }
  if (!statSync(full).isFile()) throw new ConfigError('DB_MISSING', `--db ${full} is not a file`);
  let db: Database.Database | undefined;
  const t0 = performance.now();
  try {
    db = new Database(full, { fileMustExist: true, readonly: opts.readonly ?? false });
    tuneSensorConnection(db);
    checkSensorTable(db, full);
  } catch (err) {
    db?.close();
    if (err instanceof ConfigError) throw err;
    const code = (err as { code?: unknown }).code;
    // A lock is a runtime fault (exit 1), not a configuration one: the same command works once it is released.
    if (typeof code === 'string' && /^SQLITE_(BUSY|LOCKED)/.test(code)) {
      const waited = ((performance.now() - t0) / 1000).toFixed(1);
      throw new PipelineError(
        'DB_LOCKED',
        `--db ${full} stayed locked by another process (${code}; a writer holding an exclusive lock or committing a long rollback-journal transaction); waited ${waited} s: nothing was read, so nothing is lost; rerun once the lock is released`,
        { cause: err },
      );
    }
    if (code === 'SQLITE_CANTOPEN' && existsSync(full)) {
      throw new ConfigError(
        'DB_UNREADABLE',
        `--db ${full} cannot be opened (${code}): a WAL-mode database on a read-only file system needs its -shm and -wal files beside it, which SQLite cannot create there; ` +
          'mount the folder read-write, or switch the database to a rollback journal (PRAGMA journal_mode = DELETE) before mounting it read-only',
        { cause: err },
      );
    }
    throw new ConfigError('DB_UNREADABLE', `--db ${full} cannot be opened as SQLite: ${(err as Error).message}`, { cause: err });
  }
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

const anchors = new WeakMap<Database.Database, Database.Statement>();

/**
 * The anchor of a checkpoint: the id and stored timestamp of the last row that landed. If a
 * restarted sensor replaced or truncated the file, ids start again from 1 and the row at the
 * checkpoint is gone (max(id) below it) or holds another timestamp.
 */
export function sourceAnchor(db: Database.Database, id: number): string {
  if (id === Number.MIN_SAFE_INTEGER) return 'start|';
  try {
    let stmt = anchors.get(db);
    if (!stmt) {
      // A table without a timestamp column (ingestion reads it too) is anchored by the row's presence alone.
      const hasTs = (db.prepare("SELECT count(*) FROM pragma_table_info('sensor_readings') WHERE name = 'timestamp'").pluck().get() as number) > 0;
      stmt = db.prepare(`SELECT ${hasTs ? 'timestamp' : "''"} FROM sensor_readings WHERE id = ?`).pluck();
      anchors.set(db, stmt);
    }
    const ts = stmt.get(id);
    return ts === undefined ? `${id}|<missing>` : `${id}|${String(ts)}`;
  } catch (err) {
    throw new PipelineError('SOURCE_READ_FAILED', `cannot read sensor_readings: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Device and inode of a file (`dev:ino`), or null when it does not exist: which file a path names
 * right now. A sensor that restarts may delete its database and create a new one at the same path;
 * a connection opened before keeps reading the old, unlinked file.
 */
export function fileIdentity(path: string): string | null {
  try {
    const st = statSync(path);
    return `${st.dev}:${st.ino}`;
  } catch {
    return null;
  }
}
