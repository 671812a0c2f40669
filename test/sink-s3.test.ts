import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { gunzipSync, gzipSync } from 'node:zlib';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { ConfigError, PipelineError } from '../src/errors.ts';
import { S3Sink, createS3Client } from '../src/sink/s3.ts';
import type { S3RetryEvent, S3SinkOptions } from '../src/sink/s3.ts';
import { backoffDelayMs, classifyS3Error } from '../src/sink/s3-retry.ts';
import type { SinkObject } from '../src/sink/types.ts';
import { S3RVER_CREDENTIALS, startS3Server } from './helpers/s3server.ts';
import type { S3ServerHandle } from './helpers/s3server.ts';

const REGION = 'us-west-2';
const BUCKET = 'expanso-databricks-ingestion-us-west-2';

function useCredentials(accessKeyId: string, secretAccessKey: string): void {
  process.env.AWS_ACCESS_KEY_ID = accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = secretAccessKey;
}

function gzObject(key: string, lines: object[], bucket = BUCKET): SinkObject {
  const body = gzipSync(lines.map((l) => JSON.stringify(l) + '\n').join(''));
  return { bucket, key, body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength), records: lines.length };
}

/** A loopback port with nothing listening: bound by the OS, then released. */
async function deadPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** Every message along an error's cause chain, plus the top stack. */
function errorTexts(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err; e instanceof Error; e = e.cause) parts.push(e.message, e.stack ?? '', JSON.stringify(e));
  return parts.join('\n');
}

