/**
 * A hostile sensor database for robustness tests: the contract's `sensor_readings` table with
 * thousands of malformed rows, deterministically generated from a seed. Every column in turn
 * gets NULL, values of the wrong type (text in REAL columns, REAL in TEXT columns, BLOBs),
 * invalid UTF-8, 'NaN'/'Infinity' as text, ±Infinity as REAL, huge strings (a few ≥ 1 MB), and
 * the timestamp gets many wrong shapes (empty, impossible dates, epoch numbers, extended years,
 * no zone, RFC 2822, far future, before 1970), mixed with well-formed rows.
 *
 * What the rows hold afterwards is whatever SQLite stored (type affinity turns a REAL bound to
 * a TEXT column into text, for instance): tests compare with `SELECT *`, not with this plan.
 */
import { prng } from '../../bench/synthetic.ts';
import Database from 'better-sqlite3';
import { READING_COLUMNS, SENSOR_READINGS_DDL, type ColumnName } from '../../src/source/schema.ts';

/** A value to store: a plain SQLite value, or text made of raw bytes (to store invalid UTF-8). */
export type HostileValue = string | number | bigint | Buffer | null | { readonly rawText: Buffer };

/** One planned row: the columns it sets (others NULL), and which faults were applied. */
export interface HostileRow {
  readonly values: Partial<Record<ColumnName, HostileValue>>;
  /** `<column>:<fault>` labels, for failure messages; empty for a well-formed row. */
  readonly faults: readonly string[];
}

/** Options of {@link createHostileDb}. */
export interface HostileDbOptions {
  /** Seed of the generator; the same seed gives the same database. Default 1. */
  readonly seed?: number;
  /** Malformed rows. Default 10 000. */
  readonly malformed?: number;
  /** One well-formed row before every this many malformed ones. Default 8. */
  readonly goodEvery?: number;
  /** Rows holding a string of ≥ 1 MiB (in location, temperature, timestamp, sensor_id). Default 4. */
  readonly huge?: number;
}

/** What {@link createHostileDb} wrote. */
export interface HostileDbSummary {
  readonly rows: number;
  readonly malformed: number;
  readonly good: number;
  /** Bytes of the huge strings written, in total. */
  readonly hugeBytes: number;
}

/** Event time of the first well-formed row: 2025-08-15T08:00:00Z; rows advance ~1 s each. */
export const HOSTILE_T0 = Date.UTC(2025, 7, 15, 8, 0, 0);
/** Sensors the rows are spread over. */
export const HOSTILE_SENSORS = ['HOST_000001', 'HOST_000002', 'HOST_000003', 'HOST_000004', 'HOST_000005', 'HOST_000006'];


const INVALID_UTF8 = [Buffer.from([0xc3, 0x28]), Buffer.from([0xff, 0xfe, 0x41]), Buffer.from([0xe2, 0x82]), Buffer.from([0x41, 0xed, 0xa0, 0x80, 0x42])];
const NASTY_TEXT = ['', ' ', 'NaN', 'Infinity', '-Infinity', 'null', 'undefined', '"quoted"\\back\\slash', 'tab\there\nnewline', 'nul\u0000inside', '\u2028\u2029', 'emoji 🌡️ ünïcödé', 'lone \ud800 surrogate', '{"json":true}', "'; DROP TABLE sensor_readings; --", '0x10', '25,5', '1e999x'];

/** Wrong values any column may get (type affinity decides what SQLite keeps). */
function anyColumnFaults(r: () => number): Array<[string, HostileValue]> {
  const blob = Buffer.from(Array.from({ length: 1 + Math.floor(r() * 24) }, () => Math.floor(r() * 256)));
  return [
    ['null', null],
    ['blob', blob],
    ['empty-blob', Buffer.alloc(0)],
    ['invalid-utf8', { rawText: INVALID_UTF8[Math.floor(r() * INVALID_UTF8.length)] }],
    ['nasty-text', NASTY_TEXT[Math.floor(r() * NASTY_TEXT.length)]],
    ['nan-text', 'NaN'],
    ['inf-text', 'Infinity'],
    ['-inf-text', '-Infinity'],
    ['inf', Infinity],
    ['-inf', -Infinity],
    ['real', 3.14159],
    ['big-int', 9007199254740993n],
    ['tiny', 5e-324],
  ];
}

