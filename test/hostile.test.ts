/**
 * Hostile input: a sensor database of ≥ 10 000 malformed rows (test/helpers/hostile-db.ts) runs
 * through every stage with the real CLI (`run --once --type T`, one lake and one state database
 * each, alerts on). No stage may crash, and every count must reconcile with the source: each row
 * lands once, as stored (ingestion) or flagged by the rule an independent oracle derives from the
 * stored value (validated, enriched), and the aggregated windows account for every row.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRunOptions } from '../src/config.ts';
import { DEFAULT_LIMITS } from '../src/kernels/types.ts';
import { createLogger } from '../src/log.ts';
import { runPipeline } from '../src/pipeline/run.ts';
import { METRICS } from '../src/source/schema.ts';
import { describeResult, runCli, type CliResult } from './helpers/cli.ts';
import { createHostileDb, type HostileDbSummary } from './helpers/hostile-db.ts';
import { readLake } from './helpers/lake.ts';
import { createSensorDb, goodRow, query } from './helpers/sensor-db.ts';
import { tempDir } from './helpers/tmp.ts';

type Rec = Record<string, unknown>;
type Row = Record<string, unknown> & { id: number };
const STAGES = ['ingestion', 'validated', 'enriched', 'aggregated'] as const;
type Stage = (typeof STAGES)[number];
const bucket = (s: string) => `expanso-databricks-${s}-us-west-2`;

let dir = '';
let dbPath = '';
let summary: HostileDbSummary;
let source: Row[] = [];
const results = new Map<Stage, CliResult>();
const lakeOf = (s: Stage) => join(dir, `lake-${s}`);
const stateOf = (s: Stage) => join(dir, `state-${s}.db`);

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'edgelake-hostile-'));
  dbPath = join(dir, 'hostile.db');
  summary = createHostileDb(dbPath, { seed: 20250815 });
  // Each stage gets its own state database, so each follows its own live cursor over the same rows.
  // Batches of ≥ 8192 rows are read by worker threads, smaller ones on the main thread: ingestion
  // and validated take the first path for most rows, enriched and aggregated the second.
  const batchSize: Record<Stage, string> = { ingestion: '10000', validated: '10000', enriched: '2500', aggregated: '2500' };
  const runs = STAGES.map(async (type) => {
    const args = ['run', '--once', '--db', dbPath, '--state-db', stateOf(type), '--lake', lakeOf(type), '--type', type];
    results.set(type, await runCli([...args, '--batch-size', batchSize[type], '--node-id', 'hostile', '--no-progress'], { timeoutMs: 55_000 }));
  });
  await Promise.all(runs);
  source = query<Row>(dbPath, 'SELECT * FROM sensor_readings ORDER BY id');
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** The source value as ingestion must write it: JSON cannot hold ±Infinity, BLOBs are base64. */
function asStored(v: unknown): unknown {
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (Buffer.isBuffer(v)) return { $base64: v.toString('base64') };
  return v;
}

/** `_validation.errors[].value` of a stored value. */
function asScalar(v: unknown): unknown {
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (Buffer.isBuffer(v)) return 'base64:' + v.toString('base64');
  return v;
}

const recordCache = new Map<Stage, Map<number, Rec>>();

/** Every record of a stage's bucket, by id (read once); fails on a record that appears twice. */
function recordsById(stage: Stage): Map<number, Rec> {
  const cached = recordCache.get(stage);
  if (cached) return cached;
  const out = new Map<number, Rec>();
  for (const o of readLake(lakeOf(stage), bucket(stage))) {
    for (const r of o.records) {
      assert.ok(!out.has(r.id as number), `${stage}: id ${r.id} written twice (second time in ${o.key})`);
      out.set(r.id as number, r);
    }
  }
  recordCache.set(stage, out);
  return out;
}

/** Collects mismatches and fails once with the first few (an 11 000-row table makes long reports). */
function mismatches() {
  const list: string[] = [];
  return {
    add: (m: string) => void list.push(m),
    check(what: string) {
      assert.equal(list.length, 0, `${list.length} ${what} mismatches, first ones:\n${list.slice(0, 8).join('\n')}`);
    },
  };
}

// ---- The oracle: the verdict of a row, derived from the stored values alone -------------------

/** An ISO-8601 date-time with zone, optional fraction: the shapes the contract names. */
const STRICT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;
/** ISO-like but doubtful (no zone, date only, space separator, …): either verdict is defensible. */
const ISO_LIKE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?\s*(Z|[+-](\d{2}):\d{2})?\s*$/;
/** Days of month `m` (1-12) of year `y` (any year 0-9999; Date.UTC would map 0-99 to 1900-1999). */
function daysIn(y: number, m: number): number {
  const t = new Date(0);
  t.setUTCFullYear(y, m, 0);
  return t.getUTCDate();
}