describe('S3 sink against s3rver on loopback', () => {
  let s3: S3ServerHandle;
  const sinks: S3Sink[] = [];
  const sinkFor = (extra: Partial<S3SinkOptions> = {}): S3Sink => {
    const sink = S3Sink.create({ endpoint: s3.endpoint, region: REGION, createBuckets: false, retryBaseMs: 20, ...extra });
    sinks.push(sink);
    return sink;
  };

  before(async () => {
    useCredentials(S3RVER_CREDENTIALS.accessKeyId, S3RVER_CREDENTIALS.secretAccessKey);
    s3 = await startS3Server({ buckets: [BUCKET] });
  });
  afterEach(async () => {
    useCredentials(S3RVER_CREDENTIALS.accessKeyId, S3RVER_CREDENTIALS.secretAccessKey);
    if (!s3.running) await s3.restart();
    await Promise.all(sinks.splice(0).map((s) => s.close()));
  });
  after(async () => {
    await s3.dispose();
  });

  test('put stores gzip bodies byte-identical, as .jsonl.gz with the ndjson content type and no content encoding', async () => {
    const sink = sinkFor();
    await sink.prepare([BUCKET]);
    const objects = Array.from({ length: 9 }, (_, i) =>
      gzObject(`sensor_readings/year=2024/month=01/day=02/hour=03/node-1_${String(i).padStart(12, '0')}-${String(i).padStart(12, '0')}.jsonl.gz`, [
        { id: i, temperature: 20 + i },
        { id: i, humidity: 40 },
      ]),
    );
    await sink.put(objects);

    const client = await createS3Client({ endpoint: s3.endpoint, region: REGION, createBuckets: false });
    try {
      for (const o of objects) {
        const got = await client.send(new GetObjectCommand({ Bucket: o.bucket, Key: o.key }));
        const bytes = await got.Body!.transformToByteArray();
        assert.deepEqual(Buffer.from(bytes), Buffer.from(o.body));
        assert.equal(got.ContentType, 'application/x-ndjson');
        assert.equal(got.ContentEncoding, undefined);
        assert.equal(gunzipSync(bytes).toString().split('\n').length, 3);
      }
    } finally {
      client.destroy();
    }
    assert.deepEqual(await s3.listKeys(BUCKET), objects.map((o) => o.key).sort());
    assert.equal(sink.puts, 9);
    assert.equal(sink.bytes, objects.reduce((n, o) => n + o.body.byteLength, 0));
    assert.equal(sink.retries, 0);
  });

  test('putting the same key again leaves one object holding the new body', async () => {
    const sink = sinkFor();
    const key = 'alerts/year=2024/month=01/day=02/hour=03/node-1_000000000001-000000000005.jsonl.gz';
    await sink.put([gzObject(key, [{ v: 'old' }])]);
    const replay = gzObject(key, [{ v: 'new' }, { v: 'new too' }]);
    await sink.put([replay]);

    const client = await createS3Client({ endpoint: s3.endpoint, region: REGION, createBuckets: false });
    try {
      const listed = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'alerts/' }));
      assert.deepEqual(listed.Contents?.map((c) => c.Key), [key]);
      const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
      assert.equal(head.ContentLength, replay.body.byteLength);
    } finally {
      client.destroy();
    }
    assert.deepEqual(await s3.readObject(BUCKET, key), Buffer.from(replay.body));
  });

  test('prepare names a missing bucket in a ConfigError when createBuckets is off', async () => {
    const sink = sinkFor();
    await assert.rejects(sink.prepare([BUCKET, 'edgelake-absent-bucket']), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.code, 'S3_BUCKET_MISSING');
      assert.match(err.message, /bucket "edgelake-absent-bucket" does not exist at http:\/\/127\.0\.0\.1:\d+/);
      assert.match(err.message, /--create-buckets/);
      return true;
    });
    assert.deepEqual(await s3.listKeys('edgelake-absent-bucket'), []);
  });

  test('prepare creates missing buckets when createBuckets is on, and put can then write to them', async () => {
    const sink = sinkFor({ createBuckets: true });
    const created = 'expanso-databricks-metrics-us-west-2';
    await sink.prepare([created, BUCKET, created]);
    await sink.prepare([created]); // already there: a no-op
    const object = gzObject('pipeline_metrics/year=2024/month=01/day=02/hour=03/n_000000000001-000000000002.jsonl.gz', [{ m: 1 }], created);
    await sink.put([object]);
    assert.deepEqual(await s3.listKeys(created), [object.key]);
  });

  test('put into a bucket that does not exist fails at once with S3_BUCKET_MISSING, without retries', async () => {
    const sink = sinkFor({ maxAttempts: 5 });
    await assert.rejects(sink.put([gzObject('k.jsonl.gz', [{}], 'edgelake-no-such-bucket')]), (err: unknown) => {
      assert.ok(err instanceof PipelineError);
      assert.equal(err.code, 'S3_BUCKET_MISSING');
      assert.match(err.message, /edgelake-no-such-bucket/);
      return true;
    });
    assert.equal(sink.retries, 0);
  });

  test('an unreachable endpoint fails prepare fast with S3_UNREACHABLE and no credential anywhere in the error', async () => {
    useCredentials('AKIACANARY123', 'secretCANARYvalue');
    const port = await deadPort();
    const sink = sinkFor({ endpoint: `http://127.0.0.1:${port}`, maxAttempts: 2, retryBaseMs: 5 });
    const started = performance.now();
    const err = await sink.prepare([BUCKET]).then(
      () => assert.fail('prepare should reject'),
      (e: unknown) => e,
    );
    assert.ok(performance.now() - started < 5_000);
    assert.ok(err instanceof PipelineError);
    assert.equal(err.code, 'S3_UNREACHABLE');
    assert.equal(err.message, `cannot reach S3 at http://127.0.0.1:${port} (ECONNREFUSED); nothing was uploaded and the checkpoint is unchanged`);
    const texts = errorTexts(err);
    for (const secret of ['AKIACANARY123', 'secretCANARYvalue']) assert.ok(!texts.includes(secret), `error text leaks ${secret}`);
    assert.equal(sink.retries, 1);
  });

  test('unknown credentials make prepare a ConfigError naming the bucket and put a final S3_ACCESS_DENIED, neither echoing the key id', async () => {
    // s3rver answers 403 InvalidAccessKeyId and echoes the key id in its XML body; the SDK copies it onto its exception.
    useCredentials('AKIACANARY123', 'secretCANARYvalue');
    const sink = sinkFor({ maxAttempts: 4 });
    const prepared = await sink.prepare([BUCKET]).then(() => assert.fail('prepare should reject'), (e: unknown) => e);
    assert.ok(prepared instanceof ConfigError);
    assert.equal(prepared.code, 'S3_ACCESS_DENIED');
    assert.match(prepared.message, new RegExp(`bucket "${BUCKET}"`));
    assert.match(prepared.message, /credentials .* lack access/);

    const put = await sink.put([gzObject('denied.jsonl.gz', [{}])]).then(() => assert.fail('put should reject'), (e: unknown) => e);
    assert.ok(put instanceof PipelineError);
    assert.equal(put.code, 'S3_ACCESS_DENIED');
    assert.match(put.message, /denied \(HTTP 403 InvalidAccessKeyId\)/);
    assert.equal(sink.retries, 0);
    for (const err of [prepared, put]) {
      const texts = errorTexts(err);
      for (const secret of ['AKIACANARY123', 'secretCANARYvalue']) assert.ok(!texts.includes(secret), `error text leaks ${secret}`);
    }
    assert.deepEqual(await s3.listKeys(BUCKET).then((keys) => keys.filter((k) => k === 'denied.jsonl.gz')), []);
  });

  test('put to an unreachable endpoint gives up after maxAttempts with S3_PUT_FAILED naming the key and ECONNREFUSED', async () => {
    const port = await deadPort();
    const sink = sinkFor({ endpoint: `http://127.0.0.1:${port}`, maxAttempts: 3, retryBaseMs: 5 });
    const object = gzObject('sensor_readings/a/b.jsonl.gz', [{ a: 1 }]);
    await assert.rejects(sink.put([object]), (err: unknown) => {
      assert.ok(err instanceof PipelineError);
      assert.equal(err.code, 'S3_PUT_FAILED');
      assert.match(err.message, new RegExp(`s3://${BUCKET}/sensor_readings/a/b\\.jsonl\\.gz`));
      assert.match(err.message, /after 3 attempts: last error ECONNREFUSED/);
      return true;
    });
    assert.equal(sink.retries, 2);
    assert.equal(sink.puts, 0);
  });

  test('put retries while the server is down and succeeds once it is back on the same port', async () => {
    const events: S3RetryEvent[] = [];
    let restarted: Promise<void> | undefined;
    const sink = sinkFor({
      maxAttempts: 6,
      concurrency: 2,
      // Bring S3 back on the first retry; the sink waits for this before its next try.
      onRetry: async (event) => {
        events.push(event);
        restarted ??= s3.restart();
        await restarted;
      },
    });
    await sink.put([gzObject('warmup.jsonl.gz', [{}])]); // leaves a keep-alive socket that the stop kills
    await s3.stop();
    const objects = [gzObject('during-outage/1.jsonl.gz', [{ n: 1 }]), gzObject('during-outage/2.jsonl.gz', [{ n: 2 }])];
    await sink.put(objects);

    assert.ok(events.length >= 1);
    assert.equal(events[0].operation, 'PutObject');
    assert.match(events[0].fault.code, /^E[A-Z]+$/);
    assert.ok(events[0].fault.network);
    for (const o of objects) assert.deepEqual(await s3.readObject(BUCKET, o.key), Buffer.from(o.body));
    assert.equal(sink.puts, 3);
    assert.equal(sink.retries, events.length);
  });

  test('location shows endpoint and region only, even when the endpoint URL carries user:pass@', async () => {
    const sink = sinkFor({ endpoint: `http://AKIAUSER999:s3cr3tPass@127.0.0.1:${s3.port}/` });
    assert.equal(sink.location, `http://127.0.0.1:${s3.port} (region us-west-2)`);
    assert.doesNotMatch(sink.location, /AKIAUSER999|s3cr3tPass|@/);
    await sink.prepare([BUCKET]); // the userinfo is dropped, not sent: the default chain signs
  });

  test('an endpoint that is not an http(s) URL is a ConfigError that does not echo its userinfo', () => {
    assert.throws(
      () => S3Sink.create({ endpoint: 'ftp://user:hunter2@host', region: REGION, createBuckets: false }),
      (err: unknown) => err instanceof ConfigError && err.code === 'S3_ENDPOINT_INVALID' && !err.message.includes('hunter2'),
    );
  });
});

