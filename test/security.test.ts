/**
 * Secrets and file permissions. Canary credentials — AWS keys and session token, a GPS fuzzing
 * key, webhook URLs with user:password and a token query parameter — go through two follow-mode
 * runs, one to a lake folder and one to S3 (s3rver, signed with the canary keys), each switched
 * through every stage the way an operator does it (`pipeline set`, then new rows), with alerts on,
 * a real webhook receiver and one that is down (so alerts stay queued). Then everything written is
 * scanned for each canary: lake files (gunzipped too), S3 object bodies and HeadObject metadata,
 * s3rver's store, the CLI output, every table of the sensor and state databases, their raw pages
 * (free pages keep deleted rows) and their -wal/-shm files, read while the runs were active.
 * test/secrets.test.ts covers `--once` runs of the first three stages to a lake and a generated
 * fuzz key on S3; this file adds the aggregated stage, alerts and webhooks, canary AWS keys on S3
 * itself, object metadata, the databases' raw bytes and WAL, and file permissions.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { GetObjectCommand, HeadObjectCommand, ListBucketsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { simulate } from '../src/simulate/index.ts';
import { openStateDb } from '../src/state/open.ts';
import { StateStore } from '../src/state/store.ts';
import { describeResult, runCli, spawnCli, type CliResult } from './helpers/cli.ts';
import { S3RVER_CREDENTIALS, startS3Server, type S3ServerHandle } from './helpers/s3server.ts';
import { query } from './helpers/sensor-db.ts';
import { until } from './helpers/until.ts';

const STAGES = ['ingestion', 'validated', 'enriched', 'aggregated'] as const;
const AWS = { AWS_ACCESS_KEY_ID: 'AKIACANARYQ7W2E4R6T8', AWS_SECRET_ACCESS_KEY: 'canary-aws-secret-6c1f0e9b2d7a', AWS_SESSION_TOKEN: 'canary-session-3b8e5f1a9c' };
const FUZZ_KEY = 'canary-fuzz-key-8d2c4e6a0b';
const HOOK = { user: 'canaryhookuser', pass: 'canary-hook-pass-5e7a9c', token: 'canary-hook-token-2f4b6d' };
const DEAD = { user: 'canarydeaduser', pass: 'canary-dead-pass-1a3c5e', token: 'canary-dead-token-7b9d0f' };

/** Every canary, with the derived forms a leak could take (Basic authorization is base64 of user:pass). */
const CANARIES: Record<string, string> = {
  ...AWS,
  EDGELAKE_FUZZ_KEY: FUZZ_KEY,
  'webhook user': HOOK.user,
  'webhook password': HOOK.pass,
  'webhook token': HOOK.token,
  'webhook basic auth': Buffer.from(`${HOOK.user}:${HOOK.pass}`).toString('base64'),
  'dead webhook user': DEAD.user,
  'dead webhook password': DEAD.pass,
  'dead webhook token': DEAD.token,
  'dead webhook basic auth': Buffer.from(`${DEAD.user}:${DEAD.pass}`).toString('base64'),
};
/** The canaries that belong to a webhook URL (the alert outbox is where they could be kept). */
const WEBHOOK_CANARIES = Object.keys(CANARIES).filter((k) => k.includes('webhook'));

let dir = '';
let db = '';
let s3: S3ServerHandle;
let hook: Server;
const received: Array<{ url: string; headers: IncomingMessage['headers']; body: string }> = [];
const outputs: Array<{ what: string; r: CliResult }> = [];
/** `<canary name> in <where>` for every canary found anywhere. */
const findings: string[] = [];
const scanned = { files: 0, objects: 0, tables: 0 };
/** Webhook canaries found in the databases (checked by a test of their own, after the scan). */
const webhookFindings: string[] = [];
/** Canaries found in -wal/-shm files read while the runs were active. */
const walFindings: string[] = [];
/** Paths whose mode lets group or others in, seen while the runs were active. */
const permissionProblems: string[] = [];
let permissionsChecked = { walFiles: 0, lakePaths: 0 };

/** Adds a finding for each canary in `text`. */
function scan(text: string, where: string): void {
  for (const [name, value] of Object.entries(CANARIES)) if (text.includes(value)) findings.push(`${name} in ${where}`);
}

