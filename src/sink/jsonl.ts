import { gzip as gzipCb, constants } from 'node:zlib';
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
 * Collects JSON Lines straight into one growing byte buffer, ~64 KiB of text at a time, so a
 * large object is never one giant string (joining and UTF-8-encoding a 100 MB string costs more
 * than making it). ASCII chunks — nearly all sensor data — are copied as latin1, which is a memcpy.
 */
export class LineBuffer {
  #buf: Buffer;
  #len = 0;
  #chunk = '';
  #lines = 0;

  constructor(initialBytes = 1 << 20) {
    this.#buf = Buffer.allocUnsafe(initialBytes);
  }

  /** Lines added so far. */
  get lines(): number {
    return this.#lines;
  }

  /** Adds one record (without the newline). */
  add(line: string): void {
    this.#chunk += line + '\n';
    this.#lines++;
    if (this.#chunk.length >= CHUNK_CHARS) this.#flush();
  }

  #flush(): void {
    const text = this.#chunk;
    this.#chunk = '';
    const ascii = !NON_ASCII.test(text);
    const need = ascii ? text.length : Buffer.byteLength(text, 'utf8');
    if (this.#len + need > this.#buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#len + need));
      this.#buf.copy(grown, 0, 0, this.#len);
      this.#buf = grown;
    }
    this.#len += this.#buf.write(text, this.#len, ascii ? 'latin1' : 'utf8');
  }

  /** The bytes of every line added (a view, valid until the next `add`). */
  bytes(): Buffer {
    if (this.#chunk) this.#flush();
    return this.#buf.subarray(0, this.#len);
  }
}

/** Gzip-compresses the lines of a LineBuffer on libuv's thread pool. */
export async function gzipBuffer(lines: LineBuffer, level = DEFAULT_GZIP_LEVEL): Promise<Buffer> {
  return gzip(lines.bytes(), { level, memLevel: 9 });
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