describe('S3 retry policy', () => {
  const cases: { name: string; err: object; code: string; retryable: boolean }[] = [
    { name: 'connection refused', err: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), code: 'ECONNREFUSED', retryable: true },
    { name: 'socket hang up', err: new Error('socket hang up'), code: 'ECONNRESET', retryable: true },
    { name: 'SDK timeout', err: Object.assign(new Error('timed out'), { name: 'TimeoutError' }), code: 'ETIMEDOUT', retryable: true },
    { name: 'HTTP 503 SlowDown', err: { name: 'SlowDown', message: 'slow', $metadata: { httpStatusCode: 503 } }, code: 'SlowDown', retryable: true },
    { name: 'HTTP 502 without a code', err: { name: 'Error', message: '', $metadata: { httpStatusCode: 502 } }, code: 'HTTP502', retryable: true },
    { name: 'HTTP 429', err: { name: 'TooManyRequests', message: '', $metadata: { httpStatusCode: 429 } }, code: 'TooManyRequests', retryable: true },
    { name: 'HTTP 400 RequestTimeout', err: { name: 'RequestTimeout', message: '', $metadata: { httpStatusCode: 400 } }, code: 'RequestTimeout', retryable: true },
    { name: 'HTTP 403 AccessDenied', err: { name: 'AccessDenied', message: 'no', $metadata: { httpStatusCode: 403 } }, code: 'AccessDenied', retryable: false },
    { name: 'HTTP 404 NoSuchBucket', err: { name: 'NoSuchBucket', message: 'no', $metadata: { httpStatusCode: 404 } }, code: 'NoSuchBucket', retryable: false },
  ];
  for (const c of cases) {
    test(`classifies ${c.name} as ${c.retryable ? 'retryable' : 'final'}`, () => {
      const fault = classifyS3Error(c.err);
      assert.equal(fault.code, c.code);
      assert.equal(fault.retryable, c.retryable);
    });
  }

  test('full-jitter backoff stays below the doubled ceiling and the cap', () => {
    assert.equal(backoffDelayMs(1, 200, 10_000, () => 0.999), 199);
    assert.equal(backoffDelayMs(3, 200, 10_000, () => 0.5), 400);
    assert.equal(backoffDelayMs(20, 200, 10_000, () => 0.999), 9990);
    assert.equal(backoffDelayMs(4, 200, 10_000, () => 0), 0);
  });

  test('classification drops access key ids from echoed messages', () => {
    const fault = classifyS3Error({ name: 'InvalidAccessKeyId', message: 'key AKIACANARY123 unknown', $metadata: { httpStatusCode: 403 } });
    assert.doesNotMatch(fault.message, /AKIACANARY123/);
  });
});
