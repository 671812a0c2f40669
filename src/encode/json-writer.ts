/**
 * JSON Lines written as bytes straight into large buffers (issue 12: building a string per row,
 * then text → Buffer, cost ~4.3 µs a row; this is ~1 µs). Values are written exactly as
 * `JSON.stringify` / `String(v)` would print them, so the output is byte-identical to the string
 * encoders it replaces:
 * - numbers: integers and decimals of at most 15 significant digits and 6 decimals are printed
 *   from an integer (digits into the buffer, no string); anything else (exponents, 16–17 digit
 *   values, ±Infinity and NaN as the caller decides) through `String(v)`. A decimal is only taken
 *   when it parses back to the very same double, so it is the shortest round-trip form, which is
 *   what `String(v)` prints (a differential test over millions of values holds it to that);
 * - strings: ASCII without characters JSON escapes are copied as they are, anything else goes
 *   through `JSON.stringify`;
 * - fragments that repeat (keys, dictionary values) are encoded once, as byte arrays.
 *
 * Full chunks go to `onChunk` (e.g. a gzip stream); the writer reuses nothing it handed out.
 */

/** Bytes per chunk handed to `onChunk`. */
export const CHUNK_BYTES = 1 << 20;

const POW10 = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000];
const MAX_EXACT = 1e15;

/** Encodes a repeated fragment once (UTF-8). */
export function fragment(text: string): Uint8Array {
  return Buffer.from(text, 'utf8');
}

/** See the file comment. */
export class JsonWriter {
  #buf: Buffer;
  #pos = 0;
  readonly #onChunk: (chunk: Buffer) => void;
  readonly #nextBuffer: () => Buffer;
  /** Bytes written so far, flushed or not. */
  #total = 0;

  /**
   * `onChunk` receives each full chunk; `nextBuffer` supplies the next buffer to write into
   * (default: a fresh one of `chunkBytes`), so a consumer can hand buffers back for reuse.
   */
  constructor(onChunk: (chunk: Buffer) => void, chunkBytes = CHUNK_BYTES, nextBuffer?: () => Buffer) {
    this.#onChunk = onChunk;
    this.#nextBuffer = nextBuffer ?? (() => Buffer.allocUnsafe(chunkBytes));
    this.#buf = this.#nextBuffer();
  }

  /** Bytes written so far. */
  get bytes(): number {
    return this.#total + this.#pos;
  }

  /** Makes room for `n` bytes (n ≤ the chunk size). */
  #room(n: number): void {
    if (this.#pos + n > this.#buf.length) this.flush();
  }

