/**
 * Operating edgelake (issue 15): a following `run --metrics-addr` while a writer inserts rows
 * serves `/metrics` in the Prometheus text format (parsed strictly) with every series of
 * src/ops/series.ts, moving as rows, objects and alerts move; `/healthz` says 503 with a reason
 * while S3 is stopped and 200 after; a second SIGINT stops at once and the next run loses nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { seriesNames } from '../src/ops/series.ts';
import { redactUrl } from '../src/redact.ts';
import { describeResult, runCli, spawnCli, type CliChild } from './helpers/cli.ts';
import { INGESTION_BUCKET, exactlyOnceProblems, readLake, readS3 } from './helpers/lake.ts';
import { lakeProof } from './helpers/lake-proof.ts';
import { healthz, metricsAddress, scrape, startReceiver } from './helpers/ops.ts';
import { promValue, type PromFamily } from './helpers/prom-text.ts';
import { S3RVER_ENV, startS3Server } from './helpers/s3server.ts';
import { checkpointId, createSensorDb, maxId, query } from './helpers/sensor-db.ts';
import { tempDir } from './helpers/tmp.ts';

const EMERGENCY_BUCKET = 'expanso-databricks-emergency-us-west-2';

/** Polls an async condition until it holds (the run is another process: its effects are awaited, not slept for). */
async function eventually<T>(what: string, probe: () => Promise<T | undefined | false>, run: CliChild, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (run.child.exitCode !== null) throw new Error(`run exited (${run.child.exitCode}) while waiting for ${what}:\n${run.stderr()}`);
    const v = await probe().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; stderr:\n${run.stderr()}`);
    await sleep(100);
  }
}

const total = (f: Map<string, PromFamily>, name: string, labels: Record<string, string> = {}) => promValue(f, name, labels);

test('a following run serves every series as Prometheus text, moving with rows, objects and alerts; /healthz is 503 while S3 is stopped and 200 after', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'sensor_data.db');
  createSensorDb(db);
  const s3 = await startS3Server();
  t.after(() => s3.dispose());
  const receiver = await startReceiver();
  t.after(() => receiver.close());
  const run = spawnCli(
    ['run', '--db', db, '--s3-endpoint', s3.endpoint, '--create-buckets', '--metrics-addr', '127.0.0.1:0', '--alert-webhook', receiver.url,
      '--batch-timeout', '200ms', '--batch-size', '1000', '--node-id', 'ops-node', '--no-progress'],
    { env: S3RVER_ENV, timeoutMs: 115_000 },
  );
  t.after(() => void (run.child.exitCode === null && run.child.kill('SIGKILL')));
  const addr = await metricsAddress(run);
  assert.match(addr, /^127\.0\.0\.1:\d+$/);

  const first = await scrape(addr);
  assert.match(first.contentType, /^text\/plain; version=0\.0\.4/);
  for (const name of seriesNames()) assert.ok(first.families.has(name), `series ${name} is exposed from the start`);
  for (const name of ['process_resident_memory_bytes', 'process_cpu_seconds_total', 'nodejs_eventloop_lag_seconds']) assert.ok(first.families.has(name), name);
  for (const f of first.families.values()) for (const s of f.samples) assert.equal(s.labels.node, 'ops-node', `${s.name} carries the node id`);
  assert.equal(total(first.families, 'edgelake_rows_written_total'), 0);
  assert.equal(total(first.families, 'edgelake_pipeline_type', { type: 'ingestion' }), 1);
  assert.equal(total(first.families, 'edgelake_build_info', { sink: 's3' }), 1);
  assert.deepEqual(await healthz(addr), { status: 200, body: { status: 'ok' } });

  // Rows, objects and alerts move.
  const writer = await runCli(['simulate', '--db', db, '--duration', '3s', '--rate', '400', '--sensors', '10', '--anomaly-rate', '0.05', '--seed', '7']);
  assert.equal(writer.code, 0, describeResult(writer));
  const last = maxId(db);
  const name = redactUrl(receiver.url);
  const moved = await eventually(
    'rows landed, alerts delivered and uploaded',
    async () => {
      const m = await scrape(addr);
      const f = m.families;
      const detected = total(f, 'edgelake_alerts_detected_total');
      const ok =
        checkpointId(db) === last &&
        total(f, 'edgelake_checkpoint_id') === last &&
        detected > 0 &&
        total(f, 'edgelake_alerts_sent_total') === detected &&
        total(f, 'edgelake_alerts_uploaded_total') === detected &&
        total(f, 'edgelake_webhook_queue_depth') === 0;
      return ok && m;
    },
    run,
  );
  const f = moved.families;
  assert.equal(total(f, 'edgelake_rows_written_total', { stage: 'ingestion' }), last);
  assert.equal(total(f, 'edgelake_records_written_total', { stage: 'ingestion' }), last);
  assert.ok(total(f, 'edgelake_rows_read_total', { stage: 'ingestion' }) >= last);
  const batches = query<{ n: number }>(db, 'SELECT count(*) AS n FROM pipeline_executions')[0].n;
  assert.equal(total(f, 'edgelake_batch_duration_seconds_count', { stage: 'ingestion' }), batches, 'one observation per committed batch');
  for (const dataset of ['sensor_readings', 'pipeline_metrics', 'latency_metrics', 'alerts', '_edgelake']) {
    assert.ok(total(f, 'edgelake_objects_written_total', { dataset }) > 0, `objects of ${dataset}`);
    assert.ok(total(f, 'edgelake_bytes_written_total', { dataset }) > 0, `bytes of ${dataset}`);
  }
  const landed = await readS3(s3, INGESTION_BUCKET);
  assert.equal(total(f, 'edgelake_objects_written_total', { dataset: 'sensor_readings', bucket: INGESTION_BUCKET, stage: 'ingestion' }), landed.length, 'objects counted once each');
  assert.ok(total(f, 'edgelake_upload_attempts_total', { sink: 's3', operation: 'PutObject' }) >= landed.length);
  assert.equal(total(f, 'edgelake_checkpoint_lag_rows'), 0);
  assert.equal(total(f, 'edgelake_checkpoint_lag_seconds'), 0);
  assert.ok(Math.abs(total(f, 'edgelake_last_commit_timestamp_seconds') - Date.now() / 1000) < 60);
  const detected = total(f, 'edgelake_alerts_detected_total');
  assert.equal(total(f, 'edgelake_alert_detection_seconds_count'), detected);
  assert.equal(total(f, 'edgelake_alerts_sent_total', { receiver: name }), receiver.received.length, 'sent = what the receiver got');
  assert.equal(total(f, 'edgelake_webhook_delivery_seconds_count', { receiver: name }), receiver.received.length);
  assert.ok(total(f, 'edgelake_webhook_posts_total', { receiver: name, result: 'ok' }) >= 1);
  assert.equal(total(f, 'edgelake_alerts_dropped_total'), 0);
  assert.ok(total(f, 'edgelake_alerts_detected_total', { priority: 'high' }) + total(f, 'edgelake_alerts_detected_total', { priority: 'medium' }) === detected);
  assert.doesNotMatch(moved.text, /receiver-secret-token|\/hook/, 'receivers are named by redactUrl, never by their URL');
  for (const c of ['sink', 'state', 'source', 'alerts']) assert.equal(total(f, 'edgelake_component_healthy', { component: c }), 1, c);

  // S3 stopped: rows wait, /healthz says why; S3 back: 200 and the rows land.
  await s3.stop();
  const more = await runCli(['simulate', '--db', db, '--rows', '300', '--sensors', '10', '--seed', '8']);
  assert.equal(more.code, 0, describeResult(more));
  const newLast = maxId(db);
  const down = await eventually('/healthz to turn 503', async () => {
    const h = await healthz(addr);
    return h.status === 503 && h;
  }, run);
  assert.equal(down.body.status, 'failing');
  assert.match(down.body.reason ?? '', /^sink: .*(ECONNREFUSED|ECONNRESET)/);
  assert.ok(down.body.failures?.every((x) => x.component === 'sink' && !Number.isNaN(Date.parse(x.since))));
  // The batch path fails a moment after the first failed request (the emergency uploader may be first).
  const failing = await eventually('the batch to fail', async () => {
    const m = (await scrape(addr)).families;
    return total(m, 'edgelake_batch_failures_total', { code: 'S3_PUT_FAILED' }) > 0 && m;
  }, run);
  assert.equal(total(failing, 'edgelake_component_healthy', { component: 'sink' }), 0);
  assert.ok(total(failing, 'edgelake_upload_failures_total', { sink: 's3', error_class: 'network' }) > 0);
  assert.ok(total(failing, 'edgelake_upload_retries_total', { sink: 's3', error_class: 'network' }) > 0);
  assert.ok(total(failing, 'edgelake_checkpoint_lag_rows') > 0, 'the rows wait in the database');
  assert.ok((checkpointId(db) ?? 0) < newLast);
  await s3.restart();
  await eventually('/healthz back to 200 and the rows landed', async () => (await healthz(addr)).status === 200 && checkpointId(db) === newLast, run, 90_000);
  const after = (await scrape(addr)).families;
  assert.equal(total(after, 'edgelake_component_healthy', { component: 'sink' }), 1);
  assert.equal(total(after, 'edgelake_rows_written_total'), newLast);

  run.child.kill('SIGTERM');
  const r = await run.exited;
  assert.equal(r.code, 0, describeResult(r));
  assert.equal(exactlyOnceProblems(await readS3(s3, INGESTION_BUCKET), newLast), null);
});

test('a second SIGINT stops at once, saying the data is safe by the checkpoint, and the next run lands every row and alert', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'sensor_data.db');
  const lake = join(dir, 'lake');
  createSensorDb(db);
  const receiver = await startReceiver();
  t.after(() => receiver.close());
  receiver.hang = true; // the first SIGINT then waits for a POST that never gets its answer
  const args = ['--db', db, '--lake', lake, '--alert-webhook', receiver.url, '--node-id', 'sigint-node', '--no-progress'];
  const run = spawnCli(['run', ...args, '--stop-grace', '60s', '--batch-timeout', '200ms', '--batch-size', '500']);
  t.after(() => void (run.child.exitCode === null && run.child.kill('SIGKILL')));
  const writer = spawnCli(['simulate', '--db', db, '--duration', '3s', '--rate', '500', '--sensors', '10', '--anomaly-rate', '0.05', '--seed', '11']);
  await eventually('a batch landed and a webhook POST hanging', async () => (checkpointId(db) ?? 0) > 0 && receiver.hung > 0, run);
  // Right after a new POST arrived, so one is surely in flight (its deadline is 10 s away).
  const hung = receiver.hung;
  await eventually('the next POST to arrive', async () => receiver.hung > hung, run, 30_000);
  run.child.kill('SIGINT');
  await eventually('the first SIGINT to be acknowledged', async () => /SIGINT: finishing the batch in flight \(at most 60 s, --stop-grace\)/.test(run.stderr()), run, 10_000);
  assert.equal(run.child.exitCode, null, 'still stopping: the POST in flight holds it');
  const t0 = performance.now();
  run.child.kill('SIGINT');
  const r = await run.exited;
  const ms = performance.now() - t0;
  assert.ok(ms < 1000, `stopped ${Math.round(ms)} ms after the second SIGINT`);
  assert.equal(r.code, 1, describeResult(r));
  assert.match(r.stderr, /SIGINT again: stopping at once\. Data is safe: the checkpoint \((at id \d+|before the first row)\) moves only after a batch is durable/);

  const w = await writer.exited;
  assert.equal(w.code, 0, describeResult(w));
  receiver.hang = false;
  const next = await runCli(['run', ...args, '--once']);
  assert.equal(next.code, 0, describeResult(next));
  const proof = lakeProof('ingestion', db, lake);
  assert.deepEqual(proof.problems, []);
  const alertIds = readLake(lake, EMERGENCY_BUCKET).flatMap((o) => o.records.map((x) => String(x.alert_id)));
  assert.ok(alertIds.length > 0);
  assert.equal(new Set(alertIds).size, alertIds.length, 'each alert once in the emergency bucket');
  const got = new Set(receiver.received);
  assert.deepEqual(alertIds.filter((id) => !got.has(id)), [], 'no POST was answered before the stop: the next run delivered every alert');
});
