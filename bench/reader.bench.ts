/**
 * Reading sensor rows into batches on one thread: the native column reader (a SQLite extension,
 * native/sqlite_columns, src/source/native-columns.ts) against the JS reader over better-sqlite3
 * (src/source/reader.ts, one SQL function call per row), for what each stage reads — every column
 * with the timestamp text (ingestion), every column (validated, enriched), the aggregated ones —
 * in id ranges of 50k rows, as the workers read. Beside them, the bare SQLite scan of the same
 * ranges (nothing reaches JS). The two readers make equal batches (test/native-columns.test.ts).
 * Prints rows/s (median of tinybench's iterations, each a pass over the whole table).
 * Run: node --import tsx bench/reader.bench.ts [rows=500000]   (the native reader needs `npm run build:native`)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Bench } from 'tinybench';
import { nativeReaderUnavailable } from '../src/source/native-columns.ts';
import { tuneSensorConnection } from '../src/source/open.ts';
import { SensorReader } from '../src/source/reader.ts';
import { READING_COLUMNS, type ColumnName } from '../src/source/schema.ts';
import { simulate } from '../src/simulate/index.ts';

const ROWS = Number(process.argv[2] ?? 500_000);
const RANGE = 50_000;
const AGGREGATED: ColumnName[] = ['id', 'timestamp', 'sensor_id', 'temperature', 'humidity', 'pressure', 'vibration', 'voltage', 'anomaly_flag'];

const dir = mkdtempSync(join(tmpdir(), 'edgelake-readerbench-'));
try {
  const path = join(dir, 'sensor_data.db');
  await simulate({ db: path, rows: ROWS, sensors: 100, startMs: Date.UTC(2025, 7, 15) });
  const db = new Database(path, { readonly: true });
  tuneSensorConnection(db);
  const pass = (reader: SensorReader) => () => {
    let n = 0;
    for (let after = 0; after < ROWS; after += RANGE) n += reader.read(after, RANGE, after + RANGE).length;
    if (n !== ROWS) throw new Error(`read ${n} rows, expected ${ROWS}`);
  };
  const scan = db.prepare(`SELECT count(*), sum(length(${READING_COLUMNS.map((c) => c.name).join(') + length(')})) FROM sensor_readings WHERE id > ? AND id <= ?`);
  const bench = new Bench({ iterations: 5, warmupIterations: 1 });
  bench.add('SQLite scan of every column (sum of lengths, nothing reaches JS)', () => {
    for (let after = 0; after < ROWS; after += RANGE) scan.get(after, after + RANGE);
  });
  const sets: Array<[string, ColumnName[], boolean]> = [
    ['every column + timestamp text (ingestion)', READING_COLUMNS.map((c) => c.name), true],
    ['every column (validated, enriched)', READING_COLUMNS.map((c) => c.name), false],
    ['aggregated columns', AGGREGATED, false],
  ];
  for (const [what, columns, keep] of sets) {
    const native = new SensorReader({ db, columns, keepTimestampText: keep });
    if (native.native) bench.add(`native: ${what}`, pass(native));
    bench.add(`js:     ${what}`, pass(new SensorReader({ db, columns, keepTimestampText: keep, native: false })));
  }
  if (nativeReaderUnavailable()) console.log(`native reader not measured: ${nativeReaderUnavailable()}`);
  await bench.run();
  console.log(`${ROWS.toLocaleString('en-US')} rows in id ranges of ${RANGE.toLocaleString('en-US')}, one thread, ${new Date().toISOString()}`);
  for (const task of bench.tasks) {
    // tinybench 5/6: a completed task's result has latency statistics; an errored or aborted one has none.
    const ms = (task.result as { latency?: { p50?: number } } | undefined)?.latency?.p50 ?? NaN;
    console.log(`${task.name.padEnd(68)} ${Math.round((ROWS / ms) * 1000).toLocaleString('en-US').padStart(12)} rows/s`);
  }
  db.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
