/**
 * The native column reader (native/sqlite_columns, src/source/native-columns.ts) against the JS
 * reader over better-sqlite3: the same batch, value for value, for random and hostile tables —
 * every type in every column, invalid UTF-8, NUL bytes, impossible days, odd timestamp shapes,
 * ids at the edges, extra columns — and every way of reading (a range, a page, by ids, nothing).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { ColumnarBatch } from '../src/batch.ts';
import { AGGREGATED_COLUMNS } from '../src/stages/aggregated.ts';
import { DETECTOR_COLUMNS } from '../src/alerts/detector.ts';
import { MMAP_THRESHOLD_BYTES } from '../src/cli/malloc.ts';
import { columnPlan, loadColumnsExtension } from '../src/source/native-columns.ts';
import { NATIVE_CHUNK_ROWS, nativePieceRows, SensorReader } from '../src/source/reader.ts';
import { READING_COLUMNS, type ColumnName } from '../src/source/schema.ts';
import { createSensorDb, goodRow, type TestRow } from './helpers/sensor-db.ts';
import { tempDir } from './helpers/tmp.ts';

const ALL = READING_COLUMNS.map((c) => c.name);

/** A batch as plain values: typed arrays as arrays (so NaN equals NaN and -0 differs from 0), maps as entries. */
function plain(b: ColumnarBatch): unknown {
  return {
    length: b.length,
    columns: b.columns,
    id: Array.from(b.id),
    eventMs: Array.from(b.eventMs),
    timestampText: b.timestampText,
    numeric: Object.fromEntries(Object.entries(b.numeric).map(([k, v]) => [k, Array.from(v!)])),
    text: Object.fromEntries(Object.entries(b.text).map(([k, v]) => [k, { codes: Array.from(v!.codes), values: v!.values }])),
    irregular: [...b.irregular].map(([k, m]) => [k, [...m]]),
    extra: [...b.extra],
    rawBytes: b.rawBytes,
  };
}

