/**
 * The landed ingestion objects of a lake, as a source: list a bucket's `sensor_readings` objects
 * (in a `--lake` folder or in S3, read-only: ListObjectsV2 and GetObject), filtered by node and
 * by event hour from the partition folders, and decode each back into the rows the live reader
 * saw: gzip JSON Lines (src/source/record-batch.ts) or Parquet from `run --format parquet`
 * (src/source/parquet-records.ts), the same rows from either; an id range landed in both formats
 * is read once (src/source/format-twins.ts). This is what `edgelake reprocess` reads instead of
 * the node's SQLite file, which in the field is pruned long before anyone wants to reprocess.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { ConfigError, PipelineError, messageOf } from '../errors.ts';
import { decodeNodeKey } from '../sink/key.ts';
import { RetryExhausted, redactSecrets, withRetry } from '../sink/s3-retry.ts';
import { createS3Client, loadS3Sdk, type S3SinkOptions } from '../sink/s3.ts';
import { pairTwins } from './format-twins.ts';
import { objectName } from './ingestion-objects.ts';

export { objectName, readIngestionBatch, readIngestionObject } from './ingestion-objects.ts';

/** The dataset whose objects hold source rows. */
const DATASET = 'sensor_readings';

/** What a live row object's key says (contract §4), parsed by {@link parseRowObjectKey}. */
export interface RowObjectKey {
  /** Start of the event-time hour of the partition folders, epoch ms. */
  readonly hourMs: number;
  /** The node part of the key as written (`nodeKeyPart`): the encoded node id, then `~g<N>` from generation 2 on. */
  readonly node: string;
  /** The node id the node part encodes. */
  readonly nodeId: string;
  /** Source generation: 1, or N of `~g<N>` (the node's sensor database was replaced and ids restarted). */
  readonly generation: number;
  readonly firstId: number;
  readonly lastId: number;
  /** `jsonl` (`.jsonl.gz`) or `parquet` (`.parquet`, `run --format parquet`). */
  readonly format: 'jsonl' | 'parquet';
}

const ROW_KEY = /^sensor_readings\/year=(\d{4})\/month=(\d{2})\/day=(\d{2})\/hour=(\d{2})\/([^/]+)_(\d{12,})-(\d{12,})\.(jsonl\.gz|parquet)$/;
const NODE_PART = /^([^~]+)(?:~g(\d+))?$/;

/**
 * Parses `sensor_readings/year=YYYY/month=MM/day=DD/hour=HH/{node}_{first12}-{last12}.jsonl.gz`
 * or `….parquet` (a live batch object of either format); null for any other key: temporary
 * files, other datasets, and objects with a role suffix (`~alerts`, reprocess runs). The one
 * place this layout is read back.
 * The id range is taken from the right (`_first-last.jsonl.gz`), so an id holding `_` is fine;
 * the node part is decoded with `decodeNodeKey`, the inverse of the keys' own encoding.
 */
export function parseRowObjectKey(key: string): RowObjectKey | null {
  const m = ROW_KEY.exec(key);
  if (!m) return null;
  const [, y, mo, d, h, node, first, last, ext] = m;
  const date = new Date(0);
  date.setUTCFullYear(Number(y), Number(mo) - 1, Number(d)); // not Date.UTC: it maps years 0–99 to 1900–1999
  date.setUTCHours(Number(h));
  const hourMs = date.getTime();
  // A folder that names no real hour (month=13) is not an edgelake partition.
  if (date.toISOString().slice(0, 13) !== `${y}-${mo}-${d}T${h}`) return null;
  const firstId = Number(first);
  const lastId = Number(last);
  if (!Number.isSafeInteger(lastId) || firstId < 1 || firstId > lastId) return null;
  const part = NODE_PART.exec(node);
  if (!part) return null;
  let nodeId: string;
  try {
    nodeId = decodeNodeKey(part[1]);
  } catch {
    return null;
  }
  const generation = part[2] === undefined ? 1 : Number(part[2]);
  if (!Number.isSafeInteger(generation) || generation < 1 || (part[2] !== undefined && generation < 2)) return null;
  return { hourMs, node, nodeId, generation, firstId, lastId, format: ext === 'parquet' ? 'parquet' : 'jsonl' };
}

/** One landed object. */
export interface LakeObject extends RowObjectKey {
  readonly bucket: string;
  readonly key: string;
  /** Size in bytes as S3 lists it; 0 from a lake folder (not needed there). */
  readonly size: number;
  /**
   * The key of this JSON Lines object's Parquet twin (same hour, node and id range), when both
   * are listed: the twin is not listed itself, and is read with this one to prove it holds the
   * same rows (src/source/format-twins.ts).
   */
  readonly twin?: string;
}

