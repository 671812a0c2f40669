/**
 * A reading idea measured and not kept (bench/README.md, sixth pass): 16 of a reading's 27 columns
 * describe its sensor and repeat on every row of it, so could SQLite hand them over once per
 * distinct tuple instead of once per row? Both sides call a no-op SQL function, so only getting
 * the values to JS is compared: (a) the 27 values of every row, as src/source/reader.ts reads
 * them; (b) the batch's distinct tuples into a temporary table, then 11 values a row plus its
 * tuple's rowid, found by a join with `IS` on every column. Prints µs per row over 50k-row ranges.
 * Run: node --import tsx bench/sensor-tuples.bench.ts [rows=500000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { simulate } from '../src/simulate/index.ts';
import { READING_COLUMNS, SENSOR_SEGMENT } from '../src/source/schema.ts';

const rows = Number(process.argv[2] ?? 500_000);
const RANGE = 50_000;
const segment: readonly string[] = SENSOR_SEGMENT;
const perRow = READING_COLUMNS.map((c) => c.name).filter((c) => !segment.includes(c));

const dir = mkdtempSync(join(tmpdir(), 'edgelake-tuplebench-'));
try {
  const file = join(dir, 'sensor_data.db');
  await simulate({ db: file, rows, sensors: 100, startMs: Date.UTC(2025, 7, 15) });
  const db = new Database(file);
  db.pragma('cache_size = -512');
  db.function('f', { varargs: true, deterministic: false }, () => 1);
  const every = db.prepare(`SELECT count(f(${[...perRow, ...segment].join(', ')})) FROM sensor_readings WHERE id > ? AND id <= ?`);
  db.exec(`CREATE TEMP TABLE tup (sensor_id, ${segment.join(', ')}); CREATE INDEX temp.tup_sensor ON tup (sensor_id)`);
  const clear = db.prepare('DELETE FROM tup');
  const fill = db.prepare(`INSERT INTO tup SELECT DISTINCT sensor_id, ${segment.join(', ')} FROM sensor_readings WHERE id > ? AND id <= ?`);
  const tuples = db.prepare(`SELECT count(f(rowid, sensor_id, ${segment.join(', ')})) FROM tup`);
  const joined = db.prepare(
    `SELECT count(f(${perRow.map((c) => `r.${c}`).join(', ')}, t.rowid)) FROM sensor_readings r
       JOIN tup t ON t.sensor_id IS r.sensor_id AND ${segment.map((c) => `t.${c} IS r.${c}`).join(' AND ')}
      WHERE r.id > ? AND r.id <= ?`,
  );
  const time = (body: (from: number) => void): number => {
    const t0 = performance.now();
    for (let from = 0; from < rows; from += RANGE) body(from);
    return ((performance.now() - t0) * 1000) / rows;
  };
  for (let round = 1; round <= 3; round++) {
    const a = time((from) => every.get(from, from + RANGE));
    const b = time((from) => {
      clear.run();
      fill.run(from, from + RANGE);
      tuples.get();
      joined.get(from, from + RANGE);
    });
    console.log(`round ${round}: (a) 27 values a row ${a.toFixed(2)} µs/row, (b) tuples once + 12 values a row ${b.toFixed(2)} µs/row`);
  }
  db.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
