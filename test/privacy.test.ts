/**
 * Issue 11, test 1: alerts are as private as the stage. A sensor database with a high anomaly
 * rate (`simulate --anomaly-rate 0.2`, sensors placed around Paris and São Paulo so their true
 * coordinates are 6-decimal numbers no other field prints by chance) goes through `run --once`
 * with a webhook receiver on 127.0.0.1; then every object of every bucket (gzip JSON Lines
 * decompressed, the manifest too) and every webhook body is searched for the true coordinates of
 * every sensor, as JSON prints them and not preceded or followed by another digit.
 *
 * - enriched: none anywhere; alerts carry the stage's fuzzed coordinates and `_privacy` block.
 * - ingestion, validated, aggregated: the alerts (emergency bucket and webhook bodies) carry no
 *   coordinates; with `--keep-original-gps` only as original_latitude/original_longitude. The
 *   ingestion and validated buckets carry the true coordinates by contract (stages 1–2 ship rows
 *   as stored), so they are left out of the "none" scan under those stages — and checked to hold
 *   them, which shows the finder finds what is there.
 */
import { before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertBuilt, runBuilt } from './helpers/built-cli.ts';
import { describeResult } from './helpers/cli.ts';
import { readLake, type LakeObject } from './helpers/lake.ts';
import { startRecorder, type Recorder } from './helpers/receivers.ts';
import { coordinateFinder, sensorPositions, walkFiles, textsOf, type CoordinateHit, type SensorPosition } from './helpers/scan.ts';
import { query } from './helpers/sensor-db.ts';
import { tempDir } from './helpers/tmp.ts';

const EMERGENCY = 'expanso-databricks-emergency-us-west-2';
const ROWS = 2000;

/** One `run --once` of a stage over a fresh database, with a recording receiver. */
interface StageRun {
  readonly db: string;
  readonly lake: string;
  readonly rx: Recorder;
  readonly positions: readonly SensorPosition[];
  readonly find: (text: string) => CoordinateHit[];
  /** Alerts in the emergency bucket. */
  readonly bucketAlerts: ReadonlyArray<Record<string, unknown>>;
}

async function stageRun(t: TestContext, type: string, keepOriginal: boolean): Promise<StageRun> {
  const dir = tempDir(t, 'edgelake-privacy-');
  const db = join(dir, 'sensors.db');
  const lake = join(dir, 'lake');
  const sim = await runBuilt(['simulate', '--db', db, '--rows', String(ROWS), '--sensors', '8', '--anomaly-rate', '0.2', '--city', 'PARI,SAOP', '--spread-km', '5', '--seed', '11']);
  assert.equal(sim.code, 0, describeResult(sim));
  const rx = await startRecorder();
  t.after(() => rx.close());
  const args = ['run', '--db', db, '--once', '--lake', lake, '--type', type, '--node-id', 'privacy', '--alert-rate-limit', '0', '--alert-webhook', `${rx.origin}/hook`, '--no-progress'];
  const r = await runBuilt(keepOriginal ? [...args, '--keep-original-gps'] : args, { timeoutMs: 60_000 });
  assert.equal(r.code, 0, describeResult(r));
  const positions = sensorPositions(db);
  assert.equal(new Set(positions.map((p) => p.sensorId)).size, positions.length, 'each sensor has one true position');
  assert.ok(positions.length >= 8, `${positions.length} sensor positions`);
  const bucketAlerts = readLake(lake, EMERGENCY).flatMap((o) => o.records);
  const hooked = [...rx.firstSeen.keys()].sort();
  assert.ok(bucketAlerts.length >= 100, `only ${bucketAlerts.length} alerts: the scan would prove little`);
  assert.deepEqual(bucketAlerts.map((a) => String(a.alert_id)).sort(), hooked, 'the webhook got exactly the alerts of the emergency bucket');
  return { db, lake, rx, positions, find: coordinateFinder(positions.flatMap((p) => [p.latitude, p.longitude])), bucketAlerts };
}