/** Small deterministic random numbers (xorshift). */
function random(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

/** SQL literals of every shape a bad writer can store, for any column. */
const HOSTILE = [
  'NULL', "''", "'text'", "'12.5'", '0', '-0.0', '1e308', '-7', '9007199254740993', '1152921504606846976', '3.25',
  "X''", "X'00ff10'", "CAST(X'ff41' AS TEXT)", "CAST(X'fe41' AS TEXT)", "CAST(X'610062' AS TEXT)", "'ünïcode ✓ 𝄞'",
  "'2025-08-15T10:00:00.123Z'", "'2025-02-30T10:00:00.000Z'", "'2024-02-29T23:59:59.999-14:00'", "'2025-08-15 10:00:00'",
  "'now'", "'12:30'", "'2459000.5'", "'2025-08-15T10:00:00.1234+05:30'", "'2025-08-15T10:00:00.000+15:00'", "'0999-01-01T00:00:00.000Z'",
  "CAST(X'323032352d30382d31355431303a30303a30302e3030305a' AS BLOB)", "'x" + 'y'.repeat(5000) + "'",
];

function hostileDb(path: string, rows: number, seed: number): void {
  createSensorDb(path, []);
  const db = new Database(path);
  try {
    db.exec('ALTER TABLE sensor_readings ADD COLUMN extra_a'); // no declared type
    db.exec('ALTER TABLE sensor_readings ADD COLUMN "extra ""b"" text" TEXT');
    const rnd = random(seed);
    const pick = () => HOSTILE[Math.floor(rnd() * HOSTILE.length)];
    const ids = new Set<number>([-5, 0, 2 ** 53 - 3]);
    while (ids.size < rows) ids.add(1 + Math.floor(rnd() * rows * 3));
    const cols = [...ALL.filter((c) => c !== 'id'), 'extra_a', 'extra "b" text'];
    const good = (n: number) => goodRow(n) as Record<string, unknown>;
    const lit = (v: unknown) => (v === null || v === undefined ? 'NULL' : typeof v === 'number' ? String(v) : `'${String(v).replaceAll("'", "''")}'`);
    for (const id of ids) {
      const g = good(Math.abs(id) % 5000);
      // Mostly good rows (so the dictionaries and caches see repeats), hostile values sprinkled in.
      const values = cols.map((c) => (rnd() < 0.15 ? pick() : c.startsWith('extra') ? (rnd() < 0.5 ? String(Math.floor(rnd() * 100)) : "'e'") : lit(g[c])));
      db.exec(`INSERT INTO sensor_readings (id, ${cols.map((c) => `"${c.replaceAll('"', '""')}"`).join(', ')}) VALUES (${id}, ${values.join(', ')})`);
    }
  } finally {
    db.close();
  }
}

/** The JS reader, the native one, and the native one in pieces of `chunk` rows (joined into one batch). */
function readers(db: Database.Database, columns: readonly ColumnName[] | undefined, extras: readonly string[], keepTimestampText: boolean, chunk = 37): [SensorReader, SensorReader, SensorReader] {
  const js = new SensorReader({ db, columns, extras, keepTimestampText, native: false });
  const native = new SensorReader({ db, columns, extras, keepTimestampText });
  const pieces = new SensorReader({ db, columns, extras, keepTimestampText, nativeChunkRows: chunk });
  assert.equal(js.native, false);
  assert.equal(native.native, true, 'the native reader is built (npm run build:native) and used');
  return [js, native, pieces];
}

test('the native column reader is built and loads into a read-only connection', (t) => {
  const dir = tempDir(t, 'edgelake-native-');
  const path = join(dir, 'sensor_data.db');
  createSensorDb(path, [goodRow(1)]);
  const db = new Database(path, { readonly: true });
  try {
    assert.equal(loadColumnsExtension(db), true);
    assert.throws(() => db.prepare("SELECT edgelake_columns('ii', id) FROM sensor_readings").get(), /layout must name one kind per value argument/);
    assert.throws(() => db.prepare("SELECT edgelake_columns('q', id) FROM sensor_readings").get(), /unknown column kind/);
  } finally {
    db.close();
  }
});

test('native and JS readers make equal batches over hostile tables: every column set, range, page, ids, empty', (t) => {
  const dir = tempDir(t, 'edgelake-native-');
  for (const seed of [1, 2, 3]) {
    const path = join(dir, `hostile-${seed}.db`);
    hostileDb(path, 900, seed);
    const db = new Database(path, { readonly: true });
    try {
      const ids = db.prepare('SELECT id FROM sensor_readings ORDER BY id').pluck().all() as number[];
      const sets: Array<[string, readonly ColumnName[] | undefined, readonly string[], boolean]> = [
        ['every column, extras, timestamp text', undefined, ['extra_a', 'extra "b" text'], true],
        ['every column, event time only', ALL, [], false],
        ['the aggregated columns', ['id', 'timestamp', 'sensor_id', 'temperature', 'humidity', 'pressure', 'vibration', 'voltage', 'anomaly_flag'], [], false],
        ['no sensor_id, no timestamp', ['id', 'model', 'latitude', 'serial_number'], [], false],
      ];
      for (const [what, columns, extras, keep] of sets) {
        const [js, native, pieces] = readers(db, columns, extras, keep);
        const same = (read: (r: SensorReader) => ColumnarBatch, how: string) => {
          const expected = plain(read(js));
          assert.deepStrictEqual(plain(read(native)), expected, `seed ${seed}, ${what}: ${how}`);
          assert.deepStrictEqual(plain(read(pieces)), expected, `seed ${seed}, ${what}: ${how}, in pieces of 37 rows`);
        };
        same((r) => r.read(-10, 5000), 'the whole table in one range');
        same((r) => r.read(-10, 5000, 2 ** 53 - 1), 'the whole table in pages');
        for (let at = 0; at < ids.length; at += 97) {
          const after = ids[at] - 1;
          same((r) => r.read(after, 50), `a page of 50 after id ${after}`);
          same((r) => r.read(after, 100, after + 100), `ids ${after}..${after + 100}`);
          same((r) => r.read(after, 500, after + 300), `ids ${after}..${after + 300}`);
        }
        const some = [ids[7], ids[3], ids[3], 424242424, ids[ids.length - 1], -5];
        same((r) => r.readIds(some), 'by ids');
        same((r) => r.read(2 ** 53 - 2, 10), 'nothing');
        same((r) => r.read(5, 10, 5), 'an empty range');
        same((r) => r.readIds([]), 'no ids');
      }
    } finally {
      db.close();
    }
  }
});

test('native and JS readers agree on a large regular table (dictionaries of many sensors, caches, batches of 20k)', (t) => {
  const dir = tempDir(t, 'edgelake-native-');
  const path = join(dir, 'sensor_data.db');
  const rows: TestRow[] = [];
  for (let i = 1; i <= 60_000; i++) {
    const r = goodRow(i, i % 2 ? '2025-08-15T10' : '2025-08-16T23');
    r.sensor_id = `S${i % 500}`;
    r.serial_number = `SN-${i % 500}`;
    if (i % 1000 === 0) r.firmware_version = `2.${i / 1000}`;
    rows.push(r);
  }
  createSensorDb(path, rows);
  const db = new Database(path, { readonly: true });
  try {
    const [js, native, pieces] = readers(db, undefined, [], true, 4096);
    for (let after = 0; after < 60_000; after += 20_000) {
      const expected = plain(js.read(after, 20_000, after + 20_000));
      assert.deepStrictEqual(plain(native.read(after, 20_000, after + 20_000)), expected, `ids after ${after}`);
      assert.deepStrictEqual(plain(pieces.read(after, 20_000, after + 20_000)), expected, `ids after ${after}, in pieces of 4096`);
    }
  } finally {
    db.close();
  }
});

test('pieces: a narrow layout is read in pieces whose BLOB stays under glibc’s mmap threshold; a wide one keeps 4096 rows', (t) => {
  const dir = tempDir(t, 'edgelake-native-');
  const path = join(dir, 'sensor_data.db');
  const rows: TestRow[] = [];
  for (let i = 1; i <= 5000; i++) rows.push({ ...goodRow(i), sensor_id: `S${String(i % 100).padStart(4, '0')}` });
  createSensorDb(path, rows);
  const db = new Database(path, { readonly: true });
  try {
    assert.equal(loadColumnsExtension(db), true);
    // What the alert detector and the aggregated stage read (timestamps as event time only).
    for (const columns of [DETECTOR_COLUMNS, ['id', 'timestamp', ...AGGREGATED_COLUMNS.filter((c) => c !== 'id')] as ColumnName[]]) {
      const plan = columnPlan(columns, [], false);
      const n = nativePieceRows(plan.layout);
      assert.ok(n >= 2048 && n < NATIVE_CHUNK_ROWS, `${plan.layout}: ${n} rows a piece`);
      // The BLOB of the first `rows` rows, as the reader asks for a piece.
      const piece = db.prepare(`SELECT edgelake_columns('${plan.layout}', ${columns.map((c) => `"${c}"`).join(', ')}) FROM sensor_readings WHERE id > 0 AND id <= ?`).pluck();
      const blob = piece.get(n) as Buffer;
      assert.ok(blob.byteLength < MMAP_THRESHOLD_BYTES, `${plan.layout}: a piece of ${n} rows is ${blob.byteLength} bytes`);
      const over = piece.get(NATIVE_CHUNK_ROWS) as Buffer;
      assert.ok(over.byteLength > MMAP_THRESHOLD_BYTES, `${plan.layout}: ${NATIVE_CHUNK_ROWS} rows are ${over.byteLength} bytes, under the threshold anyway — the rule has nothing to do`);
    }
    assert.equal(nativePieceRows(columnPlan(ALL, [], true).layout), NATIVE_CHUNK_ROWS);
    assert.equal(nativePieceRows(columnPlan(ALL, ['site', 'note'], false).layout), NATIVE_CHUNK_ROWS);
  } finally {
    db.close();
  }
});

test('EDGELAKE_READER: js reads through better-sqlite3, a bad value is a configuration error naming it', async (t) => {
  const dir = tempDir(t, 'edgelake-native-');
  const path = join(dir, 'sensor_data.db');
  createSensorDb(path, [goodRow(1), goodRow(2)]);
  const cli = (env: Record<string, string>) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'run', '--db', path, '--state-db', join(dir, `state-${Object.values(env).join('')}.db`), '--lake', join(dir, 'lake'), '--once', '--no-progress', '--node-id', 'n1'], {
      encoding: 'utf8',
      env: { ...process.env, ...env },
    });
  const bad = cli({ EDGELAKE_READER: 'fast' });
  assert.equal(bad.status, 2, bad.stderr);
  assert.match(bad.stderr, /EDGELAKE_READER must be js or native .*got "fast"/);
  for (const reader of ['js', 'native']) {
    const r = cli({ EDGELAKE_READER: reader });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr + r.stdout, /2 rows/);
  }
});