/** Filters of {@link LakeRecordSource.list}. */
export interface ListOptions {
  readonly bucket: string;
  /** Only this node id's objects (every source generation of it). Default: every node. */
  readonly node?: string;
  /** Only the hours overlapping [fromMs, untilMs): from the hour holding `fromMs` (epoch ms). Default: no bound. */
  readonly fromMs?: number;
  /** Only hours that start before this epoch ms (exclusive). Default: no bound. */
  readonly untilMs?: number;
  /**
   * Told of each key under `sensor_readings/` that is not listed: not a live batch object (a lake
   * folder's `.tmp-…part` files aside), or the Parquet twin of a listed JSON Lines object (read
   * only to prove it holds the same rows): so a caller can say what it skipped instead of
   * skipping silently.
   */
  readonly onIgnored?: (key: string) => void;
}

/** A read-only view of the landed objects of a lake folder or of S3. */
export interface LakeRecordSource {
  readonly kind: 'lake' | 's3';
  /** Where it reads, never containing credentials. */
  readonly location: string;
  /** The objects matching `opts`, ordered by node, first id, hour, key; of twins in both formats only the JSON Lines one. */
  list(opts: ListOptions): Promise<LakeObject[]>;
  /** The raw body of an object (gzip JSON Lines or Parquet, as its key says). */
  get(obj: Pick<LakeObject, 'bucket' | 'key'>): Promise<Buffer>;
  /** A URI naming the object, for lineage (`s3://bucket/key` or a file path). */
  uri(obj: Pick<LakeObject, 'bucket' | 'key'>): string;
  /** The object's local file, checked to exist (a lake folder: read where it lies), or null (S3: {@link get} the body). */
  file(obj: Pick<LakeObject, 'bucket' | 'key'>): Promise<string | null>;
  close(): Promise<void>;
}

const HOUR_MS = 3_600_000;

function inRange(o: RowObjectKey, opts: ListOptions): boolean {
  if (opts.fromMs !== undefined && o.hourMs < Math.floor(opts.fromMs / HOUR_MS) * HOUR_MS) return false;
  if (opts.untilMs !== undefined && o.hourMs >= opts.untilMs) return false;
  return opts.node === undefined || o.nodeId === opts.node;
}

const byStream = (a: LakeObject, b: LakeObject) =>
  a.node < b.node ? -1 : a.node > b.node ? 1 : a.firstId - b.firstId || a.hourMs - b.hourMs || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/** A `--lake DIR` folder: objects at `DIR/<bucket>/<key>`. */
export class FolderRecordSource implements LakeRecordSource {
  readonly kind = 'lake' as const;
  readonly location: string;

  constructor(dir: string) {
    this.location = resolve(dir);
  }

