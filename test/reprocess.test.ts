import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simulate } from '../src/simulate/index.ts';
import { parseRowObjectKey } from '../src/source/lake-records.ts';
import { defaultRunName, parseReprocessOptions, partitionOf, manifestKey, type ReprocessManifest } from '../src/reprocess/index.ts';
import { parseTime } from '../src/reprocess/options.ts';
import { describeResult, runCli, spawnCli, type CliResult } from './helpers/cli.ts';
import { METRICS_BUCKET, readLake, readS3, type LakeObject } from './helpers/lake.ts';
import { S3RVER_ENV, startS3Server } from './helpers/s3server.ts';
import { createSensorDb, goodRow } from './helpers/sensor-db.ts';
import { tempDir } from './helpers/tmp.ts';
import { recordKey, withoutRunFields } from './helpers/run-fields.ts';

const HOUR = 3_600_000;
/** 06:40 UTC: three hours of readings cross four hour partitions. */
const T0 = Date.UTC(2025, 7, 15, 6, 40);
/** Three simulated nodes (one whose id looks like a run suffix) and one whose ids run across hours out of time order. */
const NODES = ['edge-a', 'edge-b', 'edge_r1', 'edge-x'];
const ROWS = { 'edge-a': 3000, 'edge-b': 3000, 'edge_r1': 3000, 'edge-x': 2100 } as Record<string, number>;
const STAGES = ['validated', 'enriched', 'aggregated'] as const;
type Stage = (typeof STAGES)[number];
const bucket = (stage: string) => `expanso-databricks-${stage}-us-west-2`;
/** The fleet's GPS fuzzing key: the same on the nodes and in the reprocess job. */
const FUZZ = { EDGELAKE_FUZZ_KEY: 'fleet-test-fuzz-key-0123456789' };

function recordsOf(objects: readonly LakeObject[], stage: Stage): Map<string, Record<string, unknown>> {
  const m = new Map<string, Record<string, unknown>>();
  for (const o of objects) {
    for (const r of o.records) {
      const k = recordKey(stage, r);
      assert.ok(!m.has(k), `${k} appears twice (${o.key})`);
      m.set(k, withoutRunFields(r));
    }
  }
  return m;
}

function assertSameRecords(got: Map<string, Record<string, unknown>>, want: Map<string, Record<string, unknown>>, what: string): void {
  assert.ok(want.size > 0, `${what}: live processing produced records`);
  const missing = [...want.keys()].filter((k) => !got.has(k));
  const extra = [...got.keys()].filter((k) => !want.has(k));
  assert.deepEqual({ missing: missing.slice(0, 5), extra: extra.slice(0, 5) }, { missing: [], extra: [] }, `${what}: the same records (${got.size} vs ${want.size})`);
  for (const [k, w] of want) assert.deepEqual(got.get(k), w, `${what}: record ${k}`);
}

function ok(r: CliResult): CliResult {
  assert.equal(r.code, 0, describeResult(r));
  return r;
}

/** Runs `tasks` with at most `limit` at a time (the machine has 2 cores). */
async function pool<T>(tasks: Array<() => Promise<T>>, limit: number): Promise<T[]> {
  const out: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await tasks[i]();
    }
  }));
  return out;
}

/** `edgelake reprocess` of the raw lake through `stage` with N partitions as N processes at once. */
function reprocessAll(raw: string, stage: Stage, n: number, extra: string[] = []): Promise<CliResult[]> {
  return Promise.all(
    Array.from({ length: n }, (_, i) =>
      runCli(['reprocess', '--from', 'ingestion', '--type', stage, '--lake', raw, '--batch-size', '1000', ...extra], {
        env: { ...FUZZ, BACALHAU_PARTITION_INDEX: String(i), BACALHAU_PARTITION_COUNT: String(n) },
        timeoutMs: 120_000,
      }).then(ok),
    ),
  );
}

function manifestsOf(raw: string, run: string, n: number): ReprocessManifest[] {
  return Array.from({ length: n }, (_, i) => JSON.parse(readFileSync(join(raw, METRICS_BUCKET, manifestKey(run, i, n)), 'utf8')) as ReprocessManifest);
}

