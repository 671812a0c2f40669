/**
 * Issue 11, test 2: webhook secrets appear nowhere. Canary URLs of every secret form — user info,
 * a Slack-style path token, `?api_key=`, `?sig=`, `?code=`, any other query value — are given as
 * `--alert-webhook` receivers: three reachable, one answering 500 (whose reason phrase and body
 * echo its secret path back), one refusing connections, one redirecting (to a location holding a
 * canary of its own). They go through every stage into S3 and into a lake folder (with a separate
 * `--state-db`), through a follower that loses its receiver and then S3, and through bad
 * configuration. Then the canaries are searched for in: every process's stdout and stderr,
 * `pipeline history` (also --json), `pipeline get`, `state show` (also --json), the follower's
 * Prometheus `/metrics` and `/healthz` (during the outage and after), every row of every
 * table of the state databases and the private files, the raw bytes of every database file and
 * its -wal/-shm (also while the follower runs), the lock files, every lake object and s3rver's
 * whole store (bodies beside their metadata files).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertBuilt, runBuilt, spawnBuilt } from './helpers/built-cli.ts';
import { describeResult, type CliResult } from './helpers/cli.ts';
import { refusedPort, startRecorder, startTrap, type Recorder, type Trap } from './helpers/receivers.ts';
import { S3RVER_ENV, startS3Server, type S3ServerHandle } from './helpers/s3server.ts';
import { Scan, walkFiles } from './helpers/scan.ts';
import { checkpointId, maxId, query } from './helpers/sensor-db.ts';
import { metricsAddress } from './helpers/ops.ts';
import { until } from './helpers/until.ts';
import { redact, redactUrl } from '../src/redact.ts';

/** The secret parts of the receivers' URLs. */
const C = {
  user: 'cnryUserQ7x2',
  pass: 'cnryPassW8k4',
  slackTeam: 'T0CNRY1Z9',
  slackBot: 'B0CNRY2Y8',
  slackToken: 'cnrySlackXq3M7',
  apiKey: 'cnryApiKey5R1t',
  sig: 'cnrySig6P2w',
  code: 'cnryCode7N3v',
  other: 'cnryTenant8M4b',
  location: 'cnryLocation9L5c',
  config: 'cnryConfig0K6d',
} as const;
/** Every canary, and the Basic authorization the user info becomes (it must reach only its receiver). */
const NEEDLES = [...Object.values(C), Buffer.from(`${C.user}:${C.pass}`).toString('base64')];
const STAGES = ['ingestion', 'validated', 'enriched', 'aggregated'] as const;