/** What a timestamp deserves: a rule, `valid` (with its instant), or `unclear` (doubtful shapes, impossible calendar days). */
type TsVerdict = { rule: string } | { valid: number } | { unclear: 'shape' | 'calendar' };
function timestampVerdict(v: unknown, nowMs: number): TsVerdict {
  if (v === null) return { rule: 'required' };
  if (typeof v !== 'string') return { rule: 'type' };
  const m = ISO_LIKE.exec(v);
  if (!m) return { rule: 'format' };
  const [y, mo, d, h = 0, mi = 0, s = 0] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((x) => (x === undefined ? undefined : Number(x))) as number[];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59 || Number(m[8] ?? 0) > 23) return { rule: 'format' };
  if (d > daysIn(y, mo)) return { unclear: 'calendar' };
  const strict = STRICT.exec(v);
  if (!strict) return { unclear: 'shape' };
  const frac = Number((strict[7] ?? '').padEnd(3, '0').slice(0, 3));
  const zone = strict[8] === 'Z' ? 0 : (strict[8][0] === '-' ? -1 : 1) * (Number(strict[8].slice(1, 3)) * 60 + Number(strict[8].slice(4, 6))) * 60_000;
  const t = new Date(Date.UTC(2000, mo - 1, d, h, mi, s, frac));
  t.setUTCFullYear(y, mo - 1, d);
  const ms = t.getTime() - zone;
  if (ms > nowMs + DEFAULT_LIMITS.maxFutureMs) return { rule: 'not_future' };
  if (ms < DEFAULT_LIMITS.minEventMs) return { rule: 'min_time' };
  return { valid: ms };
}

const isNum = (v: unknown): v is number => typeof v === 'number';
const wrongType = (v: unknown) => v !== null && !isNum(v);
const NON_METRIC_NUMERIC = ['height_meters', 'orientation_degrees'];
const TEXT_COLUMNS = ['anomaly_type', 'firmware_version', 'model', 'manufacturer', 'location', 'original_timezone', 'serial_number', 'manufacture_date', 'deployment_type', 'installation_date', 'instance_id', 'sensor_type'];

/** The `field:rule` pairs (with values) a row must be flagged with, except the timestamp's. */
function expectedIssues(row: Row): Array<{ key: string; value: unknown }> {
  const out: Array<{ key: string; value: unknown }> = [];
  const add = (field: string, rule: string, value: unknown) => out.push({ key: `${field}:${rule}`, value });
  METRICS.forEach((m, i) => {
    const v = row[m];
    const [lo, hi] = DEFAULT_LIMITS.ranges[i];
    if (v === null) add(m, 'required', null);
    else if (!isNum(v)) add(m, 'type', asScalar(v));
    else if (v < lo || v > hi || !Number.isFinite(v)) add(m, 'range', asScalar(v));
  });
  for (const [f, max] of [['latitude', 90], ['longitude', 180]] as const) {
    const v = row[f];
    if (v === null) add(f, 'required', null);
    else if (!isNum(v)) add(f, 'type', asScalar(v));
    else if (!(v >= -max && v <= max)) add(f, 'gps_range', asScalar(v));
  }
  const { voltage: volt, vibration: vib, status_code: st, anomaly_flag: fl } = row;
  if (isNum(volt) && isNum(vib) && volt < DEFAULT_LIMITS.collapseVoltage && vib > DEFAULT_LIMITS.collapseVibration) add('voltage', 'voltage_collapse_with_vibration', asScalar(volt));
  for (const f of ['status_code', 'anomaly_flag', 'synced']) {
    const v = row[f];
    if (wrongType(v)) add(f, 'type', asScalar(v));
    else if (isNum(v) && v !== 0 && v !== 1) add(f, 'flag_domain', asScalar(v));
  }
  if ((st === 0 || st === 1) && (fl === 0 || fl === 1) && st !== fl) add('status_code', 'status_flag_consistency', st);
  if (row.sensor_id === null) add('sensor_id', 'required', null);
  else if (typeof row.sensor_id !== 'string') add('sensor_id', 'type', asScalar(row.sensor_id));
  for (const f of NON_METRIC_NUMERIC) if (wrongType(row[f])) add(f, 'type', asScalar(row[f]));
  for (const f of TEXT_COLUMNS) if (row[f] !== null && typeof row[f] !== 'string') add(f, 'type', asScalar(row[f]));
  return out;
}