/** Every file below `root` (absolute paths). */
function filesUnder(root: string): string[] {
  if (!existsSync(root)) return [];
  return (readdirSync(root, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[]).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/** A file's bytes as text, and gunzipped when it is gzip. */
function fileText(path: string): string {
  const raw = readFileSync(path);
  const gz = raw[0] === 0x1f && raw[1] === 0x8b ? '\n' + gunzipSync(raw).toString('utf8') : '';
  return raw.toString('latin1') + gz;
}

/** Every row of every table (BLOBs as latin1), through SQLite rather than raw pages. */
function tablesText(path: string): string {
  const h = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const tables = h.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[];
    scanned.tables += tables.length;
    return tables
      .map((t) => `${t}\n` + JSON.stringify(h.prepare(`SELECT * FROM "${t}"`).all(), (_k, v: unknown) => (v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' ? Buffer.from((v as { data: number[] }).data).toString('latin1') : v)))
      .join('\n');
  } finally {
    h.close();
  }
}

/** A webhook receiver that answers the first POST with 503 (so a failure is recorded) and the rest with 200. */
async function startReceiver(): Promise<Server> {
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => (body += d));
    req.on('end', () => {
      received.push({ url: req.url ?? '', headers: req.headers, body });
      res.writeHead(received.length === 1 ? 503 : 200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

/** A loopback port nobody listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** `last_id` of the live checkpoint in `stateDb` (0 before the first commit). */
function landed(stateDb: string): number {
  if (!existsSync(stateDb)) return 0;
  try {
    return query<{ last_id: number }>(stateDb, "SELECT last_id FROM edgelake_checkpoints WHERE cursor = 'live'")[0]?.last_id ?? 0;
  } catch (err) {
    if (/no such table/.test((err as Error).message)) return 0;
    throw err;
  }
}

/** Makes `type` the active pipeline type in a state database, as `pipeline set` does. */
function switchTo(stateDb: string, type: (typeof STAGES)[number], separate: boolean): void {
  const h = separate ? openStateDb(stateDb) : new Database(stateDb);
  try {
    new StateStore(h).setType(type, 'security-test');
  } finally {
    h.close();
  }
}

/** File modes (octal) that let group or others in: `path: mode`. */
function openModes(paths: readonly string[], want: (p: string) => number): string[] {
  return paths.filter((p) => (statSync(p).mode & 0o777) !== want(p)).map((p) => `${p.slice(dir.length + 1)}: ${(statSync(p).mode & 0o777).toString(8)}, expected ${want(p).toString(8)}`);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'edgelake-security-'));
  db = join(dir, 'sensors.db');
  const s3State = join(dir, 'state-s3.db');
  const lake = join(dir, 'lake');
  const chunk = (i: number) => simulate({ db, rows: 600, sensors: 5, anomalyRate: 0.15, seed: 11 + i, startMs: Date.UTC(2025, 7, 15, 6) + i * 1_200_000, spanMs: 1_200_000 });
  await chunk(0);
  hook = await startReceiver();
  s3 = await startS3Server();
  // s3rver accepts only access key ids it knows (it does not check v4 signatures): teach it the canary one.
  const account = createRequire(import.meta.url)('s3rver/lib/models/account.js') as { DUMMY_ACCOUNT: { createKeyPair(id: string, secret: string): void } };
  account.DUMMY_ACCOUNT.createKeyPair(AWS.AWS_ACCESS_KEY_ID, AWS.AWS_SECRET_ACCESS_KEY);
  const live = `http://${HOOK.user}:${HOOK.pass}@127.0.0.1:${(hook.address() as AddressInfo).port}/alerts?token=${HOOK.token}`;
  const dead = `http://${DEAD.user}:${DEAD.pass}@127.0.0.1:${await closedPort()}/alerts?token=${DEAD.token}`;
  const env = { ...AWS, AWS_REGION: 'us-west-2', EDGELAKE_FUZZ_KEY: FUZZ_KEY, EDGELAKE_FUZZ_KEY_FILE: undefined };
  const common = ['--db', db, '--batch-size', '1000', '--batch-timeout', '300ms', '--node-id', 'canary-node', '--no-progress', '--alert-min-priority', 'low', '--alert-rate-limit', '0'];
  // Two followers, each switched through every stage as an operator would (pipeline set, new rows):
  // the lake one keeps its state in the sensor database, the S3 one in a new --state-db file, and
  // signs every request with the canary AWS keys. One webhook answers, one is down.
  const followers = [
    { what: 'lake', state: db, separate: false, child: spawnCli(['run', ...common, '--lake', lake, '--alert-webhook', live], { env }) },
    {
      what: 's3',
      state: s3State,
      separate: true,
      child: spawnCli(['run', ...common, '--state-db', s3State, '--s3-endpoint', s3.endpoint, '--create-buckets', '--alert-webhook', live, '--alert-webhook', dead], { env }),
    },
  ];
  // A usage error echoes its input: it may not echo a secret.
  const usage = [
    runCli(['run', ...common, '--once', '--s3-endpoint', `ftp://${HOOK.user}:${HOOK.pass}@example.com/?token=${HOOK.token}`], { env }),
    runCli(['run', ...common, '--once', '--lake', lake, '--alert-webhook', `ftp://${HOOK.user}:${HOOK.pass}@h/?token=${HOOK.token}`], { env }),
  ];
  try {
    for (const [i, type] of STAGES.entries()) {
      if (i > 0) {
        for (const f of followers) switchTo(f.state, type, f.separate);
        await chunk(i);
      }
      const target = query<{ m: number }>(db, 'SELECT max(id) AS m FROM sensor_readings')[0].m;
      for (const f of followers) {
        await until(`${f.what} run to land id ${target} as ${type}`, () => landed(f.state) >= target || f.child.child.exitCode !== null, 40_000, 100);
        assert.equal(f.child.child.exitCode, null, `${f.what} run ended early: ${f.child.stderr()}`);
      }
    }
    // While both still run: the WAL files exist (scanned raw below) and their modes can be seen.
    const walFiles = readdirSync(dir).filter((f) => /\.db-(wal|shm)$/.test(f));
    for (const f of walFiles) scan(readFileSync(join(dir, f)).toString('latin1'), `raw ${f} (while running)`);
    walFindings.push(...findings.splice(0));
    const lakeEntries = readdirSync(lake, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[];
    const lakePaths = [lake, ...lakeEntries.map((e) => join(e.parentPath, e.name))];
    permissionProblems.push(
      ...openModes([s3State, `${s3State}-wal`, `${s3State}-shm`], () => 0o600),
      ...openModes(lakePaths, (p) => (statSync(p).isDirectory() ? 0o700 : 0o600)),
    );
    permissionsChecked = { walFiles: walFiles.length, lakePaths: lakePaths.length };
  } finally {
    for (const f of followers) f.child.child.kill('SIGTERM');
    for (const f of followers) outputs.push({ what: `${f.what} follower`, r: await f.child.exited });
    for (const [i, r] of (await Promise.all(usage)).entries()) outputs.push({ what: `usage error ${i}`, r });
  }
});

after(async () => {
  await s3?.dispose();
  await new Promise<void>((resolve) => (hook ? hook.close(() => resolve()) : resolve()));
  rmSync(dir, { recursive: true, force: true });
});

describe('canary credentials through every stage, to a lake and to S3, with alerts and webhooks', () => {
  test('both runs pass through every stage and stop cleanly; the webhook gets alerts with the URL credentials as Basic authorization', () => {
    for (const { what, r } of outputs.filter((o) => o.what.endsWith('follower'))) {
      assert.equal(r.code, 0, `${what}: ${describeResult(r)}`);
      assert.doesNotMatch(r.stderr, /^edgelake error:/m, `${what}: ${r.stderr}`);
    }
    for (const { what, r } of outputs.filter((o) => o.what.startsWith('usage'))) assert.equal(r.code, 2, `${what}: ${describeResult(r)}`);
    for (const state of [db, join(dir, 'state-s3.db')]) {
      const types = query<{ pipeline_type: string }>(state, 'SELECT DISTINCT pipeline_type FROM pipeline_executions ORDER BY 1').map((r) => r.pipeline_type);
      assert.deepEqual(types, [...STAGES].sort(), `stages that ran with ${state}`);
    }
    assert.ok(received.length >= 2, `webhook requests: ${received.length}`);
    const auth = `Basic ${CANARIES['webhook basic auth']}`;
    assert.ok(received.every((q) => q.headers.authorization === auth && q.url.includes(`token=${HOOK.token}`)), 'credentials reach the receiver');
    // The receiver may see its own credentials; alert bodies carry none, and no AWS key or fuzz key at all.
    for (const q of received) for (const [name, value] of Object.entries(CANARIES)) assert.ok(!q.body.includes(value), `${name} in a webhook body`);
  });

  test('no canary in any lake file, S3 object body or metadata, or CLI output', async () => {
    for (const f of filesUnder(join(dir, 'lake'))) {
      scan(fileText(f), f.slice(dir.length + 1));
      scanned.files++;
    }
    const client = new S3Client({ endpoint: s3.endpoint, region: 'us-west-2', forcePathStyle: true, credentials: S3RVER_CREDENTIALS });
    const buckets = new Set<string>();
    try {
      for (const { Name: bucket } of (await client.send(new ListBucketsCommand({}))).Buckets ?? []) {
        const keys = ((await client.send(new ListObjectsV2Command({ Bucket: bucket! }))).Contents ?? []).map((o) => o.Key!);
        for (const key of keys) {
          const where = `s3://${bucket}/${key}`;
          const body = Buffer.from(await (await client.send(new GetObjectCommand({ Bucket: bucket!, Key: key }))).Body!.transformToByteArray());
          scan(body.toString('latin1') + (body[0] === 0x1f ? gunzipSync(body).toString('utf8') : ''), where);
          const { $metadata: _, ...head } = await client.send(new HeadObjectCommand({ Bucket: bucket!, Key: key }));
          scan(JSON.stringify(head), `${where} (HeadObject)`);
          scanned.objects++;
          buckets.add(bucket!);
        }
      }
    } finally {
      client.destroy();
    }
    // s3rver's own store: bodies beside their metadata files.
    for (const f of filesUnder(s3.dir)) scan(fileText(f), `s3rver store ${f.slice(s3.dir.length + 1)}`);
    for (const { what, r } of outputs) scan(r.stdout + r.stderr, `output of ${what}`);
    // Every stage's bucket, the alerts and the metrics were written, so every writer was scanned.
    assert.equal(buckets.size, 6, [...buckets].join(', '));
    assert.ok(scanned.files >= 20 && scanned.objects >= 20, JSON.stringify(scanned));
    assert.deepEqual(findings, [], 'canaries found');
  });

  test('no AWS key or fuzz key in any table, raw page or WAL of the sensor and state databases', () => {
    const dbFiles = readdirSync(dir).filter((f) => f.endsWith('.db'));
    const found: string[] = [...walFindings];
    const scanInto = (text: string, where: string) => {
      const before = findings.length;
      scan(text, where);
      found.push(...findings.splice(before));
    };
    for (const f of dbFiles) scanInto(tablesText(join(dir, f)), `tables of ${f}`);
    for (const f of readdirSync(dir).filter((x) => /\.db(-wal|-shm)?$/.test(x))) scanInto(readFileSync(join(dir, f)).toString('latin1'), `raw ${f}`);
    assert.deepEqual(dbFiles.sort(), ['sensors.db', 'state-s3.db']);
    assert.ok(scanned.tables >= 2 * 5 && permissionsChecked.walFiles >= 4, JSON.stringify({ ...scanned, ...permissionsChecked }));
    const isWebhook = (f: string) => WEBHOOK_CANARIES.some((w) => f.startsWith(`${w} in`));
    webhookFindings.push(...found.filter(isWebhook));
    assert.deepEqual(found.filter((f) => !isWebhook(f)), []);
  });

  test('no webhook credential in any table, raw page or WAL of the sensor and state databases', () => {
    assert.deepEqual(webhookFindings, []);
  });

  test('a new state database, its -wal and -shm, and every folder and object of a new lake are private to the owner', () => {
    assert.ok(permissionsChecked.lakePaths >= 20, JSON.stringify(permissionsChecked));
    assert.deepEqual(permissionProblems, []);
  });
});