describe('edgelake reprocess of a fleet\'s raw lake', () => {
  let dir = '';
  let raw = '';
  let live = '';

  after(() => rmSync(dir, { recursive: true, force: true }));

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgelake-reprocess-'));
    raw = join(dir, 'raw');
    live = join(dir, 'live');
    // Three nodes, each with its own database; a copy per live stage made before any run.
    for (const [i, node] of NODES.entries()) {
      const db = join(dir, `${node}.db`);
      if (node === 'edge-x') {
        // Ids cycle through three hours: every live batch of 700 becomes three objects whose id ranges interleave.
        createSensorDb(db, Array.from({ length: ROWS[node] }, (_, k) => goodRow(k + 1, `2025-08-15T0${7 + (k % 3)}`, ((k + 1) * 37) % 3600)));
      } else await simulate({ db, rows: ROWS[node], sensors: 5, seed: 11 + i, startMs: T0 + i * 60_000, spanMs: 3 * HOUR });
      for (const stage of [...STAGES, 's3']) copyFileSync(db, join(dir, `${node}-${stage}.db`));
    }
    const runs: Array<() => Promise<CliResult>> = [];
    // Raw: small batches, so hours split batches into objects whose id ranges interleave.
    for (const node of NODES) runs.push(() => runCli(['run', '--once', '--type', 'ingestion', '--db', join(dir, `${node}.db`), '--lake', raw, '--node-id', node, '--batch-size', '700', '--no-progress']));
    for (const node of NODES) {
      for (const stage of STAGES) {
        runs.push(() =>
          // A lake per stage: a node's lake holds its checkpoint manifest, which a second state of the same node would recover from.
          runCli(['run', '--once', '--type', stage, '--db', join(dir, `${node}-${stage}.db`), '--lake', join(live, stage), '--node-id', node, '--batch-size', '1000', '--no-progress', '--no-alerts'], { env: FUZZ, timeoutMs: 120_000 }),
        );
      }
    }
    (await pool(runs, 2)).forEach(ok);
  });

  for (const stage of STAGES) {
    test(`${stage}: 4 partitions run as 4 processes at once give, record by record, what live processing gave`, async () => {
      await reprocessAll(raw, stage, 4);
      const got = readLake(raw, bucket(stage)).filter((o) => o.key.includes('_r'));
      assertSameRecords(recordsOf(got, stage), recordsOf(readLake(join(live, stage), bucket(stage)), stage), stage);
      // The 4 manifests together read every raw object exactly once, and list every object written.
      const run = defaultRunName(parseReprocessOptions({ type: stage, lake: raw, batchSize: '1000' }, {}));
      const manifests = manifestsOf(raw, run, 4);
      const read = manifests.flatMap((m) => m.sources.map((s) => s.key)).sort();
      const rawKeys = readLake(raw, bucket('ingestion')).map((o) => o.key).sort();
      assert.deepEqual(read, rawKeys, 'partitions are disjoint and cover the raw lake');
      assert.deepEqual(manifests.flatMap((m) => m.outputs.map((x) => x.key)).sort(), got.map((o) => o.key).sort());
      assert.equal(manifests.reduce((n, m) => n + m.rows_in, 0), Object.values(ROWS).reduce((a, b) => a + b, 0));
    });
  }

  test('reprocess keys carry the run and never coincide with live keys, even for a node id ending in _r1', () => {
    for (const stage of STAGES) {
      const liveKeys = new Set(readLake(join(live, stage), bucket(stage)).map((o) => o.key));
      const rp = readLake(raw, bucket(stage)).filter((o) => o.key.includes('_r'));
      assert.ok(rp.length > 0);
      for (const o of rp) {
        assert.ok(!liveKeys.has(o.key), o.key);
        assert.match(o.key.split('/').pop()!, /^edge[-_][a-z0-9]+_r[0-9a-f]{10}_(\d+_)?\d{12}-\d{12}\.jsonl\.gz$/);
        // Read with the live parser, a reprocess key names no node of the fleet: it can never pass for a live node's object.
        const asLive = parseRowObjectKey(o.key);
        assert.ok(asLive === null || !NODES.includes(asLive.nodeId), `${o.key} reads as a live object of ${asLive?.nodeId}`);
      }
      // The node whose id looks like a run suffix keeps apart from edge-… of any run.
      assert.ok(rp.some((o) => o.key.includes('/edge_r1_r')));
    }
  });

  test('aggregated over a time range that crosses object boundaries gives exactly the live windows of that range', async () => {
    const since = '2025-08-15T07:00Z';
    const until = '2025-08-15T09:00Z';
    await reprocessAll(raw, 'aggregated', 2, ['--since', since, '--until', until, '--run', 'range']);
    const got = readLake(raw, bucket('aggregated')).filter((o) => o.key.includes('_rrange_'));
    const inRange = (r: Record<string, unknown>) => {
      const t = Date.parse(r.window_start as string);
      return t >= parseTime(since) && t < parseTime(until);
    };
    const want = new Map([...recordsOf(readLake(join(live, 'aggregated'), bucket('aggregated')), 'aggregated')].filter(([, r]) => inRange(r)));
    const gotRecords = recordsOf(got, 'aggregated');
    assert.ok([...gotRecords.values()].every(inRange));
    assertSameRecords(gotRecords, want, 'aggregated 07:00-09:00');
    // What makes it hard: windows whose rows lie in several raw objects, and raw objects of one live batch whose id ranges interleave.
    const rawObjects = readLake(raw, bucket('ingestion')).map((o) => ({ ...parseRowObjectKey(o.key)!, ids: new Set(o.records.map((r) => r.id as number)) }));
    const spanning = [...want.values()].filter((w) => {
      const node = (w._pipeline as { node_id: string }).node_id;
      const holders = rawObjects.filter((o) => o.nodeId === node && o.firstId <= (w.last_id as number) && (w.first_id as number) <= o.lastId);
      return holders.length > 1;
    });
    assert.ok(spanning.length > 10, `windows over several raw objects: ${spanning.length}`);
    const interleaved = rawObjects.filter((a) => rawObjects.some((b) => b !== a && b.node === a.node && b.hourMs !== a.hourMs && b.firstId <= a.lastId && a.firstId <= b.lastId));
    assert.ok(interleaved.length > 0, 'objects of one live batch with interleaved id ranges exist');
  });

  test('a partition killed mid-write and run again rewrites the same keys, and writes its manifest only when complete', async (t) => {
    const lake = tempDir(t);
    const src = join(lake, bucket('ingestion'));
    copyDir(join(raw, bucket('ingestion')), src);
    const args = ['reprocess', '--type', 'validated', '--lake', lake, '--partition-index', '1', '--partition-count', '2', '--run', 'kill'];
    const killed = await spawnCli(args, { env: { EDGELAKE_CRASH_AT: 'object-written:2' } }).exited;
    assert.equal(killed.signal, 'SIGKILL', describeResult(killed));
    assert.equal(existsSync(join(lake, METRICS_BUCKET, manifestKey('kill', 1, 2))), false, 'no manifest for an unfinished partition');
    ok(await runCli(args));
    const again = readLake(lake, bucket('validated')).map((o) => o.key).sort();
    const manifest = JSON.parse(readFileSync(join(lake, METRICS_BUCKET, manifestKey('kill', 1, 2)), 'utf8')) as ReprocessManifest;
    assert.deepEqual(manifest.outputs.map((o) => o.key).sort(), again, 'the rerun wrote exactly the keys of its manifest');
    // A clean run of the same partition elsewhere gives the same keys and records.
    const clean = tempDir(t);
    copyDir(src, join(clean, bucket('ingestion')));
    ok(await runCli([...args.slice(0, 4), clean, ...args.slice(5)]));
    assert.deepEqual(readLake(clean, bucket('validated')).map((o) => o.key).sort(), again);
    assertSameRecords(recordsOf(readLake(clean, bucket('validated')), 'validated'), recordsOf(readLake(lake, bucket('validated')), 'validated'), 'rerun');
  });

  test('against S3, as the Bacalhau job runs it: 2 partitions from BACALHAU_PARTITION_* write what the lake run wrote, and the manifests', async (t) => {
    const server = await startS3Server({ buckets: ['ingestion', 'validated', 'enriched', 'aggregated', 'emergency', 'metrics'].map(bucket) });
    t.after(() => server.dispose());
    const s3 = ['--s3-endpoint', server.endpoint];
    // Two nodes' raw objects land in S3 through the live CLI, then reprocess reads them back from there.
    await pool(['edge-a', 'edge-x'].map((node) => () => runCli(['run', '--once', '--type', 'ingestion', '--db', join(dir, `${node}-s3.db`), '--node-id', node, '--batch-size', '700', '--no-progress', ...s3], { env: S3RVER_ENV }).then(ok)), 2);
    await Promise.all([0, 1].map((i) => runCli(['reprocess', '--type', 'validated', ...s3, '--run', 's3'], { env: { ...S3RVER_ENV, BACALHAU_PARTITION_INDEX: String(i), BACALHAU_PARTITION_COUNT: '2' } }).then(ok)));
    const got = await readS3(server, bucket('validated'));
    const want = readLake(raw, bucket('validated')).filter((o) => /\/edge-[ax]_r[0-9a-f]{10}_/.test(o.key));
    assert.deepEqual(got.map((o) => o.key.replace('_rs3_', '_r_')).sort(), want.map((o) => o.key.replace(/_r[0-9a-f]{10}_/, '_r_')).sort(), 'the same objects, under the run given');
    assertSameRecords(recordsOf(got, 'validated'), recordsOf(want, 'validated'), 'S3');
    const keys = await server.listKeys(METRICS_BUCKET);
    assert.ok(keys.includes(manifestKey('s3', 0, 2)) && keys.includes(manifestKey('s3', 1, 2)), keys.filter((k) => k.includes('reprocess')).join());
  });

  test('the output does not depend on the number of partitions', async (t) => {
    const one = tempDir(t);
    copyDir(join(raw, bucket('ingestion')), join(one, bucket('ingestion')));
    ok(await runCli(['reprocess', '--type', 'validated', '--lake', one, '--batch-size', '1000'], { env: { BACALHAU_PARTITION_INDEX: '0', BACALHAU_PARTITION_COUNT: '0' } }));
    const four = readLake(raw, bucket('validated')).filter((o) => /_r[0-9a-f]{10}_/.test(o.key)).map((o) => o.key).sort();
    assert.deepEqual(readLake(one, bucket('validated')).map((o) => o.key).sort(), four);
  });
});

