/**
 * A local mirror of the lake's S3 buckets for the preview. DuckDB's httpfs extension cannot be
 * fetched everywhere (PERFORMANCE.md), so the objects are read with the SDK (ListObjectsV2 +
 * GetObject) into `<cache>/<bucket>/<key>` — the same layout as a `--lake` folder — and queried
 * there. A manifest of ETag and size per key makes a second sync download only new or changed
 * objects; keys gone from S3 are removed locally, so the cache mirrors the buckets.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { ConfigError, PipelineError } from '../errors.ts';
import { BUCKET_STAGES, FORMAT_EXTENSION, bucketName } from '../sink/key.ts';
import { createS3Client } from '../sink/s3.ts';
import { classifyS3Error, withRetry, RetryExhausted, type S3Fault } from '../sink/s3-retry.ts';

/** Options of {@link syncS3Cache}. */
export interface S3CacheOptions {
  /** S3 endpoint URL; absent: the SDK's default (AWS_ENDPOINT_URL_S3, or AWS). */
  readonly endpoint?: string;
  /** Region of the buckets and in their names, e.g. `us-west-2`. */
  readonly region: string;
  /** Bucket prefix, e.g. `expanso`. */
  readonly bucketPrefix: string;
  /** Local cache folder (created); becomes a lake folder for the query engine. */
  readonly cacheDir: string;
  /** GetObject requests in flight at once. Default 4. */
  readonly concurrency?: number;
  /** A client to use instead of one made by `createS3Client` (not closed here). */
  readonly client?: S3Client;
}

/** What a sync did. */
export interface S3CacheSummary {
  /** The cache folder, usable as `--lake`. */
  readonly lake: string;
  /** Buckets that exist and were listed. */
  readonly buckets: readonly string[];
  /** Objects listed over all buckets. */
  readonly listed: number;
  /** Objects fetched with GetObject (new or changed). */
  readonly downloaded: number;
  /** Body bytes fetched. */
  readonly bytes: number;
  /** Objects already in the cache with the same ETag and size. */
  readonly unchanged: number;
  /** Cached objects removed because their key is gone from S3. */
  readonly removed: number;
}

const MANIFEST = '.edgelake-cache.json';

interface ManifestEntry {
  etag: string;
  size: number;
}
type Manifest = Record<string, ManifestEntry>;

/** The objects the views read: either format's. */
const OBJECT_EXTENSIONS = Object.values(FORMAT_EXTENSION);

const RETRY = { maxAttempts: 4, baseMs: 200, maxDelayMs: 5_000 } as const;

/**
 * Brings `cacheDir` up to date with the lake's buckets at the endpoint: lists every object,
 * downloads the new or changed `.jsonl.gz` and `.parquet` ones (atomically: temp file, then rename) and deletes
 * cached keys that no longer exist. A bucket that does not exist is a stage that never ran and is
 * skipped. Rejects with ConfigError S3_ACCESS_DENIED on 403, PipelineError S3_UNREACHABLE or
 * S3_READ_FAILED otherwise.
 */
export async function syncS3Cache(opts: S3CacheOptions): Promise<S3CacheSummary> {
  const client = opts.client ?? (await createS3Client({ endpoint: opts.endpoint, region: opts.region, createBuckets: false }));
  const where = opts.endpoint ?? `S3 (region ${opts.region})`;
  try {
    mkdirSync(opts.cacheDir, { recursive: true });
    const previous = readManifest(opts.cacheDir);
    const next: Manifest = {};
    const todo: { bucket: string; key: string; entry: ManifestEntry }[] = [];
    const buckets: string[] = [];
    let listed = 0;
    let unchanged = 0;
    for (const stage of BUCKET_STAGES) {
      const bucket = bucketName(opts.bucketPrefix, stage, opts.region);
      const objects = await listBucket(client, bucket, where);
      if (objects === null) continue;
      buckets.push(bucket);
      for (const o of objects) {
        listed++;
        const id = `${bucket}/${o.key}`;
        const old = previous[id];
        if (old && old.etag === o.entry.etag && old.size === o.entry.size && existsSync(localPath(opts.cacheDir, bucket, o.key))) {
          next[id] = old;
          unchanged++;
        } else todo.push({ bucket, key: o.key, entry: o.entry });
      }
    }
    let bytes = 0;
    let index = 0;
    const worker = async () => {
      while (index < todo.length) {
        const t = todo[index++];
        const body = await getObject(client, t.bucket, t.key, where);
        const path = localPath(opts.cacheDir, t.bucket, t.key);
        mkdirSync(dirname(path), { recursive: true });
        // Readers (a DuckDB glob) must never see half an object: write aside, then rename.
        const tmp = join(dirname(path), `.tmp-${process.pid}-${index}`);
        writeFileSync(tmp, body);
        renameSync(tmp, path);
        bytes += body.byteLength;
        next[`${t.bucket}/${t.key}`] = t.entry;
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency ?? 4, todo.length)) }, worker));
    let removed = 0;
    for (const id of Object.keys(previous)) {
      if (id in next) continue;
      const slash = id.indexOf('/');
      rmSync(localPath(opts.cacheDir, id.slice(0, slash), id.slice(slash + 1)), { force: true });
      removed++;
    }
    writeManifest(opts.cacheDir, next);
    return { lake: opts.cacheDir, buckets, listed, downloaded: todo.length, bytes, unchanged, removed };
  } finally {
    if (!opts.client) client.destroy();
  }
}

