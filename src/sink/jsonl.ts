import { gzip as gzipCb, constants } from 'node:zlib';
import { promisify } from 'node:util';
import { GzipStream } from '../encode/gzip-stream.ts';
import { gzipBackend, igzipSync } from '../encode/igzip.ts';

const gzip = promisify(gzipCb);

/** gzip level used when none is configured: fast, since compression bounds ingestion throughput. */
export const DEFAULT_GZIP_LEVEL = 1;

/**
 * Gzip-compresses JSON Lines (each line one complete JSON record, no trailing newline needed).
 * Through igzip at level 1 where it is built (src/encode/igzip.ts: 4× cheaper, at once on this
 * thread); otherwise on libuv's thread pool, overlapping the main thread's reading and encoding.
 */
export async function gzipLines(lines: readonly string[], level = DEFAULT_GZIP_LEVEL): Promise<Buffer> {
  const text = lines.length === 0 ? '' : lines.join('\n') + '\n';
  return gzipBytes(Buffer.from(text, 'utf8'), level);
}

/** One gzip member of `bytes` at `level`: igzip's at level 1 where it is built, zlib's otherwise. */
export async function gzipBytes(bytes: Uint8Array, level = DEFAULT_GZIP_LEVEL): Promise<Buffer> {
  if (gzipBackend(level) === 'igzip') return igzipSync(bytes);
  return gzip(bytes, { level, memLevel: 9, strategy: constants.Z_DEFAULT_STRATEGY });
}

const CHUNK_CHARS = 1 << 16;
const NON_ASCII = /[^\x00-\x7f]/;

/**
 * Builds one gzip JSON Lines object while its lines are being made: every ~64 KiB of text goes
 * into a {@link GzipStream} (igzip at level 1, else zlib on libuv's thread pool while the encoder
 * goes on). Only the compressed bytes accumulate (~1/6 of the text for sensor rows), so a 50k-row
 * batch never holds its ~40 MB of JSON in memory, and compression overlaps with encoding instead
 * of starting after it. ASCII chunks — nearly all sensor data — are copied as latin1.
 */
export class GzipLines {
  readonly #gz: GzipStream;
  #chunk = '';
  #lines = 0;
  #rawBytes = 0;

  /** `level`: gzip level 0–9 (default {@link DEFAULT_GZIP_LEVEL}). */
  constructor(level = DEFAULT_GZIP_LEVEL) {
    this.#gz = new GzipStream(level);
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
   * True when more text waits for compression than the stream's high-water mark: the encoder
   * should `await drained()` before adding more, so a batch's JSON never piles up in memory when
   * compression is the slower side.
   */
  get full(): boolean {
    return this.#gz.full;
  }

  /** Resolves once the compressor has caught up (immediately when it is not full). */
  drained(): Promise<void> {
    return this.#gz.drained();
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
    return this.#gz.finish();
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