/** Typed value of a column after validation (contract §5): numbers finite or null, flags as booleans. */
function typedValue(col: string, v: unknown): unknown {
  if (col === 'anomaly_flag' || col === 'synced') return v === 1 ? true : v === 0 ? false : null;
  if (col === 'status_code') return isNum(v) && Number.isInteger(v) ? v : null;
  if (TEXT_COLUMNS.includes(col) || col === 'sensor_id') return typeof v === 'string' ? v : null;
  return isNum(v) && Number.isFinite(v) ? v : null;
}

interface ValidationTally {
  flagged: number;
  unclear: number;
  byRule: Map<string, number>;
}

/** Checks `_validation` and the typed columns of every record of a validated/enriched lake against the oracle. */
function checkValidation(stage: 'validated' | 'enriched'): ValidationTally {
  const records = recordsById(stage);
  assert.equal(records.size, source.length, `${stage}: every row once`);
  const nowMs = Date.now();
  const bad = mismatches();
  const tally: ValidationTally = { flagged: 0, unclear: 0, byRule: new Map() };
  for (const row of source) {
    const rec = records.get(row.id);
    if (!rec) {
      bad.add(`id ${row.id}: missing`);
      continue;
    }
    const v = rec._validation as { valid: boolean; errors: Array<{ field: string; rule: string; value: unknown }> };
    if (!v.valid) tally.flagged++;
    for (const e of v.errors) tally.byRule.set(e.rule, (tally.byRule.get(e.rule) ?? 0) + 1);
    const expected = expectedIssues(row);
    const ts = timestampVerdict(row.timestamp, nowMs);
    const actualTs = v.errors.filter((e) => e.field === 'timestamp');
    const actualOther = v.errors.filter((e) => e.field !== 'timestamp').map((e) => `${e.field}:${e.rule}`).sort();
    const where = `id ${row.id} (timestamp ${JSON.stringify(String(row.timestamp).slice(0, 40))})`;
    if (JSON.stringify(actualOther) !== JSON.stringify(expected.map((e) => e.key).sort())) {
      bad.add(`${where}: flagged ${JSON.stringify(actualOther)}, expected ${JSON.stringify(expected.map((e) => e.key).sort())}`);
    }
    for (const e of expected) {
      const got = v.errors.find((x) => `${x.field}:${x.rule}` === e.key);
      if (got && JSON.stringify(got.value) !== JSON.stringify(e.value)) bad.add(`${where}: ${e.key} value ${JSON.stringify(got.value)?.slice(0, 60)}, expected ${JSON.stringify(e.value)?.slice(0, 60)}`);
    }
    if ('rule' in ts) {
      const ok = actualTs.length === 1 && actualTs[0].rule === ts.rule && JSON.stringify(actualTs[0].value) === JSON.stringify(ts.rule === 'required' ? null : asScalar(row.timestamp));
      if (!ok) bad.add(`${where}: timestamp flagged ${JSON.stringify(actualTs.map((e) => e.rule))}, expected ["${ts.rule}"]`);
    } else if ('valid' in ts) {
      if (actualTs.length) bad.add(`${where}: a valid timestamp flagged ${JSON.stringify(actualTs.map((e) => e.rule))}`);
    } else tally.unclear++;
    if (v.valid !== (v.errors.length === 0)) bad.add(`${where}: valid=${v.valid} with ${v.errors.length} errors`);
    // Typed columns: an ISO-8601 UTC time for every parseable timestamp, numbers as numbers.
    if ('valid' in ts && rec.timestamp !== new Date(ts.valid).toISOString()) bad.add(`${where}: typed timestamp ${rec.timestamp}, expected ${new Date(ts.valid).toISOString()}`);
    if ('rule' in ts && ['required', 'type', 'format'].includes(ts.rule) && rec.timestamp !== null) bad.add(`${where}: unparseable timestamp typed as ${rec.timestamp}`);
    for (const col of [...METRICS, 'status_code', 'anomaly_flag', 'synced', 'sensor_id', ...TEXT_COLUMNS, ...NON_METRIC_NUMERIC]) {
      if (JSON.stringify(rec[col]) !== JSON.stringify(typedValue(col, row[col]))) bad.add(`${where}: typed ${col} ${JSON.stringify(rec[col])?.slice(0, 40)}, expected ${JSON.stringify(typedValue(col, row[col]))?.slice(0, 40)}`);
    }
  }
  bad.check(`${stage} verdict`);
  return tally;
}

