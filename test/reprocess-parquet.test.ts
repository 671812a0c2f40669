import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { manifestKey, type ReprocessManifest } from '../src/reprocess/index.ts';
import { simulate } from '../src/simulate/index.ts';
import { pairTwins } from '../src/source/format-twins.ts';
import { FolderRecordSource, S3RecordSource, parseRowObjectKey, readIngestionObject } from '../src/source/lake-records.ts';
import { buildBatch, extraColumnsOf, type LakeRow } from '../src/source/record-batch.ts';
import { READING_COLUMNS } from '../src/source/schema.ts';
import { checkFleet, type LakeObject as CheckerObject } from './checker/index.ts';
import { describeResult, runCli, type CliResult } from './helpers/cli.ts';
import { recordKey, withoutRunFields } from './helpers/run-fields.ts';
import { createHostileDb } from './helpers/hostile-db.ts';
import { INGESTION_BUCKET, METRICS_BUCKET, listLakeFiles, readLake, readS3, type LakeObject } from './helpers/lake.ts';
import { S3RVER_CREDENTIALS, S3RVER_ENV, startS3Server } from './helpers/s3server.ts';
import { createSensorDb, goodRow } from './helpers/sensor-db.ts';
import { tempDir } from './helpers/tmp.ts';

/**
 * `edgelake reprocess` of a raw lake written with `run --format parquet`, against its JSON Lines
 * twin: the same source rows ingested in both formats decode to the same rows, reprocess to the
 * same records through validated and aggregated (and the fleet checker proves them against the
 * source), from a lake folder and from S3; a corrupt or truncated Parquet object stops the run
 * naming its key; a lake holding both formats of one id range reads every row once.
 */

const HOUR = 3_600_000;
const T0 = Date.UTC(2025, 7, 15, 6, 40);
/**
 * Simulated rows with bad ones and an extra column; ids cycling across hours (interleaved
 * objects, late rows); hostile rows; clean simulated rows in time order.
 */
const NODES = ['edge-p1', 'edge-p2', 'edge-h', 'edge-p3'] as const;
type Node = (typeof NODES)[number];
/**
 * The nodes whose outputs the fleet checker proves against their source: it compares text as its
 * own reader decodes it (not the hostile node's invalid UTF-8), and recomputes windows from rows
 * in time order (not the corrections late rows and impossible timestamps make).
 */
const CHECKED: Record<Stage, readonly Node[]> = { validated: ['edge-p1', 'edge-p2', 'edge-p3'], aggregated: ['edge-p3'] };
const STAGES = ['validated', 'aggregated'] as const;
type Stage = (typeof STAGES)[number];
const bucket = (stage: string) => `expanso-databricks-${stage}-us-west-2`;
const FORMATS = ['jsonl', 'parquet'] as const;
type Format = (typeof FORMATS)[number];

function ok(r: CliResult): CliResult {
  assert.equal(r.code, 0, describeResult(r));
  return r;
}

/** Runs `tasks` at most two at a time (the machine has 2 cores). */
async function pool<T>(tasks: Array<() => Promise<T>>): Promise<T[]> {
  const out: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all([0, 1].map(async () => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await tasks[i]();
    }
  }));
  return out;
}

/** {@link withoutRunFields}, and the clock of the raw object's run. */
function withoutRunFieldsOrClock(r: Record<string, unknown>): Record<string, unknown> {
  const out = withoutRunFields(r);
  // How far in the future a reading is counts from when its raw object was made (its processed_at): the twins were made moments apart.
  const v = out._validation as { errors?: Array<{ rule: string; message: string }> } | undefined;
  for (const e of v?.errors ?? []) if (e.rule === 'not_future') e.message = e.message.replace(/\d+ ms in the future/, 'N ms in the future');
  return out;
}

