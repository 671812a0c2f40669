/**
 * Where the checker reads the lake from: a local `--lake` folder (`DIR/<bucket>/<key>`) or an
 * S3-compatible server, listed and downloaded with the SDK like any consumer would. Objects are
 * decoded here with the checker's own code — gzip JSON Lines (one JSON record per line), or
 * Parquet (`run --format parquet`) read by DuckDB into the same record shape: integers as
 * numbers, timestamps as ISO-8601 UTC text with milliseconds, structs as objects, ingestion's
 * `_rescued_data` members back in their columns — and an object
 * that does not decode is reported, never skipped silently.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, ListBucketsCommand, ListObjectsCommand, S3Client } from '@aws-sdk/client-s3';
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';

/** One stored object, decoded. */
export interface LakeObject {
  readonly bucket: string;
  /** Key inside the bucket, `/`-separated. */
  readonly key: string;
  readonly records: ReadonlyArray<Record<string, unknown>>;
  /** Compressed size, bytes. */
  readonly bytes: number;
}

/** Everything read from a lake: the decoded objects and what could not be read. */
export interface LakeSnapshot {
  readonly objects: LakeObject[];
  /** Human-readable problems met while reading (one per undecodable object or failed download). */
  readonly problems: string[];
  /** The objects behind `problems`, by bucket and key. */
  readonly undecodable: Array<{ readonly bucket: string; readonly key: string; readonly message: string }>;
  /** Files that are not objects (temporary files a killed writer may leave), by path. Not a problem by themselves. */
  readonly strayFiles: string[];
}

/**
 * Decodes gzip JSON Lines. Every line must be one complete JSON object and the text must end
 * with a newline (an object cut short would not). Throws an Error naming `where` and the line.
 */
