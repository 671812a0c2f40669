import { constants } from 'node:fs';
import { mkdir, open, readFile, rename, rm, access } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { ConfigError, PipelineError } from '../errors.ts';
import { crashPoint } from '../faults.ts';
import type { Sink, SinkErrorClass, SinkObject, SinkObserver } from './types.ts';

/** Options of {@link LakeSink}. */
export interface LakeSinkOptions {
  /** The lake folder; objects land at `<dir>/<bucket>/<key>`. Created (mode 0700) if missing. */
  readonly dir: string;
  /** Objects written in parallel. Default 4. */
  readonly concurrency?: number;
  /** Told of every object write (the run's metrics). */
  readonly observer?: SinkObserver;
}

/**
 * The embedded default sink: the contract's bucket/key layout in a local folder.
 * Each object is written to a temporary name beside its final one, fsynced, renamed into
 * place and its folder fsynced, so a reader sees either nothing or the whole object, and a
 * crash leaves at most a `.tmp-<name>.part` file, which the next write of that key replaces.
 */
export class LakeSink implements Sink {
  readonly kind = 'lake' as const;
  readonly location: string;
  readonly #concurrency: number;
  readonly #observer: SinkObserver | undefined;
  #objects = 0;
  #bytes = 0;

  constructor(opts: LakeSinkOptions) {
    this.location = resolve(opts.dir);
    this.#concurrency = opts.concurrency ?? 4;
    this.#observer = opts.observer;
  }

  /** Objects written so far. */
  get objectsWritten(): number {
    return this.#objects;
  }

  /** Bytes written so far. */
  get bytesWritten(): number {
    return this.#bytes;
  }

  async prepare(buckets: readonly string[]): Promise<void> {
    try {
      await mkdir(this.location, { recursive: true, mode: 0o700 });
      for (const b of buckets) await mkdir(join(this.location, b), { recursive: true, mode: 0o700 });
      await access(this.location, constants.W_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
      throw new ConfigError('LAKE_NOT_WRITABLE', `--lake ${this.location} is not a writable folder (${code}); choose another folder or fix its permissions`, {
        cause: err,
      });
    }
  }

  async put(objects: readonly SinkObject[]): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < objects.length) {
        await this.#write(objects[next++]);
        crashPoint('object-written');
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#concurrency, objects.length) }, worker));
  }

  async get(bucket: string, key: string): Promise<Uint8Array | null> {
    const path = join(this.location, bucket, key);
    if (!path.startsWith(this.location + sep)) throw new RangeError(`object key escapes the lake: ${bucket}/${key}`);
    try {
      return await readFile(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
      if (code === 'ENOENT') return null;
      throw new PipelineError('LAKE_READ_FAILED', `reading ${path} failed (${code})`, { cause: err });
    }
  }

  async #write(obj: SinkObject): Promise<void> {
    const path = join(this.location, obj.bucket, obj.key);
    if (!path.startsWith(this.location + sep)) throw new RangeError(`object key escapes the lake: ${obj.bucket}/${obj.key}`);
    const dir = dirname(path);
    // Named after its object, so the replay that rewrites this key after a crash also replaces the temp file it left.
    const tmp = `${dir}/.tmp-${basename(path)}.part`;
    this.#observer?.uploadAttempted('PutObject');
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const fh = await open(tmp, 'w', 0o600);
      try {
        await fh.writeFile(obj.body);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, path);
      const dh = await open(dir, 'r');
      try {
        await dh.sync();
      } finally {
        await dh.close();
      }
      this.#objects++;
      this.#bytes += obj.body.byteLength;
      this.#observer?.requestSucceeded('PutObject', obj.bucket);
      this.#observer?.objectWritten(obj.bucket, obj.key, obj.body.byteLength);
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => {});
      const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
      this.#observer?.uploadFailed('PutObject', obj.bucket, lakeErrorClass(code), `writing ${path} failed (${code})`);
      throw new PipelineError('LAKE_WRITE_FAILED', `writing ${path} failed (${code}); the checkpoint is unchanged, so nothing is lost: rerun after fixing it`, {
        cause: err,
      });
    }
  }

  async close(): Promise<void> {}
}

/** The metrics class of a file-system error code. */
function lakeErrorClass(code: string): SinkErrorClass {
  if (code === 'ENOSPC' || code === 'EDQUOT') return 'disk_full';
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return 'access_denied';
  return 'io';
}
