/**
 * Test fixtures for the row stages: a sensor database with hand-written rows (any value,
 * including the kinds a bad writer produces), a run of the real pipeline into a temp lake,
 * and the records of every object read back.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { listLakeFiles, readLake } from './lake.ts';
import { parseRunOptions } from '../../src/config.ts';
import type { Logger } from '../../src/log.ts';
import { runPipeline, type RunSummary } from '../../src/pipeline/run.ts';
import { SENSOR_READINGS_DDL } from '../../src/source/schema.ts';

/** A valid row of the generic profile; cases override single columns. */
export const BASE_ROW = {
  timestamp: '2025-08-15T00:02:46.167+00:00',
  sensor_id: 'TEST_000001',
  temperature: 25,
  humidity: 50,
  pressure: 101325,
  vibration: 2.5,
  voltage: 12,
  status_code: 0,
  anomaly_flag: 0,
  anomaly_type: null,
  firmware_version: '1.0.0',
  model: 'EnvMonitor-3000',
  manufacturer: 'SensorTech',
  location: 'Berlin',
  latitude: 52.52,
  longitude: 13.405,
  original_timezone: '+01:00',
  synced: 1,
  serial_number: 'ST-1',
  manufacture_date: '2023-01-01',
  deployment_type: 'indoor',
  installation_date: '2023-02-01',
  height_meters: 2,
  orientation_degrees: 90,
  instance_id: 'i-1',
  sensor_type: 'environmental',
} as const;

export type RowValues = { [K in keyof typeof BASE_ROW]?: string | number | bigint | Buffer | null };

/** Creates `sensor_readings` in `path` (if missing) and returns an open connection. */
export function openTestDb(path: string): Database.Database {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec(SENSOR_READINGS_DDL);
  return db;
}

/** Inserts BASE_ROW with `overrides` applied; returns the new id. */
export function insertRow(db: Database.Database, overrides: RowValues = {}): number {
  const row = { ...BASE_ROW, ...overrides };
  const cols = Object.keys(row);
  const stmt = db.prepare(`INSERT INTO sensor_readings (${cols.join(', ')}) VALUES (${cols.map((c) => '@' + c).join(', ')})`);
  return Number(stmt.run(row).lastInsertRowid);
}

/** Inserts BASE_ROW, then sets `column` to a raw SQL expression (e.g. `CAST(x'c328' AS TEXT)`); returns the id. */
export function insertRaw(db: Database.Database, column: keyof typeof BASE_ROW, sql: string): number {
  const id = insertRow(db);
  db.prepare(`UPDATE sensor_readings SET "${column}" = ${sql} WHERE id = ?`).run(id);
  return id;
}

/** A logger that keeps every line (for assertions and secret scans). */
export function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(m) };
}

/** Runs the real pipeline `--once` over `db` into the lake folder `lake`. */
export async function runStage(opts: { db: string; lake: string; type: string; log?: Logger } & Record<string, unknown>): Promise<RunSummary> {
  const { log, ...rest } = opts;
  return runPipeline(parseRunOptions({ once: true, progress: false, ...rest }), { log: log ?? memoryLogger() });
}

/** Every file below `dir`, recursively (absolute paths). */
export function filesUnder(dir: string): string[] {
  return listLakeFiles(dir).map((rel) => join(dir, rel));
}

/**
 * The records of every `.jsonl.gz` object in `lake` whose bucket name contains `bucketPart`
 * (`enriched`, `-validated-`) or whose dataset (first key segment) is `bucketPart`
 * (`pipeline_metrics`), sorted by id. Node parts of keys (which carry the stage in metrics keys)
 * are not matched.
 */
export function lakeRecords(lake: string, bucketPart: string): Array<Record<string, unknown>> {
  return readLake(lake)
    .filter((o) => o.bucket.includes(bucketPart) || o.key.split('/')[0] === bucketPart)
    .flatMap((o) => o.records)
    .sort((a, b) => Number(a.id) - Number(b.id));
}
