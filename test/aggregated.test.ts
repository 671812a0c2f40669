import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { parseRunOptions } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { runPipeline } from '../src/pipeline/run.ts';
import { priorityName } from '../src/alerts/priority.ts';
import { DEFAULT_THRESHOLDS, emptyPartial } from '../src/kernels/types.ts';
import { encodeWindow } from '../src/stages/aggregated.ts';
import { AggregatedRecord, PipelineMetricsRecord } from '../src/schema/records.ts';
import { METRICS } from '../src/source/schema.ts';
import { simulate } from '../src/simulate/index.ts';
import { spawnCli, runCli, describeResult } from './helpers/cli.ts';
import { readLake } from './helpers/lake.ts';
import { checkpointId, createSensorDb, goodRow, maxId, query, type TestRow } from './helpers/sensor-db.ts';
import { tempDir } from './helpers/tmp.ts';

const NODE = 'edge-agg-1';
const AGG_BUCKET = 'expanso-databricks-aggregated-us-west-2';
const WINDOW = 300_000;
const T0 = Date.UTC(2025, 7, 15, 10, 0, 0);

type Rec = Record<string, unknown>;

function runOnce(db: string, lake: string, extra: Record<string, unknown> = {}) {
  const options = parseRunOptions({ db, lake, once: true, nodeId: NODE, progress: false, type: 'aggregated', alerts: false, ...extra });
  return runPipeline(options, { log: createLogger({ quiet: true }) });
}

/** Every aggregated record, each checked against the schema of src/schema/records.ts. */
function aggregated(lake: string): Rec[] {
  const out: Rec[] = [];
  for (const o of readLake(lake, AGG_BUCKET)) {
    const m = /^sensor_readings\/year=\d{4}\/month=\d\d\/day=\d\d\/hour=\d\d\/(.+)_(\d+)_(\d{12})-(\d{12})\.jsonl\.gz$/.exec(o.key);
    assert.ok(m, `aggregated key does not follow {node}_{window_start_s}_{first}-{last}: ${o.key}`);
    const ids = o.records.flatMap((r) => [r.first_id as number, r.last_id as number]);
    assert.equal(Number(m[3]), Math.min(...ids), o.key);
    assert.equal(Number(m[4]), Math.max(...ids), o.key);
    for (const r of o.records) {
      const parsed = AggregatedRecord.safeParse(r);
      assert.ok(parsed.success, `${o.key}: ${parsed.success ? '' : parsed.error.message}\n${JSON.stringify(r)}`);
      assert.equal(Date.parse(r.window_start as string) / 1000, Number(m[2]), o.key);
      out.push(r);
    }
  }
  return out;
}

/** Independent recomputation from the source rows: two-pass mean and population stddev per (sensor, window). */
function recompute(db: string): Map<string, Rec> {
  const rows = query<Rec & { ev: number | null }>(db, "SELECT *, unixepoch(timestamp, 'subsec') * 1000 AS ev FROM sensor_readings ORDER BY id");
  const groups = new Map<string, Array<Rec & { ev: number | null }>>();
  for (const r of rows) {
    if (r.ev === null) continue;
    const start = Math.floor(Math.round(r.ev) / WINDOW) * WINDOW;
    const k = `${r.sensor_id}|${new Date(start).toISOString()}`;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(r);
  }
  const out = new Map<string, Rec>();
  for (const [k, g] of groups) {
    const rec: Rec = { record_count: g.length, first_id: Math.min(...g.map((r) => r.id as number)), last_id: Math.max(...g.map((r) => r.id as number)) };
    for (const m of METRICS) {
      const xs = g.map((r) => r[m]).filter((v): v is number => typeof v === 'number');
      const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
      rec[`${m}_count`] = xs.length;
      rec[`${m}_min`] = xs.length ? Math.min(...xs) : null;
      rec[`${m}_max`] = xs.length ? Math.max(...xs) : null;
      rec[`${m}_avg`] = xs.length ? mean : null;
      rec[`${m}_stddev`] = xs.length ? Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length) : null;
    }
    out.set(k, rec);
  }
  return out;
}

