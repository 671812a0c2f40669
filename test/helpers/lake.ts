/**
 * Reads back what edgelake wrote: every `.jsonl.gz` object of a lake folder (`DIR/<bucket>/<key>`)
 * or of an s3rver store, decompressed and parsed into records, plus exactly-once bookkeeping.
 * A reader that lists `*.jsonl.gz` is what Databricks Auto Loader does, so temporary files
 * (`.tmp-*`) are invisible here by construction; {@link listLakeFiles} shows them too.
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, sep } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { S3ServerHandle } from './s3server.ts';
import { decodeObject } from '../checker/lake-source.ts';

/** One stored object, parsed. */
export interface LakeObject {
  readonly bucket: string;
  /** The key inside the bucket, `/`-separated. */
  readonly key: string;
  readonly records: Array<Record<string, unknown>>;
}

/** The bucket of the ingestion stage with the default prefix and region. */
export const INGESTION_BUCKET = 'expanso-databricks-ingestion-us-west-2';
/** The metrics bucket with the default prefix and region. */
export const METRICS_BUCKET = 'expanso-databricks-metrics-us-west-2';
/** The validated bucket with the default prefix and region. */
export const VALIDATED_BUCKET = 'expanso-databricks-validated-us-west-2';

/**
 * True for a node's manifest (`{metrics bucket}/_edgelake/manifests/{node}/live.json.gz`, see
 * src/state/manifest.ts): the one object in a lake that is not JSON Lines.
 */
export function isNodeManifest(rel: string): boolean {
  return /^[^/]+-metrics-[^/]+\/_edgelake\/manifests\/[^/]+\/live\.json\.gz$/.test(rel);
}

/** Every file below `dir` (relative paths, `/`-separated), including temporary ones; [] when missing. */
export function listLakeFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1).split(sep).join('/'))
    .sort();
}

/** Parses gzip JSON Lines; a line that is not JSON fails loudly with its key. */
export function parseJsonlGz(body: Buffer, where: string): Array<Record<string, unknown>> {
  const text = gunzipSync(body).toString('utf8');
  const lines = text.split('\n').filter((l) => l.length > 0);
  return lines.map((l, i) => {
    try {
      return JSON.parse(l) as Record<string, unknown>;
    } catch (err) {
      throw new Error(`${where}: line ${i + 1} is not JSON (${(err as Error).message}): ${l.slice(0, 200)}`);
    }
  });
}

/** Every `*.jsonl.gz` object of `bucket` in the lake folder `lakeDir` (all buckets when omitted), sorted by key. */
export function readLake(lakeDir: string, bucket?: string): LakeObject[] {
  const out: LakeObject[] = [];
  for (const rel of listLakeFiles(lakeDir)) {
    if (!rel.endsWith('.jsonl.gz')) continue;
    const slash = rel.indexOf('/');
    const b = rel.slice(0, slash);
    if (bucket !== undefined && b !== bucket) continue;
    const key = rel.slice(slash + 1);
    out.push({ bucket: b, key, records: parseJsonlGz(readFileSync(join(lakeDir, rel)), rel) });
  }
  return out;
}

/**
 * Every object of either format (`*.jsonl.gz`, `*.parquet` from `run --format parquet`) of
 * `bucket` in the lake folder (all buckets when omitted), sorted by key, each record in its JSON
 * Lines shape (Parquet decoded by DuckDB: test/checker/lake-source.ts `decodeParquet`).
 */
export async function readLakeAll(lakeDir: string, bucket?: string): Promise<LakeObject[]> {
  const out: LakeObject[] = [];
  for (const rel of listLakeFiles(lakeDir)) {
    if (!rel.endsWith('.jsonl.gz') && !rel.endsWith('.parquet')) continue;
    const slash = rel.indexOf('/');
    const b = rel.slice(0, slash);
    if (bucket !== undefined && b !== bucket) continue;
    out.push({ bucket: b, key: rel.slice(slash + 1), records: await decodeObject(readFileSync(join(lakeDir, rel)), rel) });
  }
  return out;
}

/** Every `*.jsonl.gz` object of `bucket` in an s3rver store, read from its disk, sorted by key. */
export async function readS3(server: S3ServerHandle, bucket: string): Promise<LakeObject[]> {
  const out: LakeObject[] = [];
  for (const key of await server.listKeys(bucket)) {
    if (!key.endsWith('.jsonl.gz')) continue;
    out.push({ bucket, key, records: parseJsonlGz(await server.readObject(bucket, key), `s3://${bucket}/${key}`) });
  }
  return out;
}

/** How many times each `id` occurs over all records of `objects`. */
export function idCounts(objects: readonly LakeObject[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const o of objects) for (const r of o.records) counts.set(r.id as number, (counts.get(r.id as number) ?? 0) + 1);
  return counts;
}

/**
 * Checks that ids 1..maxId each occur exactly once over `objects` and nothing else occurs;
 * returns a description of the first problems, or null when exactly once holds.
 */
export function exactlyOnceProblems(objects: readonly LakeObject[], maxId: number): string | null {
  const counts = idCounts(objects);
  const missing: number[] = [];
  const dup: number[] = [];
  const extra: number[] = [];
  for (let id = 1; id <= maxId; id++) {
    const n = counts.get(id) ?? 0;
    if (n === 0) missing.push(id);
    else if (n > 1) dup.push(id);
  }
  for (const id of counts.keys()) if (!(id >= 1 && id <= maxId)) extra.push(id);
  if (!missing.length && !dup.length && !extra.length) return null;
  const show = (xs: number[]) => `${xs.length} (${xs.slice(0, 10).join(', ')}${xs.length > 10 ? ', …' : ''})`;
  return `ids 1..${maxId}: missing ${show(missing)}, duplicated ${show(dup)}, unexpected ${show(extra)}`;
}

const KEY_RE = /^sensor_readings\/year=(\d{4})\/month=(\d{2})\/day=(\d{2})\/hour=(\d{2})\/(.+)_(\d{12})-(\d{12})\.jsonl\.gz$/;

/** The parts of a `sensor_readings` row-object key, or null when it does not match the contract's layout. */
export function parseRowKey(key: string): { hourMs: number; node: string; firstId: number; lastId: number } | null {
  const m = KEY_RE.exec(key);
  if (!m) return null;
  return {
    hourMs: Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4])),
    node: m[5],
    firstId: Number(m[6]),
    lastId: Number(m[7]),
  };
}