  /** Hands the bytes written so far to `onChunk` and starts a new chunk. */
  flush(): void {
    if (this.#pos === 0) return;
    const out = this.#buf.subarray(0, this.#pos);
    this.#total += this.#pos;
    this.#buf = this.#nextBuffer();
    this.#pos = 0;
    this.#onChunk(out);
  }

  /** A pre-encoded fragment. */
  raw(bytes: Uint8Array): void {
    const n = bytes.length;
    if (n > this.#buf.length) {
      this.flush();
      this.#total += n;
      this.#onChunk(Buffer.from(bytes));
      return;
    }
    this.#room(n);
    const buf = this.#buf;
    let p = this.#pos;
    if (n <= 24) for (let i = 0; i < n; i++) buf[p++] = bytes[i];
    else {
      buf.set(bytes, p);
      p += n;
    }
    this.#pos = p;
  }

  /** One byte (an ASCII character code). */
  byte(c: number): void {
    this.#room(1);
    this.#buf[this.#pos++] = c;
  }

  /** Text known to be ASCII-only (what `JSON.stringify` of a number or literal gives). */
  ascii(text: string): void {
    const n = text.length;
    if (n > this.#buf.length) return this.raw(Buffer.from(text, 'latin1'));
    this.#room(n);
    const buf = this.#buf;
    let p = this.#pos;
    for (let i = 0; i < n; i++) buf[p++] = text.charCodeAt(i);
    this.#pos = p;
  }

  /** Any text, as UTF-8 bytes (already JSON, e.g. from `JSON.stringify`). */
  utf8(text: string): void {
    const max = text.length * 3;
    if (max > this.#buf.length) return this.raw(Buffer.from(text, 'utf8'));
    this.#room(max);
    this.#pos += this.#buf.write(text, this.#pos, 'utf8');
  }

  /** A string value as `JSON.stringify(s)` writes it. */
  string(s: string): void {
    const n = s.length;
    if (n > 256) return this.utf8(JSON.stringify(s));
    this.#room(n + 2);
    const buf = this.#buf;
    let p = this.#pos;
    buf[p++] = 34;
    // Copied and checked in one pass: a character JSON escapes, or one that is not a single
    // byte, sends the whole string through JSON.stringify (what was copied is overwritten).
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c === 34 || c === 92 || c >= 0x7f) return this.utf8(JSON.stringify(s));
      buf[p++] = c;
    }
    buf[p++] = 34;
    this.#pos = p;
  }

  /** `HH:MM:SS.mmmZ` (the time of day of an ISO-8601 instant), zero-padded; each part in range. */
  isoTimeOfDay(h: number, m: number, s: number, ms: number): void {
    this.#room(13);
    const buf = this.#buf;
    let p = this.#pos;
    buf[p++] = 48 + ((h / 10) | 0);
    buf[p++] = 48 + (h % 10);
    buf[p++] = 58;
    buf[p++] = 48 + ((m / 10) | 0);
    buf[p++] = 48 + (m % 10);
    buf[p++] = 58;
    buf[p++] = 48 + ((s / 10) | 0);
    buf[p++] = 48 + (s % 10);
    buf[p++] = 46;
    buf[p++] = 48 + ((ms / 100) | 0);
    buf[p++] = 48 + (((ms / 10) | 0) % 10);
    buf[p++] = 48 + (ms % 10);
    buf[p++] = 90;
    this.#pos = p;
  }

  /** A finite number as `String(v)` prints it (the caller handles NaN and ±Infinity). */
  number(v: number): void {
    if (!this.#smallDecimal(v) && !largeDecimal(this, v)) this.ascii(String(v));
  }

  /**
   * Writes `v` when it is 0 or 10^-6 ≤ |v| < 10^9 with at most 6 decimals (sensor readings,
   * coordinates, most ids) and that is exactly `String(v)`; false (nothing written) otherwise.
   * One room check and int32 arithmetic.
   *
   * One test decides it: k = round(|v| · 10^6) is the candidate, taken when k / 10^6 is this very
   * double, and its trailing zeros give the number of decimals. That is the shortest form:
   * distinct decimals of ≤ 15 significant digits are distinct doubles, so any shorter decimal
   * equal to v is k with zeros stripped.
   */
  #smallDecimal(v: number): boolean {
    const neg = v < 0;
    const a = neg ? -v : v;
    if (a === 0) {
      this.byte(48); // String(-0) is "0"
      return true;
    }
    if (!(a < 1e9 && a >= 1e-6)) return false;
    const k = Math.round(a * 1e6);
    if (k / 1e6 !== a) return false;
    if (this.#pos + 18 > this.#buf.length) this.flush();
    const buf = this.#buf;
    let p = this.#pos;
    if (neg) buf[p++] = 45;
    const int = Math.floor(a) | 0;
    p = putDigits(buf, p, int, digitCount(int));
    let frac = (k - int * 1e6) | 0;
    if (frac !== 0) {
      let d = 6;
      while (frac % 10 === 0) {
        frac = (frac / 10) | 0;
        d--;
      }
      buf[p++] = 46;
      p = putDigits(buf, p, frac, d);
    }
    this.#pos = p;
    return true;
  }

  /** Digits of a non-negative safe integer `k`, at least `minDigits` of them (leading zeros). */
  digits(k: number, minDigits = 1): void {
    this.#room(22);
    const buf = this.#buf;
    if (k < 2 ** 31) {
      this.#pos = putDigits(buf, this.#pos, k | 0, Math.max(digitCount(k | 0), minDigits));
      return;
    }
    let len = 1;
    for (let t = k; t >= 10; t = Math.floor(t / 10)) len++;
    if (len < minDigits) len = minDigits;
    let p = this.#pos + len;
    this.#pos = p;
    let t = k;
    for (let i = 0; i < len; i++) {
      const q = Math.floor(t / 10);
      buf[--p] = 48 + (t - q * 10);
      t = q;
    }
  }
}

/** Decimal digits of a non-negative int32 (at least one). */
function digitCount(k: number): number {
  let len = 1;
  for (let t = k; t >= 10; t = (t / 10) | 0) len++;
  return len;
}

/**
 * Writes the `len` lowest decimal digits of the non-negative int32 `k` (zero-padded) at `p`;
 * returns the position after them. Int32 arithmetic: `/ 10 | 0` is several times cheaper than
 * Math.floor on doubles.
 */
function putDigits(buf: Buffer, p: number, k: number, len: number): number {
  const end = p + len;
  for (let i = end - 1; i >= p; i--) {
    const q = (k / 10) | 0;
    buf[i] = 48 + (k - q * 10);
    k = q;
  }
  return end;
}

/**
 * Writes `v` as a decimal of at most 6 decimals and 15 significant digits when 10^9 ≤ |v| < 10^15
 * and that is exactly `String(v)`; false (nothing written) otherwise (JsonWriter#smallDecimal
 * takes everything below). Here |v| · 10^6 may pass 10^15 while a shorter form fits, so each count
 * of decimals is tried in turn, shortest first.
 */
function largeDecimal(w: JsonWriter, v: number): boolean {
  const neg = v < 0;
  const a = neg ? -v : v;
  if (!(a < MAX_EXACT && a >= 1e9)) return false;
  for (let d = 0; d <= 6; d++) {
    // The nearest d-decimal number; taken only if it parses back (an exact division: 10^d ≤ 10^6
    // is exact, and k ≤ 10^15 too) to this very double.
    const k = Math.round(a * POW10[d]);
    if (k >= MAX_EXACT) return false;
    if (k / POW10[d] !== a) continue;
    if (neg) w.byte(45);
    if (d === 0) {
      w.digits(k);
      return true;
    }
    const int = Math.floor(k / POW10[d]);
    w.digits(int);
    w.byte(46);
    w.digits(k - int * POW10[d], d);
    return true;
  }
  return false;
}