function assertWindowsMatch(records: Rec[], expected: Map<string, Rec>): void {
  const seen = new Set<string>();
  for (const r of records) {
    assert.equal(r.is_correction, false);
    const k = `${r.sensor_id}|${r.window_start}`;
    assert.ok(!seen.has(k), `window ${k} emitted twice`);
    seen.add(k);
    const e = expected.get(k);
    assert.ok(e, `window ${k} has no source rows`);
    for (const [f, v] of Object.entries(e)) {
      if (typeof v === 'number' && typeof r[f] === 'number' && !Number.isInteger(v)) {
        assert.ok(Math.abs((r[f] as number) - v) <= 1e-9 * Math.max(1, Math.abs(v)), `${k} ${f}: ${r[f]} vs ${v}`);
      } else assert.equal(r[f], v, `${k} ${f}`);
    }
  }
  assert.equal(seen.size, expected.size, 'every (sensor, window) with rows is emitted');
}

/** Random rows: 6 sensors, ~1 reading/s, timestamps jittered up to 20 s (< lateness), NULL and text metrics. */
function randomRows(n: number, seed: number): TestRow[] {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const rows: TestRow[] = [];
  for (let i = 0; i < n; i++) {
    const ms = T0 + i * 1000 + Math.floor(rnd() * 20_000);
    const r: TestRow = { ...goodRow(i + 1), timestamp: new Date(ms).toISOString().replace('Z', '+00:00'), sensor_id: `S${Math.floor(rnd() * 6)}` };
    for (const m of METRICS) r[m] = (r[m] as number) + (rnd() - 0.5) * 4;
    if (rnd() < 0.05) r.temperature = null;
    if (rnd() < 0.02) r.humidity = 'n/a';
    if (rnd() < 0.01) r.anomaly_flag = 1;
    rows.push(r);
  }
  // A sensor whose voltage is always NULL: its voltage statistics must be null with count 0.
  for (let i = 0; i < 20; i++) rows.push({ ...goodRow(n + i + 1), timestamp: new Date(T0 + (n - 10) * 1000 + i * 100).toISOString(), sensor_id: 'NOVOLT', voltage: null });
  return rows;
}

