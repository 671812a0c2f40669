import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { parseRunOptions } from '../src/config.ts';
import type { Logger } from '../src/log.ts';
import { runPipeline } from '../src/pipeline/run.ts';
import { priorityCode, reasonNames } from '../src/alerts/priority.ts';
import { DEFAULT_THRESHOLDS, REASON } from '../src/kernels/types.ts';
import { AlertRecord, LatencyMetricsRecord } from '../src/schema/records.ts';
import { readLake } from './helpers/lake.ts';
import { createSensorDb, goodRow, insertRows, query, type TestRow } from './helpers/sensor-db.ts';
import { tempDir } from './helpers/tmp.ts';
import { until } from './helpers/until.ts';

const NODE = 'edge-alerts-1';
const EMERGENCY = 'expanso-databricks-emergency-us-west-2';
const T0 = Date.UTC(2025, 7, 15, 10);

/** Rows of 7 sensors, one per second; every 10th row flagged by the sensor (medium priority, 70 s apart per sensor). */
function rows(from: number, count: number): TestRow[] {
  const out: TestRow[] = [];
  for (let n = from; n < from + count; n++) {
    out.push({ ...goodRow(n), temperature: 25, timestamp: new Date(T0 + n * 1000).toISOString(), anomaly_flag: n % 10 === 0 ? 1 : 0 });
  }
  return out;
}

/** A receiver on 127.0.0.1 recording every POST; `status` decides the answer. */
function receiver(status: () => number) {
  const posts: Array<{ key: string | undefined; ids: string[]; alerts: Record<string, unknown>[] }> = [];
  const waiters: Array<() => void> = [];
  const server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const code = status();
      if (code === 200) {
        const j = JSON.parse(body) as { alert_ids: string[]; alerts: Record<string, unknown>[] };
        posts.push({ key: req.headers['idempotency-key'] as string | undefined, ids: j.alert_ids, alerts: j.alerts });
      }
      res.statusCode = code;
      res.end();
      for (const w of waiters.splice(0)) w();
    });
  });
  const unique = () => new Set(posts.flatMap((p) => p.ids));
  /** Resolves once `n` distinct alert ids were received. */
  const received = (n: number) =>
    new Promise<void>((resolve) => {
      const check = () => (unique().size >= n ? resolve() : waiters.push(check));
      check();
    });
  return { server, posts, unique, received };
}