/** Every coordinate hit in the files below `roots` (raw and decompressed) and in the webhook bodies; and how much was scanned. */
function scanFor(run: StageRun, roots: readonly string[]): { hits: Array<CoordinateHit & { where: string }>; files: number; bodies: number } {
  const hits: Array<CoordinateHit & { where: string }> = [];
  let files = 0;
  for (const root of roots) {
    for (const f of walkFiles(root)) {
      files++;
      for (const text of textsOf(readFileSync(f))) hits.push(...run.find(text).map((h) => ({ ...h, where: f })));
    }
  }
  for (const [i, r] of run.rx.receipts.entries()) hits.push(...run.find(r.body).map((h) => ({ ...h, where: `webhook body ${i + 1}` })));
  return { hits, files, bodies: run.rx.receipts.length };
}

function show(hits: ReadonlyArray<CoordinateHit & { where: string }>): string {
  return hits
    .slice(0, 5)
    .map((h) => `${h.value} after …${h.before} in ${h.where}`)
    .join('\n');
}

const ORIGINAL_KEY = /"original_(?:latitude|longitude)":-?$/;

describe('alerts are as private as the active stage', () => {
  before(() => assertBuilt());

  test('the coordinate finder finds a true coordinate as JSON prints it and not a longer number that starts with it', () => {
    const find = coordinateFinder([48.873852, -46.598054]);
    assert.deepEqual(
      find('{"latitude":48.873852,"longitude":-46.598054}').map((h) => h.value),
      ['48.873852', '46.598054'],
    );
    assert.deepEqual(find('{"latitude":48.8738521,"x":148.873852,"y":46.5980549}'), []);
  });

  test('under enriched, no object of any bucket and no webhook body holds a true coordinate; alerts carry the stage fuzzed coordinates and _privacy block', async (t) => {
    const run = await stageRun(t, 'enriched', false);
    const lake: LakeObject[] = readLake(run.lake);
    const enriched = new Map(lake.filter((o) => o.bucket.includes('-enriched-')).flatMap((o) => o.records.map((r) => [Number(r.id), r] as const)));
    assert.equal(enriched.size, ROWS, 'every row is in the enriched bucket');
    const flagged = query<{ id: number }>(run.db, 'SELECT id FROM sensor_readings WHERE anomaly_flag = 1').map((r) => r.id);
    const alerted = new Set(run.bucketAlerts.map((a) => Number(a.id)));
    assert.deepEqual(flagged.filter((id) => !alerted.has(id)), [], 'every sensor-flagged row is alerted');
    const webhookAlerts = [...run.rx.firstSeen.values()].map((v) => v.alert);
    for (const a of [...run.bucketAlerts, ...webhookAlerts]) {
      const row = enriched.get(Number(a.id))!;
      assert.ok(row, `alert ${String(a.alert_id)} has its enriched record`);
      assert.equal(typeof a.latitude, 'number', `alert ${String(a.alert_id)} carries fuzzed coordinates`);
      assert.equal(a.latitude, row.latitude, `alert ${String(a.alert_id)}: the latitude of its enriched record`);
      assert.equal(a.longitude, row.longitude, `alert ${String(a.alert_id)}: the longitude of its enriched record`);
      const { fuzzing_timestamp: _a, ...alertPrivacy } = a._privacy as Record<string, unknown>;
      const { fuzzing_timestamp: _r, ...rowPrivacy } = row._privacy as Record<string, unknown>;
      assert.deepEqual(alertPrivacy, rowPrivacy, `alert ${String(a.alert_id)}: the _privacy block of its enriched record`);
      assert.equal(alertPrivacy.gps_fuzzed, true);
      assert.ok(!('original_latitude' in a) && !('original_longitude' in a), 'no original coordinates without --keep-original-gps');
    }
    const scan = scanFor(run, [run.lake]);
    assert.equal(scan.hits.length, 0, `true coordinates found:\n${show(scan.hits)}`);
    t.diagnostic(
      `enriched: ${run.positions.length} sensors' true coordinates searched in ${scan.files} lake files (${lake.length} objects of ${new Set(lake.map((o) => o.bucket)).size} buckets) and ${scan.bodies} webhook bodies; ` +
        `alerts scanned: ${run.bucketAlerts.length} in the emergency bucket + ${webhookAlerts.length} webhook alerts (${flagged.length} sensor-flagged rows among them); true coordinates found: 0`,
    );
  });

  for (const type of ['ingestion', 'validated', 'aggregated'] as const) {
    for (const keep of [false, true]) {
      const how = keep ? 'with --keep-original-gps they carry the true ones only as original_latitude/original_longitude' : 'they carry no coordinates at all';
      test(`under ${type}, alerts in the emergency bucket and webhook bodies have latitude/longitude null; ${how}`, async (t) => {
        const run = await stageRun(t, type, keep);
        const truth = new Map(run.positions.map((p) => [p.sensorId, p]));
        const webhookAlerts = [...run.rx.firstSeen.values()].map((v) => v.alert);
        for (const a of [...run.bucketAlerts, ...webhookAlerts]) {
          assert.equal(a.latitude, null, `alert ${String(a.alert_id)} latitude`);
          assert.equal(a.longitude, null, `alert ${String(a.alert_id)} longitude`);
          assert.ok(!('_privacy' in a), `alert ${String(a.alert_id)} has no _privacy block (nothing was fuzzed)`);
          if (keep) {
            const p = truth.get(String(a.sensor_id))!;
            assert.equal(a.original_latitude, p.latitude, `alert ${String(a.alert_id)} original_latitude`);
            assert.equal(a.original_longitude, p.longitude, `alert ${String(a.alert_id)} original_longitude`);
          } else assert.ok(!('original_latitude' in a) && !('original_longitude' in a), `alert ${String(a.alert_id)} has no original_* without --keep-original-gps`);
        }
        // The stage's own records under ingestion/validated carry the true coordinates by contract: not in the scan.
        const stageBucket = join(run.lake, `expanso-databricks-${type}-us-west-2`);
        const roots = [join(run.lake, EMERGENCY), join(run.lake, 'expanso-databricks-metrics-us-west-2'), ...(type === 'aggregated' ? [stageBucket] : [])];
        const scan = scanFor(run, roots);
        const misplaced = scan.hits.filter((h) => !(keep && ORIGINAL_KEY.test(h.before) && !h.where.includes('-aggregated-')));
        assert.deepEqual(misplaced, [], `true coordinates outside original_latitude/original_longitude:\n${show(misplaced)}`);
        if (keep) assert.equal(scan.hits.length, 2 * (run.bucketAlerts.length + run.rx.receipts.reduce((n, r) => n + r.alerts.length, 0)), 'each alert names its true coordinates once, as original_*');
        if (type !== 'aggregated') {
          const inStage = scanFor({ ...run, rx: { ...run.rx, receipts: [] } }, [stageBucket]).hits.length;
          assert.ok(inStage >= ROWS, `the ${type} bucket holds the true coordinates by contract (found ${inStage}): the finder finds what is there`);
        }
        t.diagnostic(
          `${type}${keep ? ' --keep-original-gps' : ''}: alerts scanned: ${run.bucketAlerts.length} in the emergency bucket + ${webhookAlerts.length} webhook alerts, ` +
            `${scan.files} files (${type === 'aggregated' ? 'emergency, metrics and aggregated buckets' : `emergency and metrics buckets; the ${type} bucket excluded: it ships rows as stored by contract`}) and ${scan.bodies} webhook bodies; ` +
            `true coordinates found: ${scan.hits.length}${keep ? ' (all as original_latitude/original_longitude)' : ''}`,
        );
      });
    }
  }
});
