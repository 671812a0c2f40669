/**
 * Proof under S3 faults: `edgelake run` in follow mode against a real S3-protocol server (s3rver),
 * cut away entirely or reached through a fault-injecting proxy (500 InternalError, 503 SlowDown,
 * slow answers, connection resets, intermittent failures, no answer at all). Each scenario ends
 * by reading the bucket back: every id landed exactly once, and nothing the checkpoint does not cover.
 */
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { setTimeout as delay } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { spawnCli, describeResult, type CliChild } from './helpers/cli.ts';
import { tempDir } from './helpers/tmp.ts';
import { until } from './helpers/until.ts';
import { checkpointId, createSensorDb, goodRow, maxId, query } from './helpers/sensor-db.ts';
import { INGESTION_BUCKET, VALIDATED_BUCKET, exactlyOnceProblems, idCounts, readS3, type LakeObject } from './helpers/lake.ts';
import { S3RVER_CREDENTIALS, S3RVER_ENV, startS3Server, type S3ServerHandle } from './helpers/s3server.ts';
import { startFaultProxy, type FaultMode, type FaultProxy } from './helpers/fault-proxy.ts';
import { READING_COLUMNS } from '../src/source/schema.ts';

const ENRICHED_BUCKET = 'expanso-databricks-enriched-us-west-2';
const EMERGENCY_BUCKET = 'expanso-databricks-emergency-us-west-2';

/** The runner's warning after a batch's upload used up the sink's retries (src/pipeline/run.ts). */
const RETRY_WARNING = /^edgelake warning: .*retrying in [\d.]+ s$/gm;

/**
 * Patience for a child's first batch, ms: a start (tsx, kernels, worker threads) costs ~2.5 s of CPU,
 * and on 2 cores shared with other suites it has taken 20 s and more.
 */
const FIRST_BATCH_MS = 45_000;
/** Safety net: a CLI child still running after this long is killed and its test fails, ms. */
const CHILD_LIMIT_MS = 90_000;

/** Starts `run` in follow mode against `endpoint`, killed at the end of the test if still running. */
function follow(t: TestContext, db: string, endpoint: string, ...extra: string[]): CliChild {
  const run = spawnCli(
    ['run', '--db', db, '--s3-endpoint', endpoint, '--create-buckets', '--node-id', 'faulty', '--batch-timeout', '100ms', '--poll-interval', '50ms', '--no-progress', ...extra],
    { env: S3RVER_ENV, timeoutMs: CHILD_LIMIT_MS },
  );
  t.after(() => {
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
  });
  return run;
}

/** Polls the live checkpoint until it reaches `id` (the state db is the only signal a separate process gives). */
async function checkpointReaches(db: string, id: number, run: CliChild, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((checkpointId(db) ?? 0) < id) {
    if (run.child.exitCode !== null) throw new Error(`run exited early (${run.child.exitCode}):\n${run.stderr()}`);
    if (Date.now() > deadline) throw new Error(`checkpoint ${checkpointId(db)} did not reach ${id} in ${timeoutMs} ms:\n${run.stderr()}`);
    await delay(20);
  }
}

/** SIGTERM, then the exit: must be 0 (follow mode finishes the batch in flight and stops cleanly). */
async function stop(run: CliChild): Promise<string> {
  run.child.kill('SIGTERM');
  const r = await run.exited;
  assert.equal(r.code, 0, describeResult(r));
  return r.stderr;
}

/** Asserts that nothing credential-like reached the log. */
function assertNoSecrets(stderr: string): void {
  for (const secret of [S3RVER_CREDENTIALS.accessKeyId, S3RVER_CREDENTIALS.secretAccessKey, 'AWS4-HMAC-SHA256', 'Signature=', 'Credential=']) {
    assert.ok(!stderr.includes(secret), `the log contains "${secret}":\n${stderr}`);
  }
}

/** Appends rows to the sensor db the way a sensor process does: one prepared insert, one transaction per call. */
class Writer {
  readonly #db: Database.Database;
  readonly #insert: Database.Statement;
  readonly #columns: string[];
  #n = 0;

  constructor(path: string) {
    this.#db = new Database(path);
    this.#db.pragma('busy_timeout = 10000');
    this.#columns = READING_COLUMNS.map((c) => c.name).filter((c) => c !== 'id');
    this.#insert = this.#db.prepare(
      `INSERT INTO sensor_readings (${this.#columns.map((c) => `"${c}"`).join(', ')}) VALUES (${this.#columns.map(() => '?').join(', ')})`,
    );
  }

  /** Writes `count` well-formed rows; returns the new max id. */
  append(count: number): number {
    this.#db.transaction(() => {
      for (let i = 0; i < count; i++) {
        const row = goodRow(++this.#n) as Record<string, unknown>;
        this.#insert.run(...this.#columns.map((c) => row[c] ?? null));
      }
    })();
    return this.#n;
  }

  close(): void {
    this.#db.close();
  }
}