/** Extra wrong values of REAL metric columns: out of range both ways, huge magnitudes. */
const METRIC_FAULTS: Record<string, Array<[string, HostileValue]>> = {
  temperature: [['below', -273.16], ['above', 1000], ['max', 1.7976931348623157e308]],
  humidity: [['below', -0.5], ['above', 100.01]],
  pressure: [['below', 0], ['above', 2e6]],
  vibration: [['below', -1], ['above', 51]],
  voltage: [['below', -12], ['above', 240]],
  latitude: [['below', -90.0001], ['above', 91]],
  longitude: [['below', -181], ['above', 360]],
};
const FLAG_FAULTS: Array<[string, HostileValue]> = [['two', 2], ['minus-one', -1], ['half', 0.5], ['yes', 'yes']];

/** Timestamps in wrong (or doubtful) shapes; the test derives the expected verdict from each. */
export const HOSTILE_TIMESTAMPS: readonly string[] = [
  '',
  ' ',
  '2025-13-45',
  '2025-13-45T10:00:00Z',
  '2025-08-15T25:00:00Z',
  '2025-08-15T10:61:00Z',
  '2025-00-10T00:00:00Z',
  '2025-02-30T00:00:00Z',
  '2025-04-31T12:00:00+00:00',
  '1723708800',
  '1723708800000',
  '1723708800.5',
  '+275760-09-13T00:00:00.000Z',
  '-000001-01-01T00:00:00Z',
  '2025-08-15 10:00:00',
  '2025-08-15T10:00:00',
  '2025-08-15',
  'Fri, 15 Aug 2025 10:00:00 +0000',
  'Friday, August 15, 2025',
  '15/08/2025 10:00',
  '08/15/2025',
  '2025-08-15T10:00:00+0000',
  '2025-08-15T10:00:00Zjunk',
  '2025-8-15T10:00:00Z',
  'now',
  '10:00',
  '2999-01-01T00:00:00Z',
  '9999-12-31T23:59:59.999Z',
  '2100-06-01T12:00:00.000+00:00',
  '1969-12-31T23:59:59.999Z',
  '1900-01-01T00:00:00Z',
  '0000-01-01T00:00:00Z',
  'NaN',
  'Infinity',
];

/** A well-formed row number `n` (ids are assigned by SQLite in insertion order). */
export function wellFormedRow(n: number, r: () => number): Partial<Record<ColumnName, HostileValue>> {
  const ms = HOSTILE_T0 + n * 1000 + Math.floor(r() * 1000);
  const iso = new Date(ms).toISOString();
  // Contract §1: +00:00 with milliseconds; other writers use Z or no fraction.
  const ts = n % 3 === 0 ? iso.replace('Z', '+00:00') : n % 3 === 1 ? iso : iso.replace(/\.\d{3}Z$/, 'Z');
  return {
    timestamp: ts,
    sensor_id: HOSTILE_SENSORS[n % HOSTILE_SENSORS.length],
    temperature: 20 + r() * 10,
    humidity: 40 + r() * 20,
    pressure: 100325 + r() * 2000,
    vibration: 2 + r(),
    voltage: 11.5 + r(),
    status_code: 0,
    anomaly_flag: 0,
    anomaly_type: null,
    firmware_version: '1.4.2',
    model: 'EnvMonitor-3000',
    manufacturer: 'SensorTech',
    location: 'Berlin',
    latitude: 52.52 + r() / 100,
    longitude: 13.405 + r() / 100,
    original_timezone: '+02:00',
    synced: n % 2,
    serial_number: `ST-${n}`,
    manufacture_date: '2023-01-01',
    deployment_type: 'indoor',
    installation_date: '2023-02-01',
    height_meters: 2.5,
    orientation_degrees: 90,
    instance_id: 'i-hostile',
    sensor_type: 'environmental',
  };
}

/** A deterministic string of `bytes` ASCII letters (not very compressible, like real junk). */
export function hugeString(bytes: number, r: () => number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  const chunk = Array.from({ length: 4096 }, () => alphabet[Math.floor(r() * alphabet.length)]).join('');
  return chunk.repeat(Math.ceil(bytes / chunk.length)).slice(0, bytes);
}

/**
 * Plans the rows: malformed row i applies fault i of the cycle over (column × fault) — every
 * column gets every fault — and every 5th malformed row adds two random faults more.
 */