describe('aggregated stage', () => {
  test('windows equal an independent recomputation from the source rows, also when split over many small batches', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 's.db');
    createSensorDb(db, randomRows(3000, 7));
    await runOnce(db, join(dir, 'big'));
    await runOnce(db, join(dir, 'small'), { batchSize: 37, stateDb: join(dir, 'state2.db') });
    const expected = recompute(db);
    const big = aggregated(join(dir, 'big'));
    const small = aggregated(join(dir, 'small'));
    assertWindowsMatch(big, expected);
    assertWindowsMatch(small, expected);
    const nov = big.filter((r) => r.sensor_id === 'NOVOLT');
    assert.ok(nov.length > 0 && nov.every((r) => r.voltage_count === 0 && r.voltage_avg === null && r.voltage_stddev === null));
    // Data volume: recorded per batch in the execution history and in pipeline_metrics.
    const ex = query<{ raw_bytes: number; bytes_written: number }>(db, "SELECT raw_bytes, bytes_written FROM pipeline_executions WHERE pipeline_type = 'aggregated'");
    assert.ok(ex.length > 0 && ex.every((e) => e.raw_bytes >= 0));
  });

  test('a late row for an emitted window is counted in late_rows and restated by a correction record', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 's.db');
    const rows: TestRow[] = [];
    for (let i = 0; i < 40; i++) rows.push({ ...goodRow(i + 1), sensor_id: 'A', timestamp: new Date(T0 + i * 30_000).toISOString() });
    rows.push({ ...goodRow(41), sensor_id: 'A', timestamp: new Date(T0 + 61_000).toISOString(), temperature: 99 }); // 19 min late
    createSensorDb(db, rows);
    await runOnce(db, join(dir, 'lake'), { batchSize: 10 });
    const recs = aggregated(join(dir, 'lake'));
    const first = recs.filter((r) => r.window_start === new Date(T0).toISOString());
    assert.equal(first.length, 2);
    const [orig, corr] = first.sort((a, b) => Number(a.is_correction) - Number(b.is_correction));
    assert.deepEqual([orig.is_correction, orig.late_rows, orig.record_count, orig.temperature_max], [false, 0, 10, 21]);
    assert.deepEqual([corr.is_correction, corr.late_rows, corr.record_count, corr.temperature_max, corr.last_id], [true, 1, 11, 99, 41]);
    const details = query<{ details: string }>(db, "SELECT details FROM pipeline_executions WHERE last_id = 41 AND details NOT LIKE '%flush%'");
    assert.equal(JSON.parse(details[0].details).late_rows, 1);
  });

  test('the window priority follows the max score with inclusive thresholds', () => {
    const cases: Array<[number, string]> = [[0, 'none'], [2.999, 'none'], [3, 'low'], [4.4999, 'low'], [4.5, 'medium'], [5.99, 'medium'], [6, 'high'], [1e9, 'high']];
    for (const [score, want] of cases) {
      assert.equal(priorityName(score, DEFAULT_THRESHOLDS), want, `score ${score}`);
      const p = emptyPartial(0, T0);
      Object.assign(p, { count: 1, firstId: 1, lastId: 1, maxScore: score });
      const line = encodeWindow({ partial: p, correction: false, lateRows: 0 }, 'S', WINDOW, DEFAULT_THRESHOLDS, '"_pipeline":{}');
      assert.equal(JSON.parse(line).alert_priority, want, `record for score ${score}`);
    }
  });

  test('simulated data at one reading per second per sensor is reduced by more than 90 %', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 's.db');
    await simulate({ db, rows: 60_000, sensors: 10, startMs: T0 });
    await runOnce(db, join(dir, 'lake'));
    const [{ raw, written }] = query<{ raw: number; written: number }>(db, "SELECT sum(raw_bytes) AS raw, sum(bytes_written) AS written FROM pipeline_executions WHERE pipeline_type = 'aggregated'");
    assert.ok(written / raw < 0.1, `written ${written} of raw ${raw}`);
    for (const o of readLake(join(dir, 'lake'), 'expanso-databricks-metrics-us-west-2')) {
      if (!o.key.startsWith('pipeline_metrics/')) continue;
      for (const r of o.records) {
        // The final flush reads no rows (raw_size 0): it has no reduction of its own; its bytes count in the sums above.
        if (!r.flush) assert.ok((r.reduction_pct as number) > 90, JSON.stringify(r));
        const parsed = PipelineMetricsRecord.safeParse(r);
        if (!parsed.success) t.diagnostic(`pipeline_metrics disagrees with the schema: ${parsed.error.issues.map((i) => i.path.join('.') + ' ' + i.message).join('; ')}`);
      }
    }
  });

  test('a CLI run killed between batches and run again emits the same windows, none lost or doubled', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 's.db');
    await simulate({ db, rows: 30_000, sensors: 8, startMs: T0 });
    const args = (lake: string) => ['run', '--db', db, '--once', '--lake', lake, '--type', 'aggregated', '--no-alerts', '--no-progress', '--batch-size', '500', '--node-id', NODE];
    const child = spawnCli(args(join(dir, 'lake')));
    // Kill once a few batches are committed (the checkpoint is the event we wait for).
    const total = maxId(db);
    await new Promise<void>((resolve, reject) => {
      const iv = setInterval(() => {
        const cp = checkpointId(db);
        if (cp !== null && cp >= 5000) {
          clearInterval(iv);
          child.child.kill('SIGKILL');
          resolve();
        }
      }, 5);
      child.exited.then(() => (clearInterval(iv), reject(new Error('child finished before it could be killed'))), reject);
    });
    const killed = await child.exited;
    assert.equal(killed.signal, 'SIGKILL');
    assert.ok((checkpointId(db) ?? 0) < total, 'killed before the end');
    const again = await runCli(args(join(dir, 'lake')));
    assert.equal(again.code, 0, describeResult(again));
    const clean = join(dir, 'clean.db');
    await simulate({ db: clean, rows: 30_000, sensors: 8, startMs: T0 });
    await runOnce(clean, join(dir, 'clean'), { batchSize: 500 });
    const strip = (rs: Rec[]) => rs.map(({ _pipeline, ...r }) => JSON.stringify(r)).sort();
    const crashed = aggregated(join(dir, 'lake'));
    assertWindowsMatch(crashed, recompute(db));
    assert.deepEqual(strip(crashed), strip(aggregated(join(dir, 'clean'))));
  });
});