  async list(opts: ListOptions): Promise<LakeObject[]> {
    const root = join(this.location, opts.bucket);
    const out: LakeObject[] = [];
    const dirs = async (path: string): Promise<string[]> => {
      try {
        return (await readdir(path, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' && path !== root) return [];
        throw sourceError(err, `listing ${path}`);
      }
    };
    // Walks year/month/day/hour folders; parseRowObjectKey checks each key whole.
    for (const y of await dirs(join(root, DATASET))) {
      for (const mo of await dirs(join(root, DATASET, y))) {
        for (const d of await dirs(join(root, DATASET, y, mo))) {
          for (const h of await dirs(join(root, DATASET, y, mo, d))) {
            // Prune by the folder's hour before listing it (keys are still checked whole below).
            const hour = parseRowObjectKey(`${DATASET}/${y}/${mo}/${d}/${h}/x_000000000001-000000000001.jsonl.gz`);
            if (hour && !inRange({ ...hour, nodeId: opts.node ?? hour.nodeId }, opts)) continue;
            const folder = join(root, DATASET, y, mo, d, h);
            const entries = await readdir(folder, { withFileTypes: true }).catch((err) => Promise.reject(sourceError(err, `listing ${folder}`)));
            for (const e of entries) {
              if (!e.isFile()) continue;
              const key = `${DATASET}/${y}/${mo}/${d}/${h}/${e.name}`;
              const parsed = parseRowObjectKey(key);
              if (!parsed) {
                if (!e.name.startsWith('.tmp-')) opts.onIgnored?.(key);
                continue;
              }
              if (!inRange(parsed, opts)) continue;
              out.push({ ...parsed, bucket: opts.bucket, key, size: 0 });
            }
          }
        }
      }
    }
    return pairTwins(out, opts.onIgnored).sort(byStream);
  }

  async get(obj: Pick<LakeObject, 'bucket' | 'key'>): Promise<Buffer> {
    const path = this.uri(obj);
    return readFile(path).catch((err) => Promise.reject(sourceError(err, `reading ${path}`)));
  }

  uri(obj: Pick<LakeObject, 'bucket' | 'key'>): string {
    return join(this.location, obj.bucket, obj.key);
  }

  async file(obj: Pick<LakeObject, 'bucket' | 'key'>): Promise<string> {
    const path = this.uri(obj);
    await stat(path).catch((err) => Promise.reject(sourceError(err, `reading ${path}`)));
    return path;
  }

  async close(): Promise<void> {}
}

/** S3 (or an S3-compatible server), through the client the sink uses, read-only. */
export class S3RecordSource implements LakeRecordSource {
  readonly kind = 's3' as const;
  readonly location: string;
  readonly #client: Promise<S3Client>;

  constructor(opts: Pick<S3SinkOptions, 'endpoint' | 'region' | 'forcePathStyle' | 'maxAttempts'>) {
    this.location = `${opts.endpoint ?? 'AWS S3'} (region ${opts.region})`;
    this.#client = createS3Client({ ...opts, createBuckets: false });
    this.#client.catch(() => {}); // surfaced by the first request
  }

  async list(opts: ListOptions): Promise<LakeObject[]> {
    const { ListObjectsV2Command } = await loadS3Sdk();
    const client = await this.#client;
    const out: LakeObject[] = [];
    // Partition folders sort in time order (zero-padded), so a range starts listing at its first hour.
    const startAfter = opts.fromMs !== undefined ? hourFolder(Math.floor(opts.fromMs / HOUR_MS) * HOUR_MS) : undefined;
    let token: string | undefined;
    do {
      const page = await retry(`listing s3://${opts.bucket}/${DATASET}/`, () =>
        client.send(
          new ListObjectsV2Command({ Bucket: opts.bucket, Prefix: `${DATASET}/`, ContinuationToken: token, ...(token ? {} : startAfter ? { StartAfter: startAfter } : {}) }),
        ),
      );
      let past = false;
      for (const o of page.Contents ?? []) {
        const parsed = o.Key ? parseRowObjectKey(o.Key) : null;
        if (!parsed) {
          if (o.Key) opts.onIgnored?.(o.Key);
          continue;
        }
        if (opts.untilMs !== undefined && parsed.hourMs >= opts.untilMs) past = true;
        if (inRange(parsed, opts)) out.push({ ...parsed, bucket: opts.bucket, key: o.Key!, size: o.Size ?? 0 });
      }
      token = !past && page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return pairTwins(out, opts.onIgnored).sort(byStream);
  }

  async get(obj: Pick<LakeObject, 'bucket' | 'key'>): Promise<Buffer> {
    const { GetObjectCommand } = await loadS3Sdk();
    const client = await this.#client;
    return retry(`reading ${objectName(this, obj)}`, async () => {
      const r = await client.send(new GetObjectCommand({ Bucket: obj.bucket, Key: obj.key }));
      return Buffer.from(await r.Body!.transformToByteArray());
    });
  }

  uri(obj: Pick<LakeObject, 'bucket' | 'key'>): string {
    return `s3://${obj.bucket}/${obj.key}`;
  }

  async file(): Promise<null> {
    return null;
  }

  async close(): Promise<void> {
    (await this.#client.catch(() => null))?.destroy();
  }
}

/** `sensor_readings/year=…/hour=HH/`, the folder of an hour: as StartAfter it skips only earlier hours (no key equals a folder). */
function hourFolder(hourMs: number): string {
  const d = new Date(hourMs);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${DATASET}/year=${String(d.getUTCFullYear()).padStart(4, '0')}/month=${p(d.getUTCMonth() + 1)}/day=${p(d.getUTCDate())}/hour=${p(d.getUTCHours())}/`;
}

async function retry<T>(what: string, attempt: () => Promise<T>): Promise<T> {
  try {
    return await withRetry(attempt, { maxAttempts: 5, baseMs: 200, maxDelayMs: 10_000 });
  } catch (err) {
    throw sourceError(err, what);
  }
}

/** A read failure as a named error: a missing bucket or folder, or denied access, is configuration (exit 2). */
function sourceError(err: unknown, what: string): Error {
  const fault = err instanceof RetryExhausted ? err.fault : null;
  const code = fault?.code ?? (err as NodeJS.ErrnoException).code ?? 'EIO';
  if (code === 'ENOENT' || code === 'NoSuchBucket' || code === 'NoSuchKey' || fault?.status === 404) {
    return new ConfigError('LAKE_SOURCE_MISSING', `${what} failed: it does not exist (${code}); check --lake or --s3-endpoint, --bucket-prefix and --region`, { cause: err });
  }
  if (code === 'EACCES' || fault?.status === 403) {
    return new ConfigError('LAKE_SOURCE_DENIED', `${what} failed: access denied (${code}); reading needs list and read access (s3:ListBucket, s3:GetObject)`, { cause: err });
  }
  return new PipelineError('LAKE_SOURCE_FAILED', `${what} failed (${code}): ${redactSecrets(messageOf(err))}`, { cause: err });
}

/** Where to read: a lake folder, or S3 with the sink's client settings. */
export interface SourceChoice {
  readonly lake?: string;
  readonly s3Endpoint?: string;
  readonly region: string;
}

/** `--lake DIR` → the folder; otherwise S3 (`--s3-endpoint`, or the SDK's default endpoint). */
export function createRecordSource(choice: SourceChoice): LakeRecordSource {
  if (choice.lake && choice.s3Endpoint) throw new ConfigError('BAD_OPTION', '--lake and --s3-endpoint are exclusive');
  if (choice.lake) return new FolderRecordSource(choice.lake);
  return new S3RecordSource({ endpoint: choice.s3Endpoint, region: choice.region });
}

