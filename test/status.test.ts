/**
 * A status line worth reading, and a quiet log (issue 15): the line names the stage, rows/s, the
 * lag in rows and seconds, what this run wrote, the alerts and the sink's state; off a TTY it is
 * printed when something changed (at most every 10 s), every 60 s when idle, at once when the
 * sink's state changes; an S3 run on Node 20 prints no AWS SDK version warning.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunStatus } from '../src/ops/metrics.ts';
import { BUSY_EVERY_MS, IDLE_EVERY_MS, Progress } from '../src/pipeline/progress.ts';
import { createS3Client } from '../src/sink/s3.ts';
import { describeResult, runCli, spawnCli } from './helpers/cli.ts';
import { S3RVER_ENV, startS3Server } from './helpers/s3server.ts';
import { checkpointId, createSensorDb, goodRow, maxId } from './helpers/sensor-db.ts';
import { tempDir } from './helpers/tmp.ts';
import { until } from './helpers/until.ts';

/** A stream collecting what is written, TTY or not. */
function collector(tty: boolean): { stream: Writable & { isTTY: boolean }; text: () => string } {
  let out = '';
  const stream = Object.assign(new Writable({ write: (c, _e, cb) => ((out += String(c)), cb()) }), { isTTY: tty });
  return { stream, text: () => out };
}

function status(over: Partial<RunStatus> = {}): RunStatus {
  return {
    stage: 'validated',
    rows: 0,
    objects: 0,
    bytes: 0,
    lag: { rows: 0, seconds: 0 },
    checkpointId: 100,
    alerts: { detected: 0, sent: 0, dropped: 0 },
    sink: { kind: 's3', state: 'ok', detail: null },
    failures: [],
    ...over,
  };
}

/** A Progress on a fake clock; `advance` moves it and ticks once per simulated second. */
function harness(tty: boolean) {
  let now = 0;
  let s = status();
  const out = collector(tty);
  const p = new Progress({ enabled: true, stream: out.stream, status: { get status() { return s; } }, now: () => now, tickMs: 0 });
  return {
    p,
    lines: () => out.text().split('\n').filter(Boolean),
    text: out.text,
    set: (over: Partial<RunStatus>) => (s = status(over)),
    advance(ms: number, each?: (t: number) => void) {
      for (let t = 0; t < ms; t += 1000) {
        now += 1000;
        each?.(now);
        p.tick();
      }
    },
  };
}

test('off a TTY, 30 idle seconds print one line, and an idle hour one line a minute', () => {
  const h = harness(false);
  h.p.update(0, 0);
  h.advance(30_000);
  assert.equal(h.lines().length, 1, h.text());
  h.advance(3_600_000);
  assert.equal(h.lines().length, 1 + 3_600_000 / IDLE_EVERY_MS, 'a heartbeat every 60 s, no more');
});

test('off a TTY, steady work prints at most a line every 10 s, and a sink failure at once', () => {
  const h = harness(false);
  h.p.update(0, 500);
  let rows = 0;
  h.advance(60_000, () => {
    rows += 1000;
    h.set({ rows, objects: rows / 100, bytes: rows * 40, lag: { rows: 500, seconds: 1.5 } });
    h.p.update(rows, 500);
  });
  const busy = h.lines().length;
  assert.ok(busy <= 1 + 60_000 / BUSY_EVERY_MS, `${busy} lines in a busy minute`);
  h.set({ rows, sink: { kind: 's3', state: 'failing', detail: 'PutObject s3://b/k: ECONNREFUSED (connect ECONNREFUSED 127.0.0.1:9)' } });
  h.advance(1000);
  assert.equal(h.lines().length, busy + 1, 'the failure is told within a second');
  assert.match(h.lines().at(-1)!, /s3 failing: PutObject s3:\/\/b\/k: ECONNREFUSED/);
});

test('the line names the stage, rows/s, lag in rows and seconds, this run\'s rows, objects and bytes, the alerts and the sink', () => {
  const h = harness(false);
  h.p.update(0, 2000);
  h.advance(10_000, (t) => {
    h.set({ rows: t, objects: 12, bytes: 3 * 1024 * 1024, lag: { rows: 2000, seconds: 4.2 }, alerts: { detected: 9, sent: 7, dropped: 1 } });
    h.p.update(t, 2000);
  });
  const line = h.lines().at(-1)!;
  assert.match(line, /^edgelake: validated · 1,000 rows\/s · lag 2,000 rows \(4\.2 s\) · this run 10,000 rows, 12 objects, 3\.0 MiB · alerts 9 detected, 7 sent, 1 dropped · s3 ok$/);
  h.set({ lag: { rows: 0, seconds: 0 }, alerts: null, sink: { kind: 'lake', state: 'ok', detail: null } });
  h.p.update(10_000, 0);
  h.advance(IDLE_EVERY_MS);
  assert.match(h.lines().at(-1)!, /· caught up · this run 10,000 rows, 0 objects, 0 B · lake ok$/);
});

