/** Node's UTF-8 encoder writing into any Uint8Array (untyped in @types/node): bytes written. */
const utf8Write = (Buffer.prototype as unknown as { utf8Write(this: Uint8Array, s: string, offset: number): number }).utf8Write;

/**
 * A growable byte buffer for page bodies: little-endian numbers, varints and raw bytes appended
 * at the end. One is reused for every page of a column, so a page costs no allocation once the
 * buffer has grown to the page size.
 */
export class ByteSink {
  #buf: Uint8Array;
  #view: DataView;
  /** Bytes written. */
  length = 0;

  constructor(capacity = 1 << 16) {
    this.#buf = new Uint8Array(capacity);
    this.#view = new DataView(this.#buf.buffer);
  }

  /** Makes room for `n` more bytes. */
  reserve(n: number): void {
    if (this.length + n <= this.#buf.length) return;
    const next = new Uint8Array(Math.max(this.#buf.length * 2, this.length + n));
    next.set(this.#buf.subarray(0, this.length));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  /** The underlying buffer (valid until the next write that grows it). */
  get buffer(): Uint8Array {
    return this.#buf;
  }

  /** The bytes written so far (a view, valid until the next write or reset). */
  bytes(): Uint8Array {
    return this.#buf.subarray(0, this.length);
  }

  reset(): void {
    this.length = 0;
  }

  byte(b: number): void {
    this.reserve(1);
    this.#buf[this.length++] = b;
  }

  /** Unsigned LEB128 varint of an integer below 2^31. */
  varint(v: number): void {
    this.reserve(5);
    while (v >= 0x80) {
      this.#buf[this.length++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.#buf[this.length++] = v;
  }

  u32(v: number): void {
    this.reserve(4);
    this.#view.setUint32(this.length, v, true);
    this.length += 4;
  }

  /** Overwrites a u32 written earlier (a length prefix known only afterwards). */
  setU32(at: number, v: number): void {
    this.#view.setUint32(at, v, true);
  }

  raw(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.#buf.set(bytes, this.length);
    this.length += bytes.length;
  }

  /** A string as UTF-8 with its 4-byte length prefix (PLAIN BYTE_ARRAY). */
  lengthPrefixed(s: string): void {
    // At most 3 bytes per UTF-16 unit.
    this.reserve(4 + s.length * 3);
    const n = utf8Write.call(this.#buf, s, this.length + 4);
    this.#view.setUint32(this.length, n, true);
    this.length += 4 + n;
  }
}