/** Records by identity; aggregated may state one window twice (two corrections of it with as many late rows), so a list each. */
function recordsOf(objects: readonly LakeObject[], stage: Stage): Map<string, Array<Record<string, unknown>>> {
  const m = new Map<string, Array<Record<string, unknown>>>();
  for (const o of objects) {
    for (const r of o.records) {
      const k = recordKey(stage, r);
      const list = m.get(k) ?? [];
      if (stage !== 'aggregated') assert.equal(list.length, 0, `${k} appears twice (${o.key})`);
      list.push(withoutRunFieldsOrClock(r));
      m.set(k, list);
    }
  }
  for (const list of m.values()) list.sort((x, y) => (JSON.stringify(x) < JSON.stringify(y) ? -1 : 1));
  return m;
}

function assertSameRecords(got: Map<string, unknown[]>, want: Map<string, unknown[]>, what: string): void {
  assert.ok(want.size > 0, `${what}: there are records`);
  const missing = [...want.keys()].filter((k) => !got.has(k));
  const extra = [...got.keys()].filter((k) => !want.has(k));
  assert.deepEqual({ missing: missing.slice(0, 5), extra: extra.slice(0, 5) }, { missing: [], extra: [] }, `${what}: the same records (${got.size} vs ${want.size})`);
  for (const [k, w] of want) assert.deepEqual(got.get(k), w, `${what}: record ${k}`);
}

/** Reprocess outputs of a stage in a lake (keys carry `_r<run>_`). */
const outputsOf = (lake: string, stage: Stage, run: string) => readLake(lake, bucket(stage)).filter((o) => o.key.includes(`_r${run}_`));

/** A row as a comparable value: extra columns holding NULL left out (Parquet does not list those). */
const comparable = (r: LakeRow) => {
  const extra = [...(r.extra ?? [])].filter(([, v]) => v !== null);
  return { ...r, extra: extra.length ? new Map(extra) : null };
};

/** Whether a row holds a value no typed Parquet column can (text or a BLOB in a numeric column, a number in a TEXT one) or an extra column. */
const fitsNoColumn = (r: LakeRow) =>
  r.extra !== null || r.values.some((v, c) => v !== null && v !== undefined && (Buffer.isBuffer(v) || (READING_COLUMNS[c].kind === 'text') !== (typeof v === 'string')));

function hostileRows(db: string): number {
  const h = new Database(db, { readonly: true });
  try {
    return (h.prepare('SELECT count(*) AS n FROM sensor_readings').get() as { n: number }).n;
  } finally {
    h.close();
  }
}