/** Sums of the execution history of a stage's state database. */
function history(stage: Stage): { recordsIn: number; invalid: number; byRule: Map<string, number>; details: Rec[] } {
  const rows = query<{ records_in: number; invalid_count: number | null; details: string | null }>(
    stateOf(stage),
    'SELECT records_in, invalid_count, details FROM pipeline_executions WHERE pipeline_type = ? ORDER BY id',
    stage,
  );
  const byRule = new Map<string, number>();
  const details = rows.map((r) => (r.details ? (JSON.parse(r.details) as Rec) : {}));
  for (const d of details) {
    const rules = (d.rejected as { by_rule?: Record<string, number> } | undefined)?.by_rule ?? {};
    for (const [k, n] of Object.entries(rules)) byRule.set(k, (byRule.get(k) ?? 0) + n);
  }
  return { recordsIn: rows.reduce((s, r) => s + r.records_in, 0), invalid: rows.reduce((s, r) => s + (r.invalid_count ?? 0), 0), byRule, details };
}

// ---- The tests --------------------------------------------------------------------------------

describe('a sensor database of 10 000+ malformed rows', () => {
  test('holds what the generator promised: ≥ 10 000 malformed rows, good rows, and strings of ≥ 1 MiB', () => {
    assert.ok(summary.malformed >= 10_000, `malformed rows: ${summary.malformed}`);
    assert.ok(summary.good > 1000, `good rows: ${summary.good}`);
    assert.equal(source.length, summary.rows);
    const huge = source.filter((r) => Object.values(r).some((v) => typeof v === 'string' && v.length >= 1 << 20));
    assert.ok(huge.length >= 4, `rows with a ≥ 1 MiB string: ${huge.length}`);
    const types = new Set(source.flatMap((r) => Object.values(r).map((v) => (v === null ? 'null' : Buffer.isBuffer(v) ? 'blob' : typeof v))));
    assert.deepEqual([...types].sort(), ['blob', 'null', 'number', 'string']);
  });

  test('every stage finishes with exit 0 and no unexpected failure', () => {
    for (const stage of STAGES) {
      const r = results.get(stage)!;
      assert.equal(r.code, 0, `${stage}: ${describeResult(r).slice(0, 3000)}`);
      assert.doesNotMatch(r.stderr, /unexpected failure|RangeError|TypeError/, stage);
      // Alerts run beside the stage; a failure there is logged, not fatal, so it is checked here.
      assert.doesNotMatch(r.stderr, /^edgelake error:/m, `${stage}: ${r.stderr.slice(0, 2000)}`);
      assert.equal(history(stage).recordsIn, source.length, `${stage}: records_in over the history`);
    }
  });

  test('ingestion lands every row exactly once with every column as SQLite stored it', () => {
    const records = recordsById('ingestion');
    assert.equal(records.size, source.length);
    const bad = mismatches();
    for (const row of source) {
      const rec = records.get(row.id);
      if (!rec) {
        bad.add(`id ${row.id}: missing`);
        continue;
      }
      for (const [col, v] of Object.entries(row)) {
        const want = asStored(v);
        if (JSON.stringify(rec[col]) !== JSON.stringify(want)) bad.add(`id ${row.id} ${col}: wrote ${JSON.stringify(rec[col])?.slice(0, 60)}, stored ${JSON.stringify(want)?.slice(0, 60)}`);
      }
      if ((rec._pipeline as Rec)?.type !== 'ingestion') bad.add(`id ${row.id}: _pipeline ${JSON.stringify(rec._pipeline)}`);
    }
    bad.check('ingestion column');
  });

  for (const stage of ['validated', 'enriched'] as const) {
    test(`${stage} keeps every row once, flags each bad row with the rule its stored values call for, and its history counts the same`, () => {
      const tally = checkValidation(stage);
      const h = history(stage);
      assert.equal(h.invalid, tally.flagged, `${stage}: invalid_count over the history vs flagged records`);
      assert.deepEqual(new Map([...h.byRule].sort()), new Map([...tally.byRule].sort()), `${stage}: details.rejected.by_rule vs the records`);
      // Clear-cut rows dominate: the doubtful timestamp shapes are a small minority.
      assert.ok(tally.flagged > summary.malformed * 0.5 && tally.unclear < source.length * 0.05, JSON.stringify({ ...tally, byRule: undefined }));
    });
  }

  test('enriched records carry lineage and never the true coordinates', () => {
    const bad = mismatches();
    const records = recordsById('enriched');
    for (const row of source) {
      const rec = records.get(row.id)!;
      if ((rec._lineage as Rec)?.source_row_id !== row.id) bad.add(`id ${row.id}: _lineage ${JSON.stringify(rec._lineage)}`);
      if ('original_latitude' in rec) bad.add(`id ${row.id}: original_latitude without --keep-original-gps`);
      if (isNum(row.latitude) && Number.isFinite(row.latitude) && rec.latitude === row.latitude) bad.add(`id ${row.id}: true latitude ${row.latitude} written`);
      if (isNum(row.longitude) && Number.isFinite(row.longitude) && rec.longitude === row.longitude) bad.add(`id ${row.id}: true longitude ${row.longitude} written`);
    }
    bad.check('enriched privacy');
  });

  test('aggregated windows account for every row: on-time counts + late rows + rows without event time = rows', () => {
    const records = readLake(lakeOf('aggregated'), bucket('aggregated')).flatMap((o) => o.records);
    const firstEmissions = records.filter((r) => r.is_correction === false);
    const onTime = firstEmissions.reduce((s, r) => s + (r.record_count as number), 0);
    const h = history('aggregated');
    const late = h.details.reduce((s, d) => s + ((d.late_rows as number) ?? 0), 0);
    const noTime = h.details.reduce((s, d) => s + ((d.rows_without_event_time as number) ?? 0), 0);
    assert.equal(onTime + late + noTime, source.length, JSON.stringify({ onTime, late, noTime, rows: source.length }));
    // The rows without event time are exactly the unparseable timestamps (doubtful shapes either way).
    const nowMs = Date.now();
    const verdicts = source.map((r) => timestampVerdict(r.timestamp, nowMs));
    const surely = verdicts.filter((v) => 'rule' in v && ['required', 'type', 'format'].includes(v.rule)).length;
    const doubtful = verdicts.filter((v) => 'unclear' in v).length;
    assert.ok(noTime >= surely && noTime <= surely + doubtful, JSON.stringify({ noTime, surely, doubtful }));
    const ids = new Set(source.map((r) => r.id));
    for (const r of records) {
      assert.ok((r.record_count as number) > 0 && ids.has(r.first_id as number) && ids.has(r.last_id as number), JSON.stringify(r).slice(0, 300));
    }
  });

  test('alerts name real rows, each at most once per lake', () => {
    const ids = new Set(source.map((r) => r.id));
    for (const stage of STAGES) {
      const seen = new Set<number>();
      for (const o of readLake(lakeOf(stage), bucket('emergency'))) {
        for (const a of o.records) {
          assert.ok(ids.has(a.id as number), `${stage}: alert for unknown id ${a.id}`);
          assert.ok(!seen.has(a.id as number), `${stage}: alert for id ${a.id} twice`);
          seen.add(a.id as number);
        }
      }
    }
  });

  test('an impossible calendar day (2025-02-30) is flagged as a timestamp format error, not shifted into March', () => {
    const validated = recordsById('validated');
    const impossible = source.filter((r) => {
      const v = timestampVerdict(r.timestamp, Date.now());
      return 'unclear' in v && v.unclear === 'calendar';
    });
    assert.ok(impossible.length > 0);
    for (const row of impossible) {
      const errors = (validated.get(row.id)!._validation as { errors: Array<{ field: string; rule: string }> }).errors;
      assert.ok(errors.some((e) => e.field === 'timestamp' && e.rule === 'format'), `id ${row.id} ${row.timestamp}: ${JSON.stringify(errors)}`);
    }
  });
});

test(
  'one reading stamped far in the future does not turn every later on-time reading into a late correction',
  async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'future.db');
    const rows = Array.from({ length: 300 }, (_, i) => goodRow(i + 1, '2025-08-15T10', i * 6));
    rows[99] = { ...rows[99], timestamp: '2999-01-01T00:00:00Z' };
    createSensorDb(db, rows);
    const options = parseRunOptions({ db, lake: join(dir, 'lake'), once: true, type: 'aggregated', batchSize: 100, alerts: false, progress: false });
    await runPipeline(options, { log: createLogger({ quiet: true }) });
    const details = query<{ details: string }>(db, "SELECT details FROM pipeline_executions WHERE pipeline_type = 'aggregated'").map((r) => JSON.parse(r.details) as Rec);
    const late = details.reduce((s, d) => s + ((d.late_rows as number) ?? 0), 0);
    assert.equal(late, 0, `late rows after the far-future reading: ${late} of 200 in-order readings`);
  },
);

