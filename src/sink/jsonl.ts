import { createGzip, gzip as gzipCb, constants, type Gzip, type ZlibOptions } from 'node:zlib';
import { promisify } from 'node:util';

const gzip = promisify(gzipCb);

/** gzip level used when none is configured: fast, since compression bounds ingestion throughput. */
export const DEFAULT_GZIP_LEVEL = 1;

/**
 * Gzip-compresses JSON Lines (each line one complete JSON record, no trailing newline needed).
 * Runs on libuv's thread pool, so it overlaps with the main thread's reading and encoding.
 */
export async function gzipLines(lines: readonly string[], level = DEFAULT_GZIP_LEVEL): Promise<Buffer> {
  const text = lines.length === 0 ? '' : lines.join('\n') + '\n';
  return gzip(Buffer.from(text, 'utf8'), { level, memLevel: 9, strategy: constants.Z_DEFAULT_STRATEGY });
}

const CHUNK_CHARS = 1 << 16;
const NON_ASCII = /[^\x00-\x7f]/;

/**
 * Builds one gzip JSON Lines object while its lines are being made: every ~64 KiB of text goes
 * straight into a zlib stream, which compresses on libuv's thread pool while the encoder goes
 * on. Only the compressed bytes accumulate (~1/6 of the text for sensor rows), so a 50k-row
 * batch never holds its ~40 MB of JSON in memory, and compression overlaps with encoding
 * instead of starting after it. ASCII chunks — nearly all sensor data — are copied as latin1.
 */
export class GzipLines {
  readonly #gz: Gzip;
  readonly #out: Buffer[] = [];
  readonly #done: Promise<Buffer>;
  #chunk = '';
  #lines = 0;
  #rawBytes = 0;

  /** `level`: gzip level 0–9 (default {@link DEFAULT_GZIP_LEVEL}). */
  constructor(level = DEFAULT_GZIP_LEVEL) {
    // Stream options pass through zlib's constructor (not in its typings): queue up to 1 MiB of text.
    this.#gz = createGzip({ level, memLevel: 9, writableHighWaterMark: 1 << 20 } as ZlibOptions);
    this.#gz.on('data', (b: Buffer) => this.#out.push(b));
    this.#done = new Promise((resolve, reject) => {
      this.#gz.on('end', () => resolve(Buffer.concat(this.#out)));
      this.#gz.on('error', reject);
    });
    this.#done.catch(() => {}); // surfaced by finish()
  }

  /** Lines added so far. */
  get lines(): number {
    return this.#lines;
  }

  /** Uncompressed bytes so far (flushed chunks only, until finish()). */
  get rawBytes(): number {
    return this.#rawBytes;
  }

  /** Adds one record (without the newline). */
  add(line: string): void {
    this.#chunk += line + '\n';
    this.#lines++;
    if (this.#chunk.length >= CHUNK_CHARS) this.#flush();
  }

  /**
   * True when more text waits for compression than the stream's high-water mark (~1 MiB): the
   * encoder should `await drained()` before adding more, so a batch's JSON never piles up in
   * memory when compression is the slower side.
   */
  get full(): boolean {
    return this.#gz.writableNeedDrain;
  }

  /** Resolves once the compressor has caught up (immediately when it is not full). */
  drained(): Promise<void> {
    return this.full ? new Promise((resolve) => this.#gz.once('drain', resolve)) : Promise.resolve();
  }

  #flush(): void {
    const text = this.#chunk;
    this.#chunk = '';
    const bytes = Buffer.from(text, NON_ASCII.test(text) ? 'utf8' : 'latin1');
    this.#rawBytes += bytes.length;
    this.#gz.write(bytes);
  }

  /** Ends the object; resolves with the whole gzip member. */
  finish(): Promise<Buffer> {
    if (this.#chunk) this.#flush();
    this.#gz.end();
    return this.#done;
  }
}

/**
 * JSON text of a number as stored: finite numbers as JSON numbers, and the values JSON
 * cannot hold (±Infinity, NaN) as the strings "Infinity", "-Infinity", "NaN" rather than null,
 * so nothing a sensor wrote is silently changed.
 */
export function jsonNumber(v: number): string {
  return Number.isFinite(v) ? String(v) : `"${v}"`;
}

/** JSON text of a value as better-sqlite3 returned it; BLOBs become `{"$base64": "..."}`. */
export function jsonStored(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'number') return jsonNumber(v);
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'string') return JSON.stringify(v);
  if (v instanceof Uint8Array) return `{"$base64":"${Buffer.from(v).toString('base64')}"}`;
  return JSON.stringify(v);
}
