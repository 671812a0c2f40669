/**
 * A sensor process that writes the way real field writers do, for fleet tests: live rows into
 * `sensor_readings` (the table must exist: `edgelake simulate --rows 0` creates it), with
 *  - late rows: a share of event times minutes in the past, so aggregated windows that already
 *    closed get corrections, and event time disagrees with id order;
 *  - NULL metrics and text in REAL columns (`ERR`), which statistics must exclude;
 *  - every timestamp form the contract allows (`+00:00`, `Z`, no fraction, another offset, no zone)
 *    and repeated timestamps.
 * Independent of edgelake's code: its own inserts, better-sqlite3 only.
 *
 * Run: node --import tsx test/checker/messy-writer.ts --db F [--duration-ms 10000] [--rate 100]
 *      [--sensors 6] [--seed 1] [--late-share 0.15] [--late-max-ms 720000]
 * Exits 0 after the duration or on SIGTERM/SIGINT, printing the rows written to stderr.
 */
import Database from 'better-sqlite3';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';

const { values: a } = parseArgs({
  options: {
    db: { type: 'string' },
    'duration-ms': { type: 'string', default: '10000' },
    rate: { type: 'string', default: '100' },
    sensors: { type: 'string', default: '6' },
    seed: { type: 'string', default: '1' },
    'late-share': { type: 'string', default: '0.15' },
    'late-max-ms': { type: 'string', default: '720000' },
  },
});
if (!a.db) throw new TypeError('messy-writer: --db is required');
const durationMs = Number(a['duration-ms']);
const rate = Number(a.rate);
const sensors = Number(a.sensors);
const seed = Number(a.seed);
const lateShare = Number(a['late-share']);
const lateMaxMs = Number(a['late-max-ms']);
for (const [k, v] of Object.entries({ durationMs, rate, sensors, seed, lateShare, lateMaxMs })) {
  if (!Number.isFinite(v) || v < 0) throw new RangeError(`messy-writer: ${k} must be a number ≥ 0, got ${v}`);
}

/** mulberry32: a small seeded generator, so a failing run can be replayed with its seed. */
let state = (seed * 0x9e3779b9) >>> 0 || 1;
function random(): number {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

const MEANS = [25, 50, 101325, 2.5, 12];
const SPREADS = [2, 10, 1000, 0.5, 0.5];
const DECIMALS = [2, 1, 1, 3, 3];

/** One metric value: mostly a plausible reading, sometimes NULL or text a bad writer stored. */
function metric(m: number): number | string | null {
  const r = random();
  if (r < 0.04) return null;
  if (r < 0.06) return 'ERR';
  const x = MEANS[m] + (random() * 2 - 1) * SPREADS[m];
  return Math.round(x * 10 ** DECIMALS[m]) / 10 ** DECIMALS[m];
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** The timestamp text of `ms` in one of the forms field writers use. */
function timestamp(ms: number): string {
  const r = random();
  if (r < 0.05) {
    // +05:30 local time: the same instant written with another offset.
    const d = new Date(ms + 330 * 60_000);
    return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}+05:30`;
  }
  const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  if (r < 0.15) return iso;
  if (r < 0.2) return iso.slice(0, 19) + '+00:00'; // no fraction (the instant loses its ms)
  if (r < 0.25) return iso.slice(0, 23); // no zone: UTC
  return iso.slice(0, 23) + '+00:00';
}

const COLUMNS = [
  'timestamp', 'sensor_id', 'temperature', 'humidity', 'pressure', 'vibration', 'voltage', 'status_code', 'anomaly_flag',
  'anomaly_type', 'firmware_version', 'model', 'manufacturer', 'location', 'latitude', 'longitude', 'original_timezone', 'synced',
  'serial_number', 'manufacture_date', 'deployment_type', 'installation_date', 'height_meters', 'orientation_degrees', 'instance_id', 'sensor_type',
];

const db = new Database(a.db, { fileMustExist: true });
db.pragma('busy_timeout = 10000');
db.pragma('journal_mode = WAL');
const insert = db.prepare(`INSERT INTO sensor_readings (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`);
let lastTs = '';

function row(nowMs: number): unknown[] {
  const s = Math.floor(random() * sensors);
  const late = random() < lateShare;
  const eventMs = late ? nowMs - 90_000 - Math.floor(random() * Math.max(0, lateMaxMs - 90_000)) : nowMs - Math.floor(random() * 500);
  // Now and then the very same timestamp twice: ids, not timestamps, are the cursor.
  const ts = lastTs && random() < 0.02 ? lastTs : timestamp(eventMs);
  lastTs = ts;
  const anomaly = random() < 0.03 ? 1 : 0;
  return [
    ts, `MESS_${pad(seed % 100)}_${pad(s)}`, metric(0), metric(1), metric(2), metric(3), metric(4), anomaly, anomaly,
    anomaly ? 'spike' : null, '1.0.0', 'MW-1', 'Messy Works', 'Lisbon', 38.7223, -9.1393, '+00:00', 0,
    `MW-${seed}-${s}`, '2024-01-01', 'outdoor', '2024-02-01', 2.5, 90, `i-mess-${seed}`, 'environmental',
  ];
}

const write = db.transaction((n: number, nowMs: number) => {
  for (let i = 0; i < n; i++) insert.run(...row(nowMs));
});

const stop = new AbortController();
process.once('SIGTERM', () => stop.abort());
process.once('SIGINT', () => stop.abort());
const t0 = Date.now();
let written = 0;
while (!stop.signal.aborted) {
  const elapsed = Date.now() - t0;
  const due = Math.min(Math.ceil((durationMs * rate) / 1000), Math.floor((elapsed * rate) / 1000) + 1);
  if (due > written) {
    write(due - written, Date.now());
    written = due;
  }
  if (elapsed >= durationMs) break;
  await sleep(25, undefined, { signal: stop.signal }).catch(() => undefined);
}
db.close();
process.stderr.write(`messy-writer: wrote ${written} rows into ${a.db} in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