describe('webhook secrets appear nowhere', () => {
  let dir: string;
  let s3: S3ServerHandle;
  let ok: Recorder;
  let failing: Recorder;
  let redirecting: Recorder;
  let trap: Trap;
  let webhooks: string[];
  const outputs: Array<{ what: string; r: CliResult }> = [];
  let midRun: Scan;

  const cli = async (what: string, args: string[], env?: Record<string, string | undefined>): Promise<CliResult> => {
    const r = await runBuilt(args, { env, timeoutMs: 60_000 });
    outputs.push({ what, r });
    return r;
  };

  before(async () => {
    assertBuilt();
    dir = mkdtempSync(join(tmpdir(), 'edgelake-canaries-'));
    s3 = await startS3Server();
    trap = await startTrap();
    ok = await startRecorder();
    failing = await startRecorder({ answer: (r) => ({ status: 500, reason: `Internal error at ${r.target}`, body: `no route for ${r.target}` }) });
    redirecting = await startRecorder({ answer: () => ({ status: 307, headers: { location: `${trap.origin}/next?token=${C.location}` } }) });
    webhooks = [
      `http://${C.user}:${C.pass}@127.0.0.1:${ok.port}/userinfo`,
      `http://127.0.0.1:${failing.port}/services/${C.slackTeam}/${C.slackBot}/${C.slackToken}`,
      `http://127.0.0.1:${await refusedPort()}/hook?api_key=${C.apiKey}`,
      `http://127.0.0.1:${redirecting.port}/hook?sig=${C.sig}`,
      `http://127.0.0.1:${ok.port}/oauth/callback?code=${C.code}`,
      `http://127.0.0.1:${ok.port}/hook?tenant=${C.other}&region=eu`,
    ];
  });

  after(async () => {
    await Promise.all([ok?.close(), failing?.close(), redirecting?.close(), trap?.close(), s3?.dispose()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const hooks = () => webhooks.flatMap((u) => ['--alert-webhook', u]);

  test('every stage, into S3 and into a lake folder with a separate state database, delivers to the reachable canary receivers and fails on the others', { timeout: 90_000 }, async () => {
    const targets = [
      { db: join(dir, 'sensors-s3.db'), state: [] as string[], dest: ['--s3-endpoint', s3.endpoint, '--create-buckets'], env: S3RVER_ENV },
      { db: join(dir, 'sensors-lake.db'), state: ['--state-db', join(dir, 'state-lake.db')], dest: ['--lake', join(dir, 'lake')], env: undefined },
    ];
    for (const [i, type] of STAGES.entries()) {
      for (const x of targets) {
        const sim = await cli('simulate', ['simulate', '--db', x.db, '--rows', '300', '--sensors', '4', '--anomaly-rate', '0.2', '--seed', String(i + 1)]);
        assert.equal(sim.code, 0, describeResult(sim));
        const set = await cli(`pipeline set ${type}`, ['pipeline', 'set', '--type', type, '--by', 'canary-test', '--db', x.db, ...x.state]);
        assert.equal(set.code, 0, describeResult(set));
        const r = await cli(`run --once ${type}`, ['run', '--db', x.db, ...x.state, '--once', ...x.dest, '--node-id', 'canary', '--alert-rate-limit', '0', '--no-progress', ...hooks()], x.env);
        assert.equal(r.code, 0, describeResult(r));
        assert.equal(checkpointId(x.state.length ? x.state[1] : x.db), maxId(x.db), `${type}: every row landed`);
      }
    }
    // The canaries were really in use: each reached its own receiver, and only there.
    assert.ok(ok.receipts.some((r) => r.target === '/userinfo' && r.headers.authorization === `Basic ${NEEDLES.at(-1)}`), 'user info arrives as Basic authorization');
    assert.ok(ok.receipts.some((r) => r.target.includes(C.code)) && ok.receipts.some((r) => r.target.includes(C.other)));
    assert.ok(failing.receipts.some((r) => r.target.includes(C.slackToken)));
    assert.ok(redirecting.receipts.some((r) => r.target.includes(C.sig)));
    assert.equal(trap.connections, 0, 'the redirect was not followed');
  });

  test('a follower keeps the canaries out of everything while its receiver is down and while S3 is down', { timeout: 90_000 }, async () => {
    const db = join(dir, 'sensors-s3.db');
    const privateFile = `${db}.private`;
    const okNames = webhooks.filter((u) => u.includes(`:${ok.port}/`)).map((u) => redactUrl(u));
    const landed = checkpointId(db)!;
    const run = spawnBuilt(['run', '--db', db, '--s3-endpoint', s3.endpoint, '--node-id', 'canary', '--alert-rate-limit', '0', '--batch-timeout', '200ms', '--poll-interval', '50ms', '--metrics-addr', '127.0.0.1:0', '--no-progress', ...hooks()], {
      env: S3RVER_ENV,
      timeoutMs: 80_000,
    });
    // The writer runs until both outages are over (SIGTERM below), not for a guessed time: rows arrive
    // all through them, and the test does not wait out a fixed duration. --duration only bounds it.
    const writer = spawnBuilt(['simulate', '--db', db, '--duration', '80s', '--rate', '60', '--sensors', '4', '--anomaly-rate', '0.2', '--seed', '9'], { timeoutMs: 90_000 });
    // Prometheus series and the health check name receivers too (queue depth, POSTs per receiver).
    const scrapeOps = async (when: string) => {
      for (const path of ['/metrics', '/healthz']) {
        const res = await fetch(`http://${addr}${path}`);
        outputs.push({ what: `GET ${path} ${when}`, r: { code: res.status, signal: null, stdout: await res.text(), stderr: '' } });
      }
    };
    let addr = '';
    try {
      addr = await metricsAddress(run);
      const received = ok.firstSeen.size;
      await until('live alerts at the reachable receivers', () => ok.firstSeen.size > received + 10, 30_000);
      await ok.stop();
      await until('failed deliveries to the receiver that went down', () => query<{ n: number }>(privateFile, `SELECT count(*) AS n FROM deliveries WHERE receiver IN (${okNames.map(() => '?').join(',')}) AND attempts > 0`, ...okNames)[0].n > 0, 20_000);
      await s3.stop();
      await until('the follower to report S3 down', () => /emergency bucket failed/.test(run.stderr()) && /retrying in/.test(run.stderr()), 20_000);
      // While it runs: the live database files, -wal and -shm included, byte for byte.
      midRun = new Scan(NEEDLES);
      for (const f of walkFiles(dir)) midRun.file(f);
      await scrapeOps('during the outage');
      await s3.restart();
      await ok.restart();
      assert.ok(writer.child.exitCode === null && writer.child.signalCode === null, `the writer was still adding rows when the outages ended: ${writer.stderr()}`);
      writer.child.kill('SIGTERM');
      assert.equal((await writer.exited).code, 0);
      const rows = maxId(db);
      await until('every row landed after S3 returned', () => checkpointId(db) === rows, 40_000);
      assert.ok(rows > landed, 'the writer added rows');
      await scrapeOps('after the outage');
    } finally {
      run.child.kill('SIGTERM');
    }
    const r = await run.exited;
    outputs.push({ what: 'follower', r: { ...r } });
    assert.equal(r.code, 0, describeResult(r));
    assert.match(r.stderr, /alert webhook http:\/\/127\.0\.0\.1:\d+ #[0-9a-f]{8} keeps failing/, 'failing receivers are reported, by name');
    assert.equal(midRun.hits.length, 0, `canaries in the live files: ${JSON.stringify(midRun.hits.slice(0, 3))}`);
    const metrics = outputs.find((o) => o.what === 'GET /metrics after the outage')!.r.stdout;
    for (const name of webhooks.map((u) => redactUrl(u))) assert.ok(metrics.includes(name), `the metrics name receiver ${name}`);
  });

  test('a receiver has one name in logs and state rows: the log redactor leaves a redactUrl name as it is and still redacts the URL beside it', () => {
    const url = webhooks[1];
    const name = redactUrl(url);
    assert.match(name, /^http:\/\/127\.0\.0\.1:\d+ #[0-9a-f]{8}$/);
    // Regression: the name used to be hashed again in log lines ("http://127.0.0.1:1 #10d8eb39 #393ce1b5").
    assert.equal(redact(`alert webhook ${name} keeps failing; see ${url}.`), `alert webhook ${name} keeps failing; see ${name}.`);
  });

  test("an unexpected failure's stack trace keeps its file:/// frames readable while the URLs in its message are redacted", () => {
    const stack = `TypeError: POST to ${webhooks[4]} failed\n    at post (file:///work/main/build/alerts/post.js:12:5)`;
    // Regression: every frame used to become "<url #hash>", which made a crash report useless.
    assert.equal(redact(stack), `TypeError: POST to ${redactUrl(webhooks[4])} failed\n    at post (file:///work/main/build/alerts/post.js:12:5)`);
  });

  test('bad --alert-webhook values are refused naming the flag, without their secrets', async () => {
    for (const url of [`ftp://${C.user}:${C.pass}@hooks.example.com/x?api_key=${C.apiKey}`, `http://[${C.config}/services/${C.slackToken}?code=${C.code}`]) {
      const r = await cli('bad webhook', ['run', '--db', join(dir, 'sensors-lake.db'), '--state-db', join(dir, 'state-lake.db'), '--once', '--lake', join(dir, 'lake'), '--alert-webhook', url]);
      assert.equal(r.code, 2, describeResult(r));
      assert.match(r.stderr, /--alert-webhook/);
    }
  });

  test(
    'a webhook URL without its scheme is refused without echoing its path or query',
    async () => {
      const r = await runBuilt(['run', '--db', join(dir, 'sensors-lake.db'), '--state-db', join(dir, 'state-lake.db'), '--once', '--lake', join(dir, 'lake'), '--alert-webhook', `hooks.slack.com/services/T000/B000/${C.config}`]);
      assert.equal(r.code, 2, describeResult(r));
      assert.ok(!r.stderr.includes(C.config), `the secret path is echoed: ${r.stderr.trim()}`);
    },
  );

  test('no canary in any output, history, state, database row, database page, WAL, lock file, lake object, S3 object or its metadata', { timeout: 60_000 }, async (t) => {
    assert.ok(midRun, 'the follower test ran');
    const s3Db = join(dir, 'sensors-s3.db');
    const lakeDb = ['--db', join(dir, 'sensors-lake.db'), '--state-db', join(dir, 'state-lake.db')];
    for (const db of [['--db', s3Db], lakeDb]) {
      for (const args of [['pipeline', 'history', '--limit', '1000'], ['pipeline', 'history', '--limit', '1000', '--json'], ['pipeline', 'get'], ['state', 'show'], ['state', 'show', '--json']]) {
        const r = await cli(args.join(' '), [...args, ...db]);
        assert.equal(r.code, 0, describeResult(r));
      }
    }
    const history = outputs.find((o) => o.what === 'pipeline history --limit 1000')!.r.stdout;
    assert.match(history, /canary-test/, 'the history lists the switches');
    const scan = new Scan(NEEDLES);
    for (const { what, r } of outputs) {
      scan.text(`${what} stdout`, r.stdout);
      scan.text(`${what} stderr`, r.stderr);
    }
    for (const f of [s3Db, `${s3Db}.private`, join(dir, 'sensors-lake.db'), join(dir, 'state-lake.db'), join(dir, 'state-lake.db.private')]) scan.sqlite(f);
    scan.tree(dir);
    scan.tree(s3.dir);
    const files = walkFiles(dir).map((f) => f.slice(dir.length + 1));
    assert.ok(files.includes('state-lake.db.private') && files.includes('sensors-s3.db.private') && files.some((f) => f.endsWith('.lock')), `scanned ${files.filter((f) => !f.startsWith('lake/')).join(', ')}`);
    assert.ok(walkFiles(s3.dir).some((f) => f.includes('metadata')), "s3rver's metadata files are scanned");
    // The scanner finds what is there.
    const control = new Scan(NEEDLES);
    control.text('control', `…/services/T000/B000/${C.slackToken.toUpperCase()}…`);
    assert.equal(control.hits.length, 1);
    assert.deepEqual(scan.hits.concat(midRun.hits), [], 'canaries found');
    t.diagnostic(`canaries found = 0 (${NEEDLES.length} canaries); final scan: ${scan.summary()}; during the follower's outage: ${midRun.summary()}; ${outputs.length} outputs (each CLI run's stdout and stderr, the follower's /metrics and /healthz)`);
  });
});