/** Every `.jsonl.gz` and `.parquet` key of a bucket with its ETag and size, or null when the bucket does not exist. */
async function listBucket(client: S3Client, bucket: string, where: string): Promise<{ key: string; entry: ManifestEntry }[] | null> {
  const out: { key: string; entry: ManifestEntry }[] = [];
  let token: string | undefined;
  do {
    let page;
    try {
      page = await withRetry(() => client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token })), RETRY);
    } catch (err) {
      const fault = faultOf(err);
      if (fault.code === 'NoSuchBucket' || fault.status === 404) return null;
      throw readError('ListObjectsV2', `s3://${bucket}`, where, fault);
    }
    for (const o of page.Contents ?? []) {
      if (!o.Key || !OBJECT_EXTENSIONS.some((e) => o.Key!.endsWith(e))) continue;
      out.push({ key: o.Key, entry: { etag: o.ETag ?? '', size: o.Size ?? -1 } });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

async function getObject(client: S3Client, bucket: string, key: string, where: string): Promise<Uint8Array> {
  try {
    return await withRetry(async () => {
      const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      if (!r.Body) throw new Error(`empty body for s3://${bucket}/${key}`);
      return r.Body.transformToByteArray();
    }, RETRY);
  } catch (err) {
    throw readError('GetObject', `s3://${bucket}/${key}`, where, faultOf(err));
  }
}

function faultOf(err: unknown): S3Fault {
  return err instanceof RetryExhausted ? err.fault : classifyS3Error(err);
}

function readError(op: string, target: string, where: string, fault: S3Fault): Error {
  if (fault.status === 403) {
    return new ConfigError('S3_ACCESS_DENIED', `${op} ${target} at ${where} was denied (HTTP 403 ${fault.code}): the credentials from the AWS default chain lack read access`);
  }
  if (fault.network) return new PipelineError('S3_UNREACHABLE', `cannot reach S3 at ${where} for ${op} ${target} (${fault.code})`);
  return new PipelineError('S3_READ_FAILED', `${op} ${target} at ${where} failed: ${fault.code}${fault.status ? ` (HTTP ${fault.status})` : ''}: ${fault.message}`);
}

/** `<cache>/<bucket>/<key>`; a key that would escape the cache folder is refused. */
function localPath(cacheDir: string, bucket: string, key: string): string {
  const parts = key.split('/');
  if (key.startsWith('/') || parts.some((p) => p === '..' || p === '.' || p === '' || p.includes(sep))) {
    throw new PipelineError('S3_BAD_KEY', `object key "${key}" in bucket ${bucket} cannot be mirrored into a folder safely`);
  }
  return join(cacheDir, bucket, ...parts);
}

function readManifest(cacheDir: string): Manifest {
  try {
    const m = JSON.parse(readFileSync(join(cacheDir, MANIFEST), 'utf8')) as { objects?: Manifest };
    return m.objects ?? {};
  } catch {
    // No manifest (first sync) or a damaged one: everything is downloaded again.
    return {};
  }
}

function writeManifest(cacheDir: string, objects: Manifest): void {
  const tmp = join(cacheDir, `${MANIFEST}.${process.pid}.tmp`);
  writeFileSync(tmp, JSON.stringify({ version: 1, objects }));
  renameSync(tmp, join(cacheDir, MANIFEST));
}