/**
 * A fresh sensor database with an in-process writer, and s3rver behind a fault proxy (passing
 * everything until a test sets a mode); all closed when the test ends.
 */
async function behindProxy(t: TestContext): Promise<{ db: string; server: S3ServerHandle; proxy: FaultProxy; writer: Writer }> {
  const db = join(tempDir(t), 'sensor_data.db');
  createSensorDb(db);
  const server = await startS3Server();
  t.after(() => server.dispose());
  const proxy = await startFaultProxy({ target: server.endpoint });
  t.after(() => proxy.close());
  const writer = new Writer(db);
  t.after(() => writer.close());
  return { db, server, proxy, writer };
}

/** Resident set size of a process in KiB, from /proc (Linux), or null once it is gone. */
function rssKiB(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/**
 * The ids of every `*.jsonl.gz` object of `bucket` in the s3rver store, as objects {@link exactlyOnceProblems}
 * takes. Row records start with `{"id":N` (src/stages/ingestion.ts, typed.ts), so the id is read off
 * each line's start instead of parsing 100k+ records; a line that does not start so is parsed in full.
 */
async function readS3Ids(server: S3ServerHandle, bucket: string): Promise<LakeObject[]> {
  const out: LakeObject[] = [];
  for (const key of await server.listKeys(bucket)) {
    if (!key.endsWith('.jsonl.gz')) continue;
    const lines = gunzipSync(await server.readObject(bucket, key)).toString('utf8').split('\n');
    const records = lines
      .filter((l) => l.length > 0)
      .map((l) => ({ id: Number(/^\{"id":(\d+)[,}]/.exec(l)?.[1] ?? (JSON.parse(l) as { id: unknown }).id) }));
    out.push({ bucket, key, records });
  }
  return out;
}

/** The pending (write-ahead) batches recorded in the state db, with their id ranges. */
function pendingBatches(db: string): Array<{ cursor: string; afterId: number; lastId: number }> {
  return query<{ cursor: string; pending: string }>(db, 'SELECT cursor, pending FROM edgelake_checkpoints WHERE pending IS NOT NULL').map((r) => {
    const p = JSON.parse(r.pending) as { afterId: number; lastId: number };
    return { cursor: r.cursor, afterId: p.afterId, lastId: p.lastId };
  });
}

/**
 * Where the alert path stands, from edgelake's private file beside the state: the detector's saved
 * position (0 before its first save), or -1 while some detected alert is not yet in the emergency bucket.
 */
function alertCursor(db: string): number {
  try {
    const pending = query<{ n: number }>(`${db}.private`, 'SELECT count(*) AS n FROM alerts WHERE seq > (SELECT to_seq FROM emergency_uploaded)')[0].n;
    if (pending > 0) return -1;
    return query<{ last_id: number }>(`${db}.private`, "SELECT last_id FROM alert_cursor WHERE name = 'alerts'")[0]?.last_id ?? 0;
  } catch (err) {
    if (/no such table|unable to open/.test((err as Error).message)) return 0;
    throw err;
  }
}

// The scenarios run one after the other (each starts a CLI, and starts are CPU-heavy on 2 cores);
// the stop-while-hanging check beside them, since it mostly waits.
describe('edgelake run in follow mode under S3 faults', { concurrency: 2, timeout: 180_000 }, () => {
  test(
    'SIGTERM while S3 does not answer at all stops run within 8 s with exit 0, leaving the batch pending for the next run',
    async (t) => {
      const { db, server, proxy, writer } = await behindProxy(t);
      const run = follow(t, db, proxy.endpoint, '--batch-size', '500');
      const landed = writer.append(300);
      await checkpointReaches(db, landed, run, FIRST_BATCH_MS);

      // A black hole: requests are taken, and answered only after 10 minutes.
      proxy.setMode({ mode: 'slow', delayMs: 600_000 });
      writer.append(200);
      await proxy.injectedAtLeast('slow', 1, 30_000);
      const signalled = Date.now();
      run.child.kill('SIGTERM');
      const exited = await Promise.race([run.exited, delay(8_000).then(() => null)]);
      assert.ok(exited, `run was still running ${Date.now() - signalled} ms after SIGTERM:\n${run.stderr()}`);
      assert.equal(exited.code, 0, describeResult(exited));
      assert.equal(checkpointId(db), landed, 'the unanswered batch did not move the checkpoint');
      assert.equal(pendingBatches(db).length, 1, 'the batch stays pending, to be replayed onto the same keys');
    },
  );

  describe('outages and faulty answers', () => {
    test('run keeps following through an S3 outage: it warns without secrets, catches up after S3 returns, and lands every row once', async (t) => {
      const dir = tempDir(t);
      const db = join(dir, 'sensor_data.db');
      createSensorDb(db);
      const server = await startS3Server();
      t.after(() => server.dispose());
      const run = follow(t, db, server.endpoint, '--batch-size', '1000');
      // A separate sensor process writes live rows (with anomalies, so the alert router uploads too) all along.
      const writer = spawnCli(['simulate', '--db', db, '--duration', '50s', '--rate', '800', '--sensors', '10', '--seed', '5'], { timeoutMs: CHILD_LIMIT_MS });
      t.after(() => {
        if (writer.child.exitCode === null) writer.child.kill('SIGKILL');
      });

      await checkpointReaches(db, 1, run, FIRST_BATCH_MS);
      await server.stop();
      const atStop = maxId(db);
      // One failed round is reported; that the process kept retrying shows when it catches up after the restart.
      await until('a retry warning from run', () => (run.stderr().match(RETRY_WARNING)?.length ?? 0) >= 1 || run.child.exitCode !== null, 25_000);
      assert.equal(run.child.exitCode, null, `run exited during the outage:\n${run.stderr()}`);
      const atRestart = maxId(db);
      assert.ok(atRestart > atStop, `the writer kept writing during the outage (max id ${atStop} → ${atRestart})`);
      await server.restart();

      // Catch up with the outage's backlog while the writer still writes, then let the writer finish.
      await checkpointReaches(db, atRestart, run);
      writer.child.kill('SIGTERM');
      const w = await writer.exited;
      assert.equal(w.code, 0, describeResult(w));
      const last = maxId(db);
      await checkpointReaches(db, last, run);
      // The emergency uploader backs off on its own schedule; let it finish the outage's alerts too.
      await until('the alert cursor at the last id, every alert uploaded', () => alertCursor(db) >= last, 20_000);
      const stderr = await stop(run);

      const warnings = stderr.match(RETRY_WARNING) ?? [];
      assert.ok(warnings.some((l) => /ECONNREFUSED|cannot reach/.test(l)), `a warning names the unreachable endpoint:\n${warnings.join('\n')}`);
      assertNoSecrets(stderr);
      assert.equal(exactlyOnceProblems(await readS3Ids(server, INGESTION_BUCKET), last), null);
      assert.equal(checkpointId(db), last);
      // Alerts were uploaded through the same outage: none twice.
      const alertIds = idCounts(await readS3(server, EMERGENCY_BUCKET));
      assert.ok(alertIds.size > 0, 'the simulated anomalies raised alerts');
      const twice = [...alertIds].filter(([, n]) => n > 1).map(([id]) => id);
      assert.deepEqual(twice, [], 'no alert is stored twice');
      t.diagnostic(`outage: ids ${atStop}..${atRestart} written while S3 was down; ${warnings.length} retry warnings; ${last} rows in total`);
    });

    test('through 500s, 503 SlowDown, connection resets, slow and intermittent answers, the validated stage lands every row once', async (t) => {
      const { db, server, proxy, writer } = await behindProxy(t);
      const run = follow(t, db, proxy.endpoint, '--type', 'validated', '--batch-size', '500');

      await checkpointReaches(db, writer.append(700), run, FIRST_BATCH_MS);
      // Hard faults: more of them than the sink's 5 tries per request, so the runner's own retry also runs.
      const hard: FaultMode[] = [{ mode: 'status', status: 500 }, { mode: 'status', status: 503 }, { mode: 'reset' }];
      for (const mode of hard) {
        const before = proxy.stats.injected[mode.mode];
        proxy.setMode(mode);
        const last = writer.append(600);
        await proxy.injectedAtLeast(mode.mode, before + 6, 30_000);
        assert.equal(run.child.exitCode, null, `run survived ${JSON.stringify(mode)}:\n${run.stderr()}`);
        proxy.setMode({ mode: 'pass' });
        await checkpointReaches(db, last, run);
      }
      // Soft faults: progress continues while they last.
      proxy.setMode({ mode: 'slow', delayMs: 200 });
      await checkpointReaches(db, writer.append(1000), run);
      proxy.setMode({ mode: 'every-nth', n: 2, status: 503 });
      await checkpointReaches(db, writer.append(1000), run);
      proxy.setMode({ mode: 'pass' });
      const last = writer.append(300);
      await checkpointReaches(db, last, run);
      const stderr = await stop(run);

      const { received, injected } = proxy.stats;
      t.diagnostic(`proxy: received ${JSON.stringify(received)}, injected ${JSON.stringify(injected)}`);
      const served = (status: number) => proxy.requests.filter((r) => r.faultStatus === status && r.mode === 'status').length;
      assert.ok(served(500) >= 6 && served(503) >= 6, `500 InternalError (${served(500)}) and 503 SlowDown (${served(503)}) were served`);
      assert.ok(injected.reset >= 6, `connections were reset: ${injected.reset}`);
      assert.ok(injected.slow >= 3, `slow answers were served: ${injected.slow}`);
      assert.ok(injected['every-nth'] >= 1 && received['every-nth'] > injected['every-nth'], `intermittent failures were served: ${injected['every-nth']}`);
      // The faults hit the uploads themselves, not only bucket checks.
      assert.ok(proxy.requests.some((r) => r.injected && r.method === 'PUT' && r.mode === 'reset'), 'a PutObject was reset');
      const warnings = stderr.match(RETRY_WARNING) ?? [];
      for (const what of [/InternalError/, /SlowDown/, /ECONNRESET|EPIPE|socket hang up/]) {
        assert.ok(warnings.some((l) => what.test(l)), `a retry warning names ${what}:\n${warnings.join('\n')}`);
      }
      assertNoSecrets(stderr);
      assert.equal(exactlyOnceProblems(await readS3Ids(server, VALIDATED_BUCKET), last), null);
      assert.deepEqual(await server.listKeys(INGESTION_BUCKET), [], 'the --type override sent nothing to the ingestion bucket');
      assert.equal(checkpointId(db), last);
      const types = query<{ t: string }>(db, 'SELECT DISTINCT pipeline_type AS t FROM pipeline_executions').map((r) => r.t);
      assert.deepEqual(types, ['validated']);
    });

    test('while S3 is down, the backlog stays in the sensor db (at most one pending batch, flat RSS), and SIGTERM still stops run promptly with exit 0', async (t) => {
      const BATCH = 2000;
      const OUTAGE_ROWS = 120_000;
      const { db, server, proxy, writer } = await behindProxy(t);
      const run = follow(t, db, proxy.endpoint, '--type', 'enriched', '--batch-size', String(BATCH));
      const pid = run.child.pid!;

      // Warm up: the stage, its kernels and the SDK are loaded and a few batches went through.
      await checkpointReaches(db, writer.append(3 * BATCH), run, FIRST_BATCH_MS);
      const baseline = rssKiB(pid)!;
      proxy.setMode({ mode: 'reset' });
      const landedBefore = checkpointId(db)!;

      let peak = baseline;
      let maxPending = 0;
      const sample = (): void => {
        peak = Math.max(peak, rssKiB(pid) ?? 0);
        const pending = pendingBatches(db);
        maxPending = Math.max(maxPending, pending.length);
        for (const p of pending) assert.ok(p.lastId - p.afterId <= BATCH, `pending batch ${JSON.stringify(p)} is at most one batch`);
      };
      // Many rows arrive during the outage, in chunks, with the process sampled between them and afterwards.
      for (let written = 0; written < OUTAGE_ROWS; written += 10_000) {
        writer.append(10_000);
        sample();
        await delay(50);
      }
      const resetsSoFar = proxy.stats.injected.reset;
      await until('another failed try and a second retry warning after the rows were written', () => (run.stderr().match(RETRY_WARNING)?.length ?? 0) >= 2 && proxy.stats.injected.reset > resetsSoFar, 20_000);
      sample();
      assert.equal(run.child.exitCode, null, `run survived the outage:\n${run.stderr()}`);
      assert.equal(checkpointId(db), landedBefore, 'nothing landed while every connection was reset');
      t.diagnostic(`RSS baseline ${Math.round(baseline / 1024)} MiB, peak during the outage ${Math.round(peak / 1024)} MiB; max pending batches ${maxPending}`);
      assert.ok(maxPending <= 1, `pending batches: ${maxPending}`);
      // Holding the outage's rows in memory would take far more than this (120k enriched records are about 190 MB of JSON, 1.6 KB each).
      assert.ok(peak - baseline < 96 * 1024, `RSS grew by ${Math.round((peak - baseline) / 1024)} MiB during the outage`);

      // Stopped mid-outage, the batch in flight cannot finish: run gives it up, exits 0, and leaves it pending for the next run.
      const signalled = Date.now();
      const stderr = await stop(run);
      const stopMs = Date.now() - signalled;
      t.diagnostic(`exited ${stopMs} ms after SIGTERM`);
      assert.ok(stopMs < 10_000, `run took ${stopMs} ms to stop`);
      assertNoSecrets(stderr);
      assert.equal(checkpointId(db), landedBefore);
      assert.equal(pendingBatches(db).length, 1, 'the batch in flight is still recorded as pending');
      // Exactly the rows before the outage are in the bucket: nothing of the outage's rows landed, not even partly.
      assert.equal(exactlyOnceProblems(await readS3Ids(server, ENRICHED_BUCKET), landedBefore), null);
    });
  });
});
