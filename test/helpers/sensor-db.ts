/**
 * Sensor databases for tests: the contract's `sensor_readings` table filled with hand-made rows
 * (any value of any type, as a bad writer would store it), and small queries on the state tables.
 */
import Database from 'better-sqlite3';
import { READING_COLUMNS, SENSOR_READINGS_DDL } from '../../src/source/schema.ts';

/** A row to insert: any subset of the 27 columns (the rest NULL; `id` assigned by SQLite when absent). */
export type TestRow = Partial<Record<(typeof READING_COLUMNS)[number]['name'], number | string | null>>;

/** A complete, well-formed row for id `n`, hour `hourIso` (e.g. `2025-08-15T10`) and minute offset. */
export function goodRow(n: number, hourIso = '2025-08-15T10', second = n % 3600): TestRow {
  const mm = String(Math.floor(second / 60) % 60).padStart(2, '0');
  const ss = String(second % 60).padStart(2, '0');
  return {
    timestamp: `${hourIso}:${mm}:${ss}.${String(n % 1000).padStart(3, '0')}+00:00`,
    sensor_id: `NEWY_${String(n % 7).padStart(6, '0')}`,
    temperature: 20 + (n % 50) / 10,
    humidity: 50.5,
    pressure: 101325,
    vibration: 2.5,
    voltage: 12,
    status_code: 0,
    anomaly_flag: 0,
    anomaly_type: null,
    firmware_version: '1.2.3',
    model: 'TH-100',
    manufacturer: 'Acme',
    location: 'New York',
    latitude: 40.7128,
    longitude: -74.006,
    original_timezone: '-04:00',
    synced: 0,
    serial_number: `SN${n}`,
    manufacture_date: '2024-01-02',
    deployment_type: 'outdoor',
    installation_date: '2024-02-03',
    height_meters: 3.5,
    orientation_degrees: 180,
    instance_id: 'i-1',
    sensor_type: 'environmental',
  };
}

/** Creates `path` with the contract's table in WAL mode and inserts `rows` in one transaction. */
export function createSensorDb(path: string, rows: readonly TestRow[] = []): void {
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.exec(SENSOR_READINGS_DDL);
    insertRows(db, rows);
  } finally {
    db.close();
  }
}

/** Inserts rows (each with its own set of columns) in one transaction. */
export function insertRows(db: Database.Database, rows: readonly TestRow[]): void {
  db.transaction(() => {
    for (const row of rows) {
      const cols = Object.keys(row);
      if (cols.length === 0) {
        db.prepare('INSERT INTO sensor_readings DEFAULT VALUES').run();
        continue;
      }
      db.prepare(`INSERT INTO sensor_readings (${cols.map((c) => `"${c}"`).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`).run(
        ...cols.map((c) => row[c as keyof TestRow]),
      );
    }
  })();
}

/** Runs one query on `path` (read-only) and returns every row. */
export function query<T>(path: string, sql: string, ...params: unknown[]): T[] {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 10000');
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

/** `last_id` of the checkpoint `cursor` (default the live cursor), or null when there is none yet (Number.MIN_SAFE_INTEGER: it exists but has read nothing). */
export function checkpointId(path: string, cursor = 'live'): number | null {
  try {
    const rows = query<{ last_id: number }>(path, 'SELECT last_id FROM edgelake_checkpoints WHERE cursor = ?', cursor);
    return rows.length ? rows[0].last_id : null;
  } catch (err) {
    if (/no such table/.test((err as Error).message)) return null;
    throw err;
  }
}

/** `max(id)` of sensor_readings (0 when empty). */
export function maxId(path: string): number {
  return query<{ m: number | null }>(path, 'SELECT max(id) AS m FROM sensor_readings')[0].m ?? 0;
}
