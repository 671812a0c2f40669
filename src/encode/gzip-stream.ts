import { createGzip, constants, type Gzip, type ZlibOptions } from 'node:zlib';
import { gzipBackend, IgzipMember } from './igzip.ts';
import { CHUNK_BYTES, JsonWriter } from './json-writer.ts';

/**
 * One gzip member built from byte chunks as they are encoded; only the compressed bytes
 * accumulate. At level 1 (the default) through igzip where it is built (src/encode/igzip.ts):
 * each chunk is compressed at once on the calling thread, 4× faster than zlib. Otherwise each
 * chunk goes into a zlib stream, which compresses on libuv's thread pool while the encoder goes
 * on; level, memLevel and strategy are those of the objects edgelake has always written, and
 * deflate's output does not depend on how its input is cut into writes (no flushes in between),
 * so the bytes are the same as from one call over the whole text. Large input and output chunks
 * (1 MiB): with zlib's default 16 KiB, stream callbacks cost a third more.
 */
export class GzipStream {
  readonly #gz: Gzip | null = null;
  readonly #ig: IgzipMember | null = null;
  readonly #out: Buffer[] = [];
  readonly #done: Promise<Buffer> | null = null;
  #inBytes = 0;

  /** `level`: gzip level 0–9. */
  constructor(level: number) {
    if (gzipBackend(level) === 'igzip') {
      this.#ig = new IgzipMember(1);
      return;
    }
    // Stream options pass through zlib's constructor (not in its typings): queue up to 2 MiB of input.
    const gz = (this.#gz = createGzip({ level, memLevel: 9, strategy: constants.Z_DEFAULT_STRATEGY, chunkSize: 1 << 20, writableHighWaterMark: 2 << 20 } as ZlibOptions));
    gz.on('data', (b: Buffer) => this.#out.push(b));
    this.#done = new Promise((resolve, reject) => {
      gz.on('end', () => resolve(Buffer.concat(this.#out)));
      gz.on('error', reject);
    });
    this.#done.catch(() => {}); // surfaced by finish()
  }

  /** Uncompressed bytes written so far. */
  get inBytes(): number {
    return this.#inBytes;
  }

  /** Adds encoded bytes (the chunk is the stream's until `done` is called with it: then it may be reused). */
  write(chunk: Buffer, done?: (chunk: Buffer) => void): void {
    this.#inBytes += chunk.byteLength;
    if (this.#ig) {
      const out = this.#ig.push(chunk);
      if (out.length > 0) this.#out.push(out);
      done?.(chunk);
      return;
    }
    this.#gz!.write(chunk, done ? () => done(chunk) : undefined);
  }

  /**
   * A writer of JSON Lines into this stream whose 1 MiB chunk buffers are reused once zlib has
   * consumed them: a batch's ~40 MB of text then goes through a handful of buffers, not forty
   * fresh ones per batch per worker waiting for the garbage collector.
   */
  jsonWriter(): JsonWriter {
    const spare: Buffer[] = [];
    // Only the writer's own chunk buffers come back (a huge fragment is handed over in a buffer of its size).
    const back = (chunk: Buffer) => {
      if (spare.length < 4 && chunk.byteOffset === 0 && chunk.buffer.byteLength === CHUNK_BYTES) spare.push(Buffer.from(chunk.buffer, 0, CHUNK_BYTES));
    };
    return new JsonWriter((chunk) => this.write(chunk, back), CHUNK_BYTES, () => spare.pop() ?? Buffer.allocUnsafeSlow(CHUNK_BYTES));
  }

  /** True when more input waits than the high-water mark: the encoder should `await drained()`. */
  get full(): boolean {
    return this.#gz?.writableNeedDrain ?? false;
  }

  /** Resolves once the compressor has caught up (at once when it is not full). */
  drained(): Promise<void> {
    return this.full ? new Promise((resolve) => this.#gz!.once('drain', resolve)) : Promise.resolve();
  }

  /** Ends the member; resolves with the whole compressed object. */
  finish(): Promise<Buffer> {
    if (this.#ig) {
      try {
        this.#out.push(this.#ig.end());
        return Promise.resolve(Buffer.concat(this.#out));
      } catch (err) {
        return Promise.reject(err);
      }
    }
    this.#gz!.end();
    return this.#done!;
  }

  /** Abandons the stream (an encoding error): nothing is kept. */
  destroy(): void {
    this.#gz?.destroy();
    this.#out.length = 0;
  }
}