test('on a TTY the line is redrawn in place, at most five times a second, and ended by done()', () => {
  const h = harness(true);
  h.p.update(0, 10);
  h.advance(5000);
  const draws = h.text().split('\r').length - 1;
  assert.ok(draws >= 5 && draws <= 6, `${draws} redraws`);
  assert.doesNotMatch(h.text(), /\n/);
  h.p.done();
  assert.ok(h.text().endsWith('\n'));
});

test('a real follower on an idle database logs a handful of status lines in 30 s, not one a second', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'sensor_data.db');
  createSensorDb(db, Array.from({ length: 50 }, (_, i) => goodRow(i + 1)));
  const run = spawnCli(['run', '--db', db, '--lake', join(dir, 'lake'), '--node-id', 'idle-node', '--batch-timeout', '100ms']);
  t.after(() => void (run.child.exitCode === null && run.child.kill('SIGKILL')));
  await until('the 50 rows to land', () => {
    if (run.child.exitCode !== null) throw new Error(run.stderr());
    return checkpointId(db) === 50;
  }, 60_000);
  const landedAt = run.stderr().length;
  await sleep(30_000);
  const idle = run.stderr().slice(landedAt).split('\n').filter((l) => / rows\/s · /.test(l));
  assert.ok(idle.length <= 2, `${idle.length} status lines in 30 idle seconds:\n${idle.join('\n')}`);
  const all = run.stderr().split('\n').filter((l) => / rows\/s · /.test(l));
  assert.ok(all.length >= 1 && all.length <= 5, run.stderr());
  assert.match(all.at(-1)!, /^edgelake: ingestion · \d+ rows\/s · (caught up|lag [\d,]+ rows.*) · this run [\d,]+ rows, [\d,]+ objects, .* · alerts \d+ detected, \d+ sent · lake ok$/);
  run.child.kill('SIGTERM');
  const r = await run.exited;
  assert.equal(r.code, 0, describeResult(r));
});

test('the AWS SDK\'s Node version warning is switched off the documented way, and other warnings still show', async () => {
  const warnings: string[] = [];
  const listen = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
  process.on('warning', listen);
  try {
    const client = await createS3Client({ endpoint: 'http://127.0.0.1:9', region: 'us-west-2', createBuckets: false });
    client.destroy();
    process.emitWarning('a warning of someone else', 'CanaryWarning');
    await sleep(10);
  } finally {
    process.off('warning', listen);
  }
  assert.equal(process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED, 'true');
  assert.deepEqual(warnings, ['CanaryWarning: a warning of someone else']);
});

test('an S3 run prints no NodeVersionSupportWarning on Node 20', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'sensor_data.db');
  createSensorDb(db, Array.from({ length: 20 }, (_, i) => goodRow(i + 1)));
  const s3 = await startS3Server();
  t.after(() => s3.dispose());
  // NODE_NO_WARNINGS (which the test helper sets) would hide every warning: unset, as on a node.
  const r = await runCli(['run', '--db', db, '--s3-endpoint', s3.endpoint, '--create-buckets', '--once', '--no-progress'], {
    env: { ...S3RVER_ENV, NODE_NO_WARNINGS: undefined, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: undefined },
  });
  assert.equal(r.code, 0, describeResult(r));
  assert.equal(maxId(db), checkpointId(db));
  assert.doesNotMatch(r.stderr, /NodeVersionSupportWarning|AWS SDK for JavaScript/);
  assert.doesNotMatch(r.stderr, /\(node:\d+\)/, 'no warning of any kind on a clean S3 run');
});

test('--metrics-addr on a port already in use is a configuration error naming the flag (exit 2)', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'sensor_data.db');
  createSensorDb(db, [goodRow(1)]);
  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  t.after(() => busy.close());
  const port = (busy.address() as AddressInfo).port;
  const r = await runCli(['run', '--db', db, '--lake', join(dir, 'lake'), '--once', '--no-progress', '--metrics-addr', String(port)]);
  assert.equal(r.code, 2, describeResult(r));
  assert.match(r.stderr, new RegExp(`--metrics-addr 127\\.0\\.0\\.1:${port} cannot be served \\(EADDRINUSE\\): the port is in use`));
});