export function decodeJsonlGz(body: Uint8Array, where: string): Array<Record<string, unknown>> {
  let text: string;
  try {
    text = gunzipSync(body).toString('utf8');
  } catch (err) {
    throw new Error(`${where}: not gzip (${(err as Error).message})`);
  }
  if (text.length === 0) return [];
  if (!text.endsWith('\n')) throw new Error(`${where}: last line is not terminated (object cut short?)`);
  const lines = text.slice(0, -1).split('\n');
  return lines.map((line, i) => {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new Error(`${where}: line ${i + 1} is not JSON (${(err as Error).message}): ${line.slice(0, 120)}`);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${where}: line ${i + 1} is not a JSON object`);
    return value as Record<string, unknown>;
  });
}

/** The object suffixes the checker reads: either format of `run --format`. */
const OBJECT_SUFFIXES = ['.jsonl.gz', '.parquet'];

const isObjectKey = (key: string): boolean => OBJECT_SUFFIXES.some((s) => key.endsWith(s));

/** Decodes an object by its suffix. */
export async function decodeObject(body: Uint8Array, where: string): Promise<Array<Record<string, unknown>>> {
  return where.endsWith('.parquet') ? decodeParquet(body, where) : decodeJsonlGz(body, where);
}

let duck: Promise<DuckDBConnection> | null = null;

/**
 * Decodes a Parquet object with DuckDB (from a temporary file: DuckDB reads files), every column
 * of the file, each record in the shape its JSON Lines twin has. Throws an Error naming `where`.
 */
export async function decodeParquet(body: Uint8Array, where: string): Promise<Array<Record<string, unknown>>> {
  duck ??= import('@duckdb/node-api').then(async ({ DuckDBInstance }) => (await DuckDBInstance.create(':memory:')).connect());
  const con = await duck;
  const dir = await mkdtemp(join(tmpdir(), 'checker-parquet-'));
  try {
    const file = join(dir, 'object.parquet');
    await writeFile(file, body);
    const result = await con.runAndReadAll(`SELECT * FROM read_parquet('${file.replace(/'/g, "''")}', hive_partitioning = false)`);
    const names = result.columnNames();
    return result.getRows().map((row) => {
      const rec: Record<string, unknown> = Object.fromEntries(row.map((v, i) => [names[i], plain(v)]));
      // Ingestion: the values no typed column could hold are back where the source had them.
      if ('_rescued_data' in rec) {
        const rescued = rec._rescued_data;
        delete rec._rescued_data;
        if (typeof rescued === 'string') Object.assign(rec, JSON.parse(rescued) as Record<string, unknown>);
      }
      return rec;
    });
  } catch (err) {
    throw new Error(`${where}: not a readable Parquet object (${(err as Error).message})`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A DuckDB value as the JSON Lines record holds it. */
function plain(v: DuckDBValue): unknown {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  // ±Infinity as JSON Lines writes a stored REAL it cannot hold: by name.
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'object' && 'micros' in v) return new Date(Number((v as { micros: bigint }).micros / 1000n)).toISOString();
  if (typeof v === 'object' && 'items' in v) return (v as { items: readonly DuckDBValue[] }).items.map(plain);
  if (typeof v === 'object' && 'entries' in v) return Object.fromEntries(Object.entries((v as { entries: Record<string, DuckDBValue> }).entries).map(([k, x]) => [k, plain(x)]));
  return String(v);
}

/** Reads every `*.jsonl.gz` and `*.parquet` object under `dir/<bucket>/`; other files are listed as stray files. */
export async function readLakeFolder(dir: string): Promise<LakeSnapshot> {
  const objects: LakeObject[] = [];
  const problems: string[] = [];
  const undecodable: LakeSnapshot['undecodable'] = [];
  const strayFiles: string[] = [];
  let entries: import('node:fs').Dirent[];
  try {
    entries = (await readdir(dir, { recursive: true, withFileTypes: true })) as import('node:fs').Dirent[];
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { objects, problems: [`lake folder ${dir} does not exist`], undecodable, strayFiles };
    throw err;
  }
  for (const e of entries) {
    if (!e.isFile()) continue;
    const rel = join(e.parentPath, e.name).slice(dir.length + 1).split(sep).join('/');
    const slash = rel.indexOf('/');
    if (!isObjectKey(rel) || slash < 0 || e.name.startsWith('.')) {
      strayFiles.push(rel);
      continue;
    }
    const body = await readFile(join(dir, rel));
    const [bucket, key] = [rel.slice(0, slash), rel.slice(slash + 1)];
    try {
      objects.push({ bucket, key, records: await decodeObject(body, rel), bytes: body.byteLength });
    } catch (err) {
      problems.push((err as Error).message);
      undecodable.push({ bucket, key, message: (err as Error).message });
    }
  }
  objects.sort((a, b) => cmp(a.bucket, b.bucket) || cmp(a.key, b.key));
  return { objects, problems, undecodable, strayFiles };
}

/** Options of {@link readS3Lake}. */
export interface S3LakeOptions {
  /** S3-compatible endpoint, e.g. `http://127.0.0.1:4568` (path-style addressing). */
  readonly endpoint: string;
  /** Region for signing. Default `us-west-2`. */
  readonly region?: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Only buckets whose name starts with this are read. Default `''` (all). */
  readonly bucketPrefix?: string;
  /** Downloads in flight. Default 8. */
  readonly concurrency?: number;
}

/** Lists the buckets and keys of an S3 server and downloads every `*.jsonl.gz` and `*.parquet` object. */
export async function readS3Lake(opts: S3LakeOptions): Promise<LakeSnapshot> {
  const client = new S3Client({
    endpoint: opts.endpoint,
    region: opts.region ?? 'us-west-2',
    forcePathStyle: true,
    credentials: { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const objects: LakeObject[] = [];
  const problems: string[] = [];
  const undecodable: LakeSnapshot['undecodable'] = [];
  const strayFiles: string[] = [];
  try {
    const buckets = ((await client.send(new ListBucketsCommand({}))).Buckets ?? [])
      .map((b) => b.Name ?? '')
      .filter((n) => n.startsWith(opts.bucketPrefix ?? ''));
    const todo: Array<{ bucket: string; key: string }> = [];
    for (const bucket of buckets) {
      // ListObjects (v1) paged by Marker = last key: s3rver 3.7 makes v2 continuation tokens with
      // DES, which Node 20's OpenSSL 3 lacks, so ListObjectsV2 answers HTTP 500 past 1000 keys.
      let marker: string | undefined;
      do {
        const page = await client.send(new ListObjectsCommand({ Bucket: bucket, Marker: marker }));
        const contents = page.Contents ?? [];
        for (const o of contents) {
          if (o.Key && isObjectKey(o.Key)) todo.push({ bucket, key: o.Key });
          else if (o.Key) strayFiles.push(`${bucket}/${o.Key}`);
        }
        marker = page.IsTruncated && contents.length ? contents[contents.length - 1].Key : undefined;
      } while (marker);
    }
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < todo.length) {
        const { bucket, key } = todo[next++];
        const where = `s3://${bucket}/${key}`;
        try {
          const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
          const body = await got.Body!.transformToByteArray();
          objects.push({ bucket, key, records: await decodeObject(body, where), bytes: body.byteLength });
        } catch (err) {
          // decodeJsonlGz names the object itself; SDK errors do not.
          const text = (err as Error).message;
          const message = text.startsWith(where) ? text : `${where}: ${text}`;
          problems.push(message);
          undecodable.push({ bucket, key, message });
        }
      }
    };
    await Promise.all(Array.from({ length: opts.concurrency ?? 8 }, worker));
  } finally {
    client.destroy();
  }
  objects.sort((a, b) => cmp(a.bucket, b.bucket) || cmp(a.key, b.key));
  return { objects, problems, undecodable, strayFiles };
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