describe('reprocess options', () => {
  test('partitions come from the flags, else from BACALHAU_PARTITION_INDEX/COUNT, and Count 0 (ops/daemon jobs) means one share', () => {
    const p = (raw: Record<string, unknown>, env: NodeJS.ProcessEnv) => {
      const o = parseReprocessOptions({ type: 'validated', ...raw }, env);
      return [o.partitionIndex, o.partitionCount, o.partitionSource];
    };
    assert.deepEqual(p({}, {}), [0, 1, 'default']);
    assert.deepEqual(p({}, { BACALHAU_PARTITION_INDEX: '2', BACALHAU_PARTITION_COUNT: '4' }), [2, 4, 'BACALHAU_PARTITION_*']);
    assert.deepEqual(p({}, { BACALHAU_PARTITION_INDEX: '0', BACALHAU_PARTITION_COUNT: '0' }), [0, 1, 'BACALHAU_PARTITION_*']);
    assert.deepEqual(p({ partitionIndex: '1', partitionCount: '3' }, { BACALHAU_PARTITION_INDEX: '0', BACALHAU_PARTITION_COUNT: '4' }), [1, 3, 'flags']);
  });

  const bad: Array<[string, Record<string, unknown>, NodeJS.ProcessEnv, RegExp]> = [
    ['no --type', {}, {}, /--type .*is required/],
    ['--type ingestion', { type: 'raw' }, {}, /--type "raw" cannot be ingestion/],
    ['--type nonsense', { type: 'nope' }, {}, /--type "nope" is not a pipeline type \(valid: validated, enriched, aggregated\)/],
    ['--from validated', { type: 'aggregated', from: 'validated' }, {}, /--from "validated" must be ingestion/],
    ['index without count', { type: 'validated', partitionIndex: '1' }, {}, /--partition-index and --partition-count go together/],
    ['index ≥ count', { type: 'validated', partitionIndex: '4', partitionCount: '4' }, {}, /--partition-index 4 must be below --partition-count 4/],
    ['bad env index', { type: 'validated' }, { BACALHAU_PARTITION_INDEX: 'x', BACALHAU_PARTITION_COUNT: '4' }, /BACALHAU_PARTITION_INDEX "x" \(environment\) is not a whole number/],
    ['env index ≥ count', { type: 'validated' }, { BACALHAU_PARTITION_INDEX: '4', BACALHAU_PARTITION_COUNT: '4' }, /BACALHAU_PARTITION_INDEX 4 must be below BACALHAU_PARTITION_COUNT 4/],
    ['bad --since', { type: 'validated', since: '15/08/2025' }, {}, /--since "15\/08\/2025" --since: "15\/08\/2025" is not an ISO time/],
    ['until before since', { type: 'validated', since: '2025-08-15T10:00Z', until: '2025-08-15T09:00Z' }, {}, /--until "2025-08-15T09:00Z" must be after --since/],
    ['window not dividing an hour', { type: 'aggregated', since: '2025-08-15', window: '7m' }, {}, /--window "7m" must divide one hour/],
    ['bad --run', { type: 'validated', run: 'My_Run' }, {}, /--run "My_Run" must be 1-32 lowercase letters/],
    // Parquet is written since --format parquet exists (test/parquet-lake.test.ts); an unknown format is refused.
    ['an unknown --format', { type: 'validated', format: 'csv' }, {}, /--format "csv" must be one of jsonl, parquet/],
    ['unknown option', { type: 'validated', partitions: '4' }, {}, /unknown option\(s\): --partitions/],
  ];
  for (const [what, raw, env, message] of bad) {
    test(`refuses ${what}, naming the flag or variable`, () => {
      assert.throws(() => parseReprocessOptions(raw, env), (err: Error & { code?: string }) => {
        assert.match(err.message, message);
        return err.name === 'ConfigError';
      });
    });
  }

  test('the default run name is a hash of what shapes the output, not of the partitioning', () => {
    const name = (raw: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) => parseReprocessOptions({ type: 'validated', ...raw }, env).run;
    assert.match(name({}), /^[0-9a-f]{10}$/);
    assert.equal(name({}), name({ partitionIndex: '1', partitionCount: '4' }));
    assert.equal(name({}), name({}, { BACALHAU_JOB_ID: 'j-1' }), 'a resubmitted job (new id) rewrites the same keys');
    assert.notEqual(name({}), name({ since: '2025-08-15' }));
    assert.notEqual(name({}), name({ node: 'edge-a' }));
    assert.equal(name({ run: 'fix-1' }), 'fix-1');
  });

  test('objects are split by a hash of their key, the same in every execution', () => {
    const keys = Array.from({ length: 400 }, (_, i) => `sensor_readings/year=2025/month=08/day=15/hour=07/edge-${i % 7}_${String(i * 10 + 1).padStart(12, '0')}-${String(i * 10 + 10).padStart(12, '0')}.jsonl.gz`);
    const counts = [0, 0, 0, 0];
    for (const k of keys) counts[partitionOf(k, 4)]++;
    assert.ok(counts.every((c) => c > 60), `even enough: ${counts}`);
    assert.deepEqual(keys.map((k) => partitionOf(k, 4)), keys.map((k) => partitionOf(k, 4)));
  });

  test('enriched without the fleet\'s fuzzing key exits 2 before reading anything', async (t) => {
    const r = await runCli(['reprocess', '--type', 'enriched', '--lake', tempDir(t)], { env: { EDGELAKE_FUZZ_KEY: undefined, EDGELAKE_FUZZ_KEY_FILE: undefined } });
    assert.equal(r.code, 2, describeResult(r));
    assert.match(r.stderr, /needs the GPS fuzzing key .*EDGELAKE_FUZZ_KEY/);
  });
});

function copyDir(from: string, to: string): void {
  rmSync(to, { recursive: true, force: true });
  cpSync(from, to, { recursive: true });
}