describe('edgelake reprocess of a Parquet raw lake', () => {
  let dir = '';
  const lakes = {} as Record<Format, string>;
  const dbs = {} as Record<Node, string>;

  after(() => rmSync(dir, { recursive: true, force: true }));

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgelake-reprocess-parquet-'));
    for (const f of FORMATS) lakes[f] = join(dir, f);
    dbs['edge-p1'] = join(dir, 'edge-p1.db');
    await simulate({ db: dbs['edge-p1'], rows: 3000, sensors: 5, seed: 21, startMs: T0, spanMs: 3 * HOUR, invalidRate: 0.03 });
    // A column outside the contract, NULL in some rows: ingestion keeps it in either format.
    const w = new Database(dbs['edge-p1']);
    w.exec(`ALTER TABLE sensor_readings ADD COLUMN site_code TEXT`);
    w.exec(`UPDATE sensor_readings SET site_code = CASE id % 4 WHEN 0 THEN 'S-' || (id % 9) WHEN 1 THEN 2.5 WHEN 2 THEN x'00ff' END WHERE id > 1000`);
    w.close();
    dbs['edge-p2'] = join(dir, 'edge-p2.db');
    // Ids cycle through three hours: every live batch becomes three objects whose id ranges interleave.
    createSensorDb(dbs['edge-p2'], Array.from({ length: 2100 }, (_, k) => goodRow(k + 1, `2025-08-15T0${7 + (k % 3)}`, ((k + 1) * 37) % 3600)));
    dbs['edge-h'] = join(dir, 'edge-h.db');
    createHostileDb(dbs['edge-h'], { seed: 7, malformed: 2000, huge: 1 });
    dbs['edge-p3'] = join(dir, 'edge-p3.db');
    await simulate({ db: dbs['edge-p3'], rows: 2400, sensors: 4, seed: 23, startMs: T0, spanMs: 2 * HOUR });
    const runs: Array<() => Promise<CliResult>> = [];
    for (const node of NODES) {
      for (const f of FORMATS) {
        // Each run drains its own copy (a run keeps its checkpoint beside the database).
        const db = join(dir, `${node}-${f}.db`);
        copyFileSync(dbs[node], db);
        runs.push(() => runCli(['run', '--once', '--type', 'ingestion', '--format', f, '--db', db, '--lake', lakes[f], '--node-id', node, '--batch-size', '700', '--no-progress', '--no-alerts'], { timeoutMs: 120_000 }));
      }
    }
    (await pool(runs)).forEach(ok);
  });

  test('every Parquet ingestion object decodes to the rows of its JSON Lines twin, and to the same batch', async () => {
    const [js, pq] = [new FolderRecordSource(lakes.jsonl), new FolderRecordSource(lakes.parquet)];
    const [a, b] = [await js.list({ bucket: INGESTION_BUCKET }), await pq.list({ bucket: INGESTION_BUCKET })];
    assert.ok(b.length > 20 && b.every((o) => o.format === 'parquet' && o.key.endsWith('.parquet')), `${b.length} Parquet objects`);
    assert.deepEqual(b.map((o) => o.key.replace(/\.parquet$/, '.jsonl.gz')), a.map((o) => o.key), 'the same objects under the same keys');
    let rows = 0;
    let rescued = 0;
    for (let i = 0; i < a.length; i++) {
      const [x, y] = [await readIngestionObject(js, a[i]), await readIngestionObject(pq, b[i])];
      assert.equal(y.nodeId, x.nodeId);
      assert.ok(Number.isFinite(y.processedMs), b[i].key);
      assert.deepEqual(y.rows.map(comparable), x.rows.map(comparable), b[i].key);
      const extras = extraColumnsOf(x.rows);
      assert.deepEqual(buildBatch(y.rows, { extras }), buildBatch(x.rows, { extras }), `${b[i].key}: batch`);
      rows += y.rows.length;
      rescued += y.rows.filter(fitsNoColumn).length;
    }
    assert.equal(rows, 3000 + 2100 + hostileRows(dbs['edge-h']) + 2400);
    assert.ok(rescued > 500, `rows with values that only _rescued_data holds: ${rescued}`);
    // A lake folder whose path DuckDB would read as a glob ([x] matches only "x") is read through a private copy.
    const odd = join(dir, 'la[x]ke*?');
    cpSync(join(lakes.parquet, INGESTION_BUCKET), join(odd, INGESTION_BUCKET), { recursive: true });
    const oddSource = new FolderRecordSource(odd);
    const oddObjects = await oddSource.list({ bucket: INGESTION_BUCKET });
    assert.deepEqual((await readIngestionObject(oddSource, oddObjects[0])).rows, (await readIngestionObject(pq, b[0])).rows);
  });

  for (const stage of STAGES) {
    test(`${stage}: the Parquet lake reprocesses, record for record, to what its JSON Lines twin gives, and the fleet checker proves it against the source`, async () => {
      const run = (f: Format) => `${stage.slice(0, 3)}${f === 'jsonl' ? 'js' : 'pq'}`;
      const tasks = FORMATS.flatMap((f) =>
        [0, 1].map((i) => () =>
          runCli(['reprocess', '--type', stage, '--lake', lakes[f], '--batch-size', '1000', '--run', run(f), '--partition-index', String(i), '--partition-count', '2'], { timeoutMs: 120_000 }),
        ),
      );
      (await pool(tasks)).forEach(ok);
      const [js, pq] = [outputsOf(lakes.jsonl, stage, run('jsonl')), outputsOf(lakes.parquet, stage, run('parquet'))];
      assert.deepEqual(pq.map((o) => o.key.replace(`_r${run('parquet')}_`, '_r_')).sort(), js.map((o) => o.key.replace(`_r${run('jsonl')}_`, '_r_')).sort(), 'the same objects');
      assertSameRecords(recordsOf(pq, stage), recordsOf(js, stage), `${stage} from Parquet`);
      // The manifests read every Parquet object once and count every source row once.
      const manifests = [0, 1].map((i) => JSON.parse(readFileSync(join(lakes.parquet, METRICS_BUCKET, manifestKey(run('parquet'), i, 2)), 'utf8')) as ReprocessManifest);
      const raw = listLakeFiles(join(lakes.parquet, INGESTION_BUCKET)).filter((k) => k.startsWith('sensor_readings/')).sort();
      assert.deepEqual(manifests.flatMap((m) => m.sources.map((s) => s.key)).sort(), raw);
      const total = readLake(lakes.jsonl, INGESTION_BUCKET).reduce((n, o) => n + o.records.length, 0);
      assert.equal(manifests.reduce((n, m) => n + m.rows_in, 0), total);
      // The checker (its own decoder and arithmetic) over the outputs, keyed as the node's own objects.
      const checked = CHECKED[stage];
      const objects: CheckerObject[] = pq
        .filter((o) => checked.some((n) => o.key.includes(`/${n}_r`)))
        .map((o) => ({ bucket: o.bucket, key: o.key.replace(`_r${run('parquet')}_`, '_'), records: o.records, bytes: 1 }));
      const report = checkFleet({ lake: { objects, problems: [], undecodable: [], strayFiles: [] }, nodes: checked.map((n) => ({ nodeId: n, db: dbs[n] })) });
      // Reprocess writes no per-batch pipeline_metrics (its manifest counts rows_in, checked above).
      const problems = report.problems.filter((p) => !p.includes('pipeline_metrics count'));
      assert.deepEqual(problems, [], `${stage}: checker`);
      const figures = report.nodes.map((n) => (stage === 'validated' ? n.perStage.validated : n.aggregatedRows));
      assert.deepEqual(figures, stage === 'validated' ? [3000, 2100, 2400] : [2400]);
    });
  }

  test('from S3 as from the lake folder: a Parquet raw lake in S3 reprocesses to the same records, and a truncated object there stops the run naming it', async (t) => {
    const server = await startS3Server({ buckets: ['ingestion', 'validated', 'enriched', 'aggregated', 'emergency', 'metrics'].map(bucket) });
    t.after(() => server.dispose());
    const s3 = ['--s3-endpoint', server.endpoint];
    const db = join(dir, 'edge-p1-s3.db');
    copyFileSync(dbs['edge-p1'], db);
    ok(await runCli(['run', '--once', '--type', 'ingestion', '--format', 'parquet', '--db', db, '--node-id', 'edge-p1', '--batch-size', '700', '--no-progress', '--no-alerts', ...s3], { env: S3RVER_ENV }));
    const keys = (await server.listKeys(bucket('ingestion'))).filter((k) => k.startsWith('sensor_readings/'));
    assert.ok(keys.length > 3 && keys.every((k) => k.endsWith('.parquet')), keys.join());
    const tmp = tempDir(t);
    ok(await runCli(['reprocess', '--type', 'validated', '--run', 'vals3', '--batch-size', '1000', ...s3], { env: { ...S3RVER_ENV, TMPDIR: tmp } }));
    const got = (await readS3(server, bucket('validated'))).filter((o) => o.key.includes('_rvals3_'));
    const want = outputsOf(lakes.parquet, 'validated', 'valpq').filter((o) => o.key.includes('/edge-p1_r'));
    assertSameRecords(recordsOf(got, 'validated'), recordsOf(want, 'validated'), 'validated from S3');
    // (tsx keeps its cache there too when the build is stale.)
    const copies = () => readdirSync(tmp).filter((f) => f.startsWith('edgelake-parquet-'));
    assert.deepEqual(copies(), [], 'the private copies of the bodies are removed');
    // The library reads S3 bodies to the same rows as the folder's files.
    process.env.AWS_ACCESS_KEY_ID = S3RVER_CREDENTIALS.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = S3RVER_CREDENTIALS.secretAccessKey;
    const source = new S3RecordSource({ endpoint: server.endpoint, region: 'us-west-2' });
    t.after(() => source.close());
    const listed = await source.list({ bucket: bucket('ingestion') });
    const first = await readIngestionObject(source, listed[0]);
    assert.ok(first.rows.length > 0 && listed.every((o) => o.size > 0));
    // A body cut short in S3.
    const body = await server.readObject(bucket('ingestion'), keys[1]);
    const client = new S3Client({ endpoint: server.endpoint, region: 'us-west-2', forcePathStyle: true, credentials: S3RVER_CREDENTIALS });
    t.after(() => client.destroy());
    await client.send(new PutObjectCommand({ Bucket: bucket('ingestion'), Key: keys[1], Body: body.subarray(0, body.length - 100) }));
    const r = await runCli(['reprocess', '--type', 'validated', '--run', 'bads3', ...s3], { env: { ...S3RVER_ENV, TMPDIR: tmp } });
    assert.equal(r.code, 1, describeResult(r));
    assert.ok(r.stderr.includes(`S3 object ${bucket('ingestion')}/${keys[1]} is not a readable Parquet file`), r.stderr);
    assert.doesNotMatch(r.stderr, /unexpected failure|    at /);
    assert.deepEqual(copies(), [], 'removed after a failed read too');
  });

  test('a truncated, empty or corrupt Parquet object stops the run with an error naming its key, never a crash', async (t) => {
    const keys = listLakeFiles(join(lakes.parquet, INGESTION_BUCKET)).filter((k) => k.startsWith('sensor_readings/') && k.includes('/edge-p2_')).sort();
    const damages: Array<[string, (path: string) => void]> = [
      ['truncated', (p) => truncateSync(p, Math.floor(readFileSync(p).length / 2))],
      ['empty', (p) => writeFileSync(p, '')],
      // The footer (schema, row groups, offsets) overwritten: the magic bytes still say Parquet.
      ['corrupt footer', (p) => {
        const b = readFileSync(p);
        const footer = b.readUInt32LE(b.length - 8);
        b.fill(0xff, b.length - 8 - footer + 2, b.length - 10);
        writeFileSync(p, b);
      }],
      ['gzip JSON Lines under a .parquet name', (p) => writeFileSync(p, readFileSync(join(lakes.jsonl, INGESTION_BUCKET, keys[0].replace(/\.parquet$/, '.jsonl.gz'))))],
    ];
    const key = keys[2];
    // A damaged copy of the raw lake per damage and stage, so the runs are independent: two at a time.
    const cases = damages.flatMap(([what, damage]) =>
      STAGES.map((stage) => {
        const lake = tempDir(t);
        cpSync(join(lakes.parquet, INGESTION_BUCKET), join(lake, INGESTION_BUCKET), { recursive: true });
        damage(join(lake, INGESTION_BUCKET, key));
        return { what, lake, stage };
      }),
    );
    const results = await pool(cases.map(({ lake, stage }) => () => runCli(['reprocess', '--type', stage, '--lake', lake, '--node', 'edge-p2'])));
    for (const [i, { what, lake, stage }] of cases.entries()) {
      const r = results[i];
      assert.equal(r.code, 1, `${what}, ${stage}: ${describeResult(r)}`);
      assert.ok(r.stderr.includes(`${join(lake, INGESTION_BUCKET, key)} is not a readable Parquet file`), `${what}, ${stage}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /unexpected failure|    at /, what);
    }
  });

  test('a lake holding both formats of the same id ranges reads each row once (the JSON Lines object, its Parquet twin proven equal), and refuses twins that differ, naming both', async (t) => {
    const lake = tempDir(t);
    for (const f of FORMATS) cpSync(join(lakes[f], INGESTION_BUCKET), join(lake, INGESTION_BUCKET), { recursive: true });
    const both = listLakeFiles(join(lake, INGESTION_BUCKET)).filter((k) => k.startsWith('sensor_readings/'));
    const jsonlKeys = both.filter((k) => k.endsWith('.jsonl.gz')).sort();
    assert.equal(both.length, 2 * jsonlKeys.length);
    const r = ok(await runCli(['reprocess', '--type', 'validated', '--lake', lake, '--run', 'twins', '--batch-size', '1000']));
    assert.match(r.stderr, new RegExp(`${both.length / 2} key\\(s\\) under sensor_readings/ .*skipped .*, e\\.g\\. sensor_readings/.*\\.parquet`));
    const m = JSON.parse(readFileSync(join(lake, METRICS_BUCKET, manifestKey('twins', 0, 1)), 'utf8')) as ReprocessManifest;
    assert.deepEqual(m.sources.map((s) => s.key).sort(), jsonlKeys, 'the JSON Lines objects are read');
    assert.ok(m.ignored_keys.length > 0 && m.ignored_keys.every((k) => k.endsWith('.parquet')), 'the Parquet twins are listed as not read');
    assert.equal(m.rows_in, readLake(lakes.jsonl, INGESTION_BUCKET).reduce((n, o) => n + o.records.length, 0), 'no row twice');
    assertSameRecords(recordsOf(outputsOf(lake, 'validated', 'twins'), 'validated'), recordsOf(outputsOf(lakes.jsonl, 'validated', 'valjs'), 'validated'), 'validated from both formats');

    // A twin that holds other rows: another object of the same node copied over it.
    const target = jsonlKeys.find((k) => k.includes('/edge-p2_'))!.replace(/\.jsonl\.gz$/, '.parquet');
    const other = both.find((k) => k.endsWith('.parquet') && k.includes('/edge-p2_') && k !== target)!;
    copyFileSync(join(lake, INGESTION_BUCKET, other), join(lake, INGESTION_BUCKET, target));
    const bad = await runCli(['reprocess', '--type', 'validated', '--lake', lake, '--run', 'twinsbad', '--node', 'edge-p2']);
    assert.equal(bad.code, 2, describeResult(bad));
    const path = (k: string) => join(lake, INGESTION_BUCKET, k);
    assert.ok(bad.stderr.includes(`${path(target.replace(/\.parquet$/, '.jsonl.gz'))} and ${path(target)} hold the same id range in both formats but not the same rows`), bad.stderr);
    assert.match(bad.stderr, /remove the object that is wrong/);
  });
});

describe('Parquet ingestion keys', () => {
  test('are live batch objects of their own format, and twins pair by hour, node and id range', () => {
    const h = 'sensor_readings/year=2025/month=08/day=15/hour=07/';
    const pq = parseRowObjectKey(`${h}edge-1_000000000001-000000000700.parquet`);
    assert.deepEqual(pq && { ...pq, hourMs: undefined }, { hourMs: undefined, node: 'edge-1', nodeId: 'edge-1', generation: 1, firstId: 1, lastId: 700, format: 'parquet' });
    assert.equal(parseRowObjectKey(`${h}edge-1_000000000001-000000000700.jsonl.gz`)?.format, 'jsonl');
    for (const bad of ['.parquet.tmp', '.parq', '.jsonl.parquet.gz', '.PARQUET']) assert.equal(parseRowObjectKey(`${h}edge-1_000000000001-000000000700${bad}`), null, bad);
    const o = (key: string) => ({ key, format: key.endsWith('.parquet') ? ('parquet' as const) : ('jsonl' as const) });
    const skipped: string[] = [];
    const paired = pairTwins([o(`${h}a_000000000001-000000000002.jsonl.gz`), o(`${h}a_000000000001-000000000002.parquet`), o(`${h}a_000000000003-000000000004.parquet`), o(`${h.replace('07', '08')}a_000000000001-000000000002.parquet`)], (k) => skipped.push(k));
    assert.deepEqual(paired.map((x) => [x.key.slice(h.length - 8), x.twin?.slice(h.length - 8)]), [
      ['hour=07/a_000000000001-000000000002.jsonl.gz', 'hour=07/a_000000000001-000000000002.parquet'],
      ['hour=07/a_000000000003-000000000004.parquet', undefined],
      ['hour=08/a_000000000001-000000000002.parquet', undefined],
    ]);
    assert.deepEqual(skipped, [`${h}a_000000000001-000000000002.parquet`]);
  });
});
