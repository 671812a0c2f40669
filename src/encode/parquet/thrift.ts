/**
 * Thrift's compact protocol, write side only, as much of it as Parquet's footer and page headers
 * use: structs of i32/i64/bool/binary/list/struct fields. Field ids are written as deltas from the
 * previous field of the same struct (the protocol's short form), so fields must be written in
 * ascending id order — which is how {@link ThriftWriter.struct} callers list them.
 */

/** Compact protocol type ids. */
const T = { TRUE: 1, FALSE: 2, I32: 5, I64: 6, BINARY: 8, LIST: 9, STRUCT: 12 } as const;

/** A field value: numbers are i32 unless wrapped with {@link i64}; strings and bytes are binary. */
export type ThriftValue = number | I64 | boolean | string | Uint8Array | ThriftStruct | ThriftList;

/** A struct: field id → value; undefined fields are skipped (Thrift's optional fields). */
export type ThriftStruct = { readonly [id: number]: ThriftValue | undefined };

/** A list of one element type. */
export interface ThriftList {
  readonly list: 'i32' | 'i64' | 'binary' | 'struct';
  readonly items: readonly ThriftValue[];
}

/** An i64 value (a JS number, exact up to 2^53). */
export interface I64 {
  readonly i64: number;
}

/** Marks a number as i64. */
export const i64 = (v: number): I64 => ({ i64: v });

/** Growable byte output of the protocol. */
export class ThriftWriter {
  #buf = new Uint8Array(1024);
  #pos = 0;

  /** The bytes written so far. */
  bytes(): Uint8Array {
    return this.#buf.subarray(0, this.#pos);
  }

  #byte(b: number): void {
    if (this.#pos === this.#buf.length) this.#grow(1);
    this.#buf[this.#pos++] = b;
  }

  #grow(n: number): void {
    const next = new Uint8Array(Math.max(this.#buf.length * 2, this.#pos + n));
    next.set(this.#buf.subarray(0, this.#pos));
    this.#buf = next;
  }

  /** Unsigned varint of a non-negative integer below 2^53. */
  #varint(v: number): void {
    while (v >= 0x80) {
      this.#byte((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.#byte(v);
  }

  /** Zigzag varint of an integer with |v| < 2^52 (zigzag doubles it). */
  #zigzag(v: number): void {
    this.#varint(v >= 0 ? v * 2 : -v * 2 - 1);
  }

  #binary(v: string | Uint8Array): void {
    const bytes = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
    this.#varint(bytes.length);
    if (this.#pos + bytes.length > this.#buf.length) this.#grow(bytes.length);
    this.#buf.set(bytes, this.#pos);
    this.#pos += bytes.length;
  }

  /** Writes a struct (its fields in ascending id order) and its stop byte. */
  struct(s: ThriftStruct): void {
    let last = 0;
    const ids = Object.keys(s).map(Number).sort((a, b) => a - b);
    for (const id of ids) {
      const v = s[id];
      if (v === undefined) continue;
      const type = typeOf(v);
      const delta = id - last;
      if (delta > 0 && delta <= 15) this.#byte((delta << 4) | type);
      else {
        this.#byte(type);
        this.#zigzag(id);
      }
      last = id;
      if (typeof v !== 'boolean') this.#value(v);
    }
    this.#byte(0);
  }

  #value(v: Exclude<ThriftValue, boolean>): void {
    if (typeof v === 'number') return this.#zigzag(v);
    if (typeof v === 'string' || v instanceof Uint8Array) return this.#binary(v);
    if ('i64' in v) return this.#zigzag((v as I64).i64);
    if ('list' in v) {
      const l = v as ThriftList;
      const type = { i32: T.I32, i64: T.I64, binary: T.BINARY, struct: T.STRUCT }[l.list];
      if (l.items.length < 15) this.#byte((l.items.length << 4) | type);
      else {
        this.#byte(0xf0 | type);
        this.#varint(l.items.length);
      }
      for (const item of l.items) {
        if (l.list === 'struct') this.struct(item as ThriftStruct);
        else if (l.list === 'i64' && typeof item === 'number') this.#zigzag(item);
        else this.#value(item as Exclude<ThriftValue, boolean>);
      }
      return;
    }
    this.struct(v as ThriftStruct);
  }
}

function typeOf(v: ThriftValue): number {
  if (typeof v === 'boolean') return v ? T.TRUE : T.FALSE;
  if (typeof v === 'number') return T.I32;
  if (typeof v === 'string' || v instanceof Uint8Array) return T.BINARY;
  if ('i64' in v) return T.I64;
  if ('list' in v) return T.LIST;
  return T.STRUCT;
}

/** One struct as compact-protocol bytes. */
export function thriftStruct(s: ThriftStruct): Uint8Array {
  const w = new ThriftWriter();
  w.struct(s);
  return w.bytes();
}