function listen(server: Server, port = 0): Promise<number> {
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

/** A logger that records lines and lets a test await one matching a pattern. */
function recordingLog() {
  const lines: string[] = [];
  const waiters: Array<{ re: RegExp; resolve: () => void }> = [];
  const add = (l: string) => {
    lines.push(l);
    for (const w of waiters.filter((x) => x.re.test(l))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  };
  const log: Logger = { info: add, warn: add, error: add };
  const seen = (re: RegExp) => new Promise<void>((resolve) => (lines.some((l) => re.test(l)) ? resolve() : waiters.push({ re, resolve })));
  return { log, lines, seen };
}

function emergency(lake: string): Record<string, unknown>[] {
  return readLake(lake, EMERGENCY).flatMap((o) => {
    assert.match(o.key, /^alerts\/year=\d{4}\/month=\d\d\/day=\d\d\/hour=\d\d\/.+_\d{12}-\d{12}\.jsonl\.gz$/);
    return o.records;
  });
}

describe('alerts', () => {
  test('priority codes are inclusive at the thresholds and reasons are named', () => {
    assert.deepEqual([2.99, 3, 4.49, 4.5, 5.99, 6].map((s) => priorityCode(s, DEFAULT_THRESHOLDS)), [0, 1, 1, 2, 2, 3]);
    assert.deepEqual(reasonNames(REASON.ZSCORE[0] | REASON.PHYSICAL[4] | REASON.SENSOR_FLAG), ['zscore:temperature', 'physical_range:voltage', 'sensor_flag']);
  });

  test('every alert lands in the emergency bucket and reaches a webhook that was down for a while, exactly once by alert id', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 's.db');
    createSensorDb(db, rows(1, 300));
    const rx = receiver(() => 200);
    // Reserve a port, then close it: the receiver is down until the test starts it.
    const port = await listen(rx.server);
    await new Promise((r) => rx.server.close(r));
    const { log, seen, lines } = recordingLog();
    const ac = new AbortController();
    const options = parseRunOptions({ db, lake: join(dir, 'lake'), nodeId: NODE, progress: false, alertWebhook: [`http://user:secret@127.0.0.1:${port}/hook`] });
    const run = runPipeline(options, { signal: ac.signal, log });
    await seen(/keeps failing/);
    assert.ok(lines.every((l) => !l.includes('secret')), 'credentials are redacted in logs');
    // More alerts while the receiver is down, then bring it up.
    const w = new Database(db);
    insertRows(w, rows(301, 100));
    w.close();
    await listen(rx.server, port);
    t.after(() => rx.server.close());
    await rx.received(40);
    ac.abort();
    await run;
    const lake = emergency(join(dir, 'lake'));
    const flagged = query<{ id: number }>(db, 'SELECT id FROM sensor_readings WHERE anomaly_flag = 1').map((r) => `${NODE}-${r.id}`);
    assert.equal(flagged.length, 40);
    assert.deepEqual([...rx.unique()].sort(), flagged.sort(), 'the receiver got exactly the flagged readings');
    assert.deepEqual(lake.map((r) => r.alert_id).sort(), flagged.sort(), 'the emergency bucket holds each alert once');
    assert.equal(rx.posts.reduce((n, p) => n + p.ids.length, 0), 40, 'no alert was posted twice');
    assert.ok(rx.posts.every((p) => p.key && p.key.length >= 16), 'every POST has an Idempotency-Key');
    for (const r of [...lake, ...rx.posts.flatMap((p) => p.alerts)]) {
      const parsed = AlertRecord.safeParse(r);
      assert.ok(parsed.success, parsed.success ? '' : `${parsed.error.message}\n${JSON.stringify(r)}`);
      assert.equal(r.alert_priority, 'medium');
      assert.deepEqual(r.reasons, ['sensor_flag']);
    }
    const latency = readLake(join(dir, 'lake'), 'expanso-databricks-metrics-us-west-2').filter((o) => o.key.startsWith('latency_metrics/') && o.key.includes('~alerts_'));
    assert.ok(latency.length > 0, 'alert latency_metrics are written');
    for (const r of latency.flatMap((o) => o.records)) assert.ok(LatencyMetricsRecord.safeParse(r).success, JSON.stringify(r));
    // The outbox lives in edgelake's private file beside the state, not in the sensor database.
    assert.equal(query<{ n: number }>(`${db}.private`, 'SELECT count(*) AS n FROM deliveries')[0].n, 0, 'the outbox is empty');
  });

  test('a receiver answering 500 forever gets a clear error, a bounded queue, and the pipeline keeps running', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 's.db');
    createSensorDb(db, rows(1, 300));
    const rx = receiver(() => 500);
    const port = await listen(rx.server);
    t.after(() => rx.server.close());
    const { log, seen } = recordingLog();
    const ac = new AbortController();
    const options = { ...parseRunOptions({ db, lake: join(dir, 'lake'), nodeId: NODE, progress: false, batchTimeout: '10ms', alertWebhook: [`http://127.0.0.1:${port}/hook`] }), alertQueueLimit: 10 };
    let batches = 0;
    const batchSeen: Array<() => void> = [];
    const run = runPipeline(options, { signal: ac.signal, log, onBatch: () => (batches++, batchSeen.splice(0).forEach((f) => f())) });
    await seen(/queue of .* is full \(10\); dropped its 20 oldest/);
    await seen(/keeps failing: \d+ attempts .* last error: HTTP 500/);
    const before = batches;
    const w = new Database(db);
    insertRows(w, rows(301, 50));
    w.close();
    await new Promise<void>((resolve) => batchSeen.push(resolve));
    assert.ok(batches > before, 'batches are still committed while the receiver fails');
    // The router polls on its own schedule; the batch commit does not imply it has seen rows 301..350 yet.
    await until('the 5 new alerts in the emergency bucket', () => emergency(join(dir, 'lake')).length >= 35);
    ac.abort();
    await run;
    assert.ok(query<{ n: number }>(`${db}.private`, 'SELECT count(*) AS n FROM deliveries')[0].n <= 10, 'the queue stays bounded');
    assert.equal(emergency(join(dir, 'lake')).length, 35, 'every alert is still in the emergency bucket');
  });
});