export function planHostileRows(opts: HostileDbOptions = {}): HostileRow[] {
  const r = prng(opts.seed ?? 1);
  const malformed = opts.malformed ?? 10_000;
  const goodEvery = opts.goodEvery ?? 8;
  const columns = READING_COLUMNS.map((c) => c.name).filter((c) => c !== 'id');
  const catalog = (col: ColumnName): Array<[string, HostileValue]> => {
    const list = anyColumnFaults(r);
    if (METRIC_FAULTS[col]) list.push(...METRIC_FAULTS[col]);
    if (col === 'status_code' || col === 'anomaly_flag' || col === 'synced') list.push(...FLAG_FAULTS);
    if (col === 'timestamp') list.push(...HOSTILE_TIMESTAMPS.map((t, i): [string, HostileValue] => [`shape-${i}`, t]));
    return list;
  };
  // The fixed cycle: every (column, fault) pair once, in column order.
  const cycle: Array<[ColumnName, number]> = [];
  for (const col of columns) for (let f = 0; f < catalog(col).length; f++) cycle.push([col, f]);

  const rows: HostileRow[] = [];
  let n = 0;
  for (let i = 0; i < malformed; i++) {
    if (i % goodEvery === 0) rows.push({ values: wellFormedRow(n++, r), faults: [] });
    const values = wellFormedRow(n++, r);
    const faults: string[] = [];
    const apply = (col: ColumnName, f: number) => {
      const [name, v] = catalog(col)[f];
      values[col] = v;
      faults.push(`${col}:${name}`);
    };
    const [col, f] = cycle[i % cycle.length];
    apply(col, f);
    if (i % 5 === 4) {
      for (let k = 0; k < 2; k++) {
        const c = columns[Math.floor(r() * columns.length)];
        apply(c, Math.floor(r() * catalog(c).length));
      }
    }
    // A status/flag pair that disagrees, and a collapsed supply under vibration, now and then.
    if (i % 97 === 13) {
      values.status_code = 1;
      faults.push('status_code:disagrees-with-flag');
    }
    if (i % 89 === 7) {
      values.voltage = 5;
      values.vibration = 9;
      faults.push('voltage:collapse-with-vibration');
    }
    rows.push({ values, faults });
  }
  const huge = opts.huge ?? 4;
  const hugeColumns: ColumnName[] = ['location', 'temperature', 'timestamp', 'sensor_id'];
  for (let h = 0; h < huge; h++) {
    const target = rows[Math.floor(rows.length * ((h + 0.5) / huge))];
    const col = hugeColumns[h % hugeColumns.length];
    // The timestamp one starts like a valid time: only the full text shows it is garbage.
    const prefix = col === 'timestamp' ? '2025-08-15T10:00:00Z' : '';
    (target.values as Record<string, HostileValue>)[col] = prefix + hugeString((1 << 20) + 17 * h, r);
    (target.faults as string[]).push(`${col}:huge`);
  }
  return rows;
}

/** SQL placeholder of a value: raw-byte text goes through CAST(blob AS TEXT), which keeps the bytes. */
const placeholder = (v: HostileValue) => (v !== null && typeof v === 'object' && 'rawText' in v ? 'CAST(? AS TEXT)' : '?');
const bindable = (v: HostileValue) => (v !== null && typeof v === 'object' && 'rawText' in v ? v.rawText : v);

/** Creates `path` (contract DDL, WAL) holding the rows of {@link planHostileRows}. */
export function createHostileDb(path: string, opts: HostileDbOptions = {}): HostileDbSummary {
  const rows = planHostileRows(opts);
  const db = new Database(path);
  let hugeBytes = 0;
  try {
    db.pragma('journal_mode = WAL');
    db.exec(SENSOR_READINGS_DDL);
    const cache = new Map<string, Database.Statement>();
    db.transaction(() => {
      for (const row of rows) {
        const cols = Object.keys(row.values) as ColumnName[];
        const vals = cols.map((c) => row.values[c] as HostileValue);
        const sql = `INSERT INTO sensor_readings (${cols.map((c) => `"${c}"`).join(', ')}) VALUES (${vals.map(placeholder).join(', ')})`;
        let stmt = cache.get(sql);
        if (!stmt) cache.set(sql, (stmt = db.prepare(sql)));
        stmt.run(...vals.map(bindable));
        for (const v of vals) if (typeof v === 'string' && v.length >= 1 << 20) hugeBytes += v.length;
      }
    })();
  } finally {
    db.close();
  }
  const good = rows.filter((r) => r.faults.length === 0).length;
  return { rows: rows.length, malformed: rows.length - good, good, hugeBytes };
}
