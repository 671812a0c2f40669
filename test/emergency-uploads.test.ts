/**
 * The emergency bucket at the head of a busy table, and what of the outbox waits for the disk.
 * Alerts detected every few ms go up together, at most one upload per 250 ms — not one small
 * object per detection, which made a hundred objects a second for Auto Loader — and still each
 * alert is in the bucket well under a second after its detection, exactly once. Only recording
 * alerts and the emergency intent are fsynced; the writes that may be lost to a power cut without
 * harm commit without an fsync, and must leave the private file fully synchronous again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { EmergencyUploader } from '../src/alerts/emergency.ts';
import { AlertOutbox } from '../src/alerts/outbox.ts';
import { parseRunOptions } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { runPipeline } from '../src/pipeline/run.ts';
import { LakeSink } from '../src/sink/lake.ts';
import type { Sink } from '../src/sink/types.ts';
import { openPrivateDb } from '../src/state/private.ts';
import { parseJsonlGz } from './helpers/lake.ts';
import { createSensorDb, goodRow, insertRows } from './helpers/sensor-db.ts';
import { tempDir } from './helpers/tmp.ts';

const EMERGENCY = 'expanso-databricks-emergency-us-west-2';
const FULL = 2;

test('only recording alerts and the emergency intent wait for the disk; every other outbox write leaves the file fully synchronous again, even when it fails', (t) => {
  const dir = tempDir(t);
  const db = openPrivateDb(join(dir, 'state.db.private'), null, []);
  t.after(() => db.close());
  const outbox = new AlertOutbox(db);
  const sync = () => db.pragma('synchronous', { simple: true });
  assert.equal(sync(), FULL);
  outbox.snapshot(0);
  const alert = (id: number) => ({ alertId: `n-${id}`, readingId: id, eventMs: 1e12 + id, detectedMs: 1e12 + id + 5, body: `{"alert_id":"n-${id}"}` });
  outbox.record([alert(1), alert(2), alert(3)], ['r1'], 100);
  const queued = outbox.queued('r1', 10);
  outbox.failed([queued[0].seq], 'connection refused');
  assert.equal(sync(), FULL, 'after failed()');
  outbox.delivered([queued[0].seq]);
  assert.equal(sync(), FULL, 'after delivered()');
  const chunk = outbox.emergencyChunk(10, null)!;
  outbox.beginEmergency(chunk.toSeq, Date.now());
  outbox.commitEmergency(chunk.toSeq);
  assert.equal(sync(), FULL, 'after commitEmergency()');
  outbox.saveSnapshot(3, '{"v":1}');
  assert.equal(sync(), FULL, 'after saveSnapshot()');
  // And each of those four did commit with synchronous = NORMAL in effect.
  assert.equal(outbox.relaxedWrites, 4, 'failed(), delivered(), commitEmergency() and saveSnapshot() did not wait for the disk');
  // A relaxed write that fails still restores FULL: the next alert must be fsynced.
  db.exec(`CREATE TRIGGER no_delete BEFORE DELETE ON deliveries BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`);
  assert.throws(() => outbox.delivered([queued[1].seq]), /refused by the test/);
  assert.equal(sync(), FULL, 'after a failed delivered()');
  assert.equal(outbox.size('r1'), 2, 'the failed removal changed nothing');
  // Whatever level a failed restore would leave, recording alerts waits for the disk.
  db.pragma('synchronous = OFF');
  outbox.record([alert(4)], ['r1'], 100);
  assert.equal(sync(), FULL, 'record() is fully synchronous');
  db.pragma('synchronous = OFF');
  outbox.beginEmergency(4, Date.now());
  assert.equal(sync(), FULL, 'so is the emergency intent');
});

test('at the head of a busy table the emergency bucket gets alerts together, at most one upload per 250 ms, each well under a second after detection and exactly once', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'sensor_data.db');
  createSensorDb(db);
  const lake = join(dir, 'lake');
  const options = parseRunOptions({ db, lake, nodeId: 'edge-em-1', type: 'validated', batchTimeout: 300, pollInterval: 20, alertRateLimit: 0, progress: false });
  const ac = new AbortController();
  const run = runPipeline(options, { signal: ac.signal, log: createLogger({ quiet: true }) });
  t.after(() => ac.abort());
  await delay(500); // the run has opened its state and alert path

  // A writer: 20 rows every 10 ms for 4 s, one of them flagged (an alert every 10 ms).
  const writer = new Database(db);
  writer.pragma('busy_timeout = 5000');
  const firstSeen = new Map<string, number>();
  const emergency = join(lake, EMERGENCY);
  const scan = () => {
    if (!existsSync(emergency)) return;
    for (const f of readdirSync(emergency, { recursive: true }).map(String)) {
      if (!f.endsWith('.jsonl.gz')) continue;
      for (const r of parseJsonlGz(readFileSync(join(emergency, f)), f)) if (!firstSeen.has(String(r.alert_id))) firstSeen.set(String(r.alert_id), Date.now());
    }
  };
  let id = 0;
  const writeUntil = Date.now() + 4000;
  while (Date.now() < writeUntil) {
    const now = Date.now();
    insertRows(
      writer,
      Array.from({ length: 20 }, (_, i) => {
        id++;
        return { ...goodRow(id), timestamp: new Date(now).toISOString(), sensor_id: `S${id % 10}`, anomaly_flag: i === 7 ? 1 : 0, status_code: i === 7 ? 1 : 0 };
      }),
    );
    scan();
    await delay(10);
  }
  writer.close();
  // The last alerts go up within one interval and an upload.
  for (let k = 0; k < 100; k++) {
    scan();
    await delay(20);
  }
  ac.abort();
  const summary = await run;
  scan();

  const records = readdirSync(emergency, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.jsonl.gz'))
    .map((f) => ({ f, records: parseJsonlGz(readFileSync(join(emergency, f)), f) }));
  const ids = records.flatMap((o) => o.records.map((r) => String(r.alert_id)));
  const alerts = summary.alerts!.alerts;
  assert.ok(alerts >= 150, `alerts detected: ${alerts}`);
  assert.equal(new Set(ids).size, ids.length, 'each alert once');
  assert.equal(ids.length, alerts, 'every alert detected is in the emergency bucket');
  // One object per upload and event hour: ≈ 5.5 s of alerts (writing, then the drain) in uploads ≥ 250 ms apart.
  const maxUploads = Math.ceil(5500 / 250) + 1;
  assert.ok(records.length <= 2 * maxUploads, `${records.length} emergency objects for ${alerts} alerts (at most ${maxUploads} uploads)`);
  const lags = records.flatMap((o) => o.records.map((r) => firstSeen.get(String(r.alert_id))! - Date.parse(String(r.detected_at)))).sort((a, b) => a - b);
  const p99 = lags[Math.floor(0.99 * (lags.length - 1))];
  t.diagnostic(`${alerts} alerts in ${records.length} emergency objects; detection → seen in the bucket: p50 ${lags[Math.floor(lags.length / 2)]} ms, p99 ${p99} ms, max ${lags[lags.length - 1]} ms`);
  assert.ok(p99 < 1000, `detection → in the emergency bucket, p99 ${p99} ms`);
});

test('a stop that arrives while the last queued alerts are uploading returns when that upload is done, not a second later', async (t) => {
  const dir = tempDir(t);
  const db = openPrivateDb(join(dir, 'state.db.private'), null, []);
  t.after(() => db.close());
  const outbox = new AlertOutbox(db);
  outbox.snapshot(0);
  // The real lake sink, slowed to 300 ms a put, so the stop surely lands mid-upload.
  const lake = new LakeSink({ dir: join(dir, 'lake') });
  let putting: (() => void) | null = null;
  const sink: Sink = {
    kind: 'lake',
    location: lake.location,
    prepare: (b) => lake.prepare(b),
    get: (b, k) => lake.get(b, k),
    close: () => lake.close(),
    put: async (objects) => {
      putting?.();
      await delay(300);
      await lake.put(objects);
    },
  };
  const uploader = new EmergencyUploader({ outbox, sink, buckets: { emergency: EMERGENCY, metrics: 'expanso-databricks-metrics-us-west-2' }, nodeId: 'edge-em-2', version: 'test', gzipLevel: 1, log: createLogger({ quiet: true }) });
  const body = (id: number) => JSON.stringify({ alert_id: `edge-em-2-${id}`, id, timestamp: '2025-08-15T10:00:00.000Z', alert_priority: 'high' });
  outbox.record([{ alertId: 'edge-em-2-1', readingId: 1, eventMs: Date.UTC(2025, 7, 15, 10), detectedMs: Date.now(), body: body(1) }], [], 100);
  const started = new Promise<void>((resolve) => (putting = resolve));
  uploader.start();
  await started;
  const t0 = performance.now();
  await uploader.stop({ drain: false });
  const ms = performance.now() - t0;
  assert.equal(uploader.uploaded, 1, 'the upload in flight finished');
  assert.ok(ms < 800, `stop() took ${ms.toFixed(0)} ms after a 300 ms upload (a 1 s idle sleep would make it ≥ 1,000)`);
});

test('the emergency chunk takes the bodies this process recorded from memory and is the very chunk the file holds; alerts of an earlier run, a re-detection and an intent replay read the file', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'state.db.private');
  const db = openPrivateDb(file, null, []);
  t.after(() => db.close());
  const alert = (id: number, eventMs = 1e12 + id) => ({ alertId: `n-${id}`, readingId: id, eventMs, detectedMs: 1e12 + id + 5, body: `{"alert_id":"n-${id}","n":${id}}` });
  // What a fresh process (nothing in memory) reads for the same call: the file's chunk.
  const fromFile = (limit: number, toSeq: number | null) => {
    const other = new Database(file);
    try {
      return new AlertOutbox(other).emergencyChunk(limit, toSeq);
    } finally {
      other.close();
    }
  };
  // An earlier run left two alerts not yet uploaded.
  const earlier = new AlertOutbox(db);
  earlier.snapshot(0);
  earlier.record([alert(1), alert(2)], [], 100);

  const outbox = new AlertOutbox(db);
  // A re-detection of alert 2 (same id) adds nothing; 3 has no event time; 4 and 5 are new.
  const r = outbox.record([alert(2), alert(3, NaN), alert(4), alert(5)], ['r1'], 100);
  assert.equal(r.fresh, 3);
  // Seqs 1–2 are not in this process's memory: the chunk comes from the file, whole.
  const mixed = outbox.emergencyChunk(10, null)!;
  assert.deepEqual(mixed, fromFile(10, null));
  assert.deepEqual(mixed.alerts.map((a) => a.alertId), ['n-1', 'n-2', 'n-3', 'n-4', 'n-5']);
  assert.ok(Number.isNaN(mixed.alerts[2].eventMs), 'no event time reads back as NaN');
  const seqOf = new Map(mixed.alerts.map((a) => [a.alertId, a.seq]));
  outbox.beginEmergency(seqOf.get('n-2')!, 1e12);
  outbox.commitEmergency(seqOf.get('n-2')!);

  // From here on every queued alert is this process's: the chunk is served from memory, equal to the file's.
  outbox.record([alert(6), alert(7)], [], 100);
  const body = db.prepare('SELECT body FROM alerts WHERE alert_id = ?').pluck();
  const patch = db.prepare('UPDATE alerts SET body = ? WHERE alert_id = ?');
  const original = body.get('n-4') as string;
  // Marked in the file only, so the test sees which copy a chunk was read from.
  patch.run(`${original} `, 'n-4');
  assert.equal(outbox.emergencyChunk(2, null)!.alerts[1].body, original, 'the body came from memory');
  patch.run(original, 'n-4');
  const n4 = seqOf.get('n-4')!;
  for (const [limit, toSeq] of [[10, null], [2, null], [0, n4], [0, n4 + 100]] as const) assert.deepEqual(outbox.emergencyChunk(limit, toSeq), fromFile(limit, toSeq), `chunk(${limit}, ${toSeq})`);

  // An intent replay after the upload committed part of the memory: what is left is still the file's chunk.
  outbox.beginEmergency(n4, 1e12);
  outbox.commitEmergency(n4);
  assert.deepEqual(outbox.emergencyChunk(10, null), fromFile(10, null));
  assert.deepEqual(outbox.emergencyChunk(10, null)!.alerts.map((a) => a.alertId), ['n-5', 'n-6', 'n-7']);
  // A source replaced (reset) forgets the memory too: the file is read again.
  outbox.reset(0);
  assert.deepEqual(outbox.emergencyChunk(10, null), fromFile(10, null));
});
