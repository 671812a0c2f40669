/**
 * The byte encoder of JSON Lines (src/encode/json-writer.ts) against JavaScript's own printing:
 * every number it writes is exactly `String(v)` and every string exactly `JSON.stringify(s)`, so
 * the lake's bytes do not depend on which encoder wrote them (issue 12). Millions of values of
 * the shapes sensor data has (fixed decimals, pressures, ids, instants) and of every other kind
 * (random bits over the whole double range, powers of ten at the edges of the fast path, -0).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JsonWriter } from '../src/encode/json-writer.ts';
import { prng } from '../bench/synthetic.ts';

/** Writes every value with `write`, one per line, through small chunks (so chunk edges are crossed), and returns the lines. */
function written<T>(values: readonly T[], write: (w: JsonWriter, v: T) => void): string[] {
  const chunks: Buffer[] = [];
  const w = new JsonWriter((c) => chunks.push(Buffer.from(c)), 4096);
  for (const v of values) {
    write(w, v);
    w.byte(10);
  }
  w.flush();
  const lines = Buffer.concat(chunks).toString('utf8').split('\n');
  lines.pop();
  return lines;
}

/** The first few values whose written form differs from `expected`, for the message. */
function mismatches<T>(values: readonly T[], lines: readonly string[], expected: (v: T) => string): string[] {
  const out: string[] = [];
  for (let i = 0; i < values.length && out.length < 5; i++) {
    if (lines[i] !== expected(values[i])) out.push(`${JSON.stringify(expected(values[i]))} written as ${JSON.stringify(lines[i])}`);
  }
  return out;
}

/** A double from 64 random bits (every exponent and mantissa), finite only. */
function randomBits(next: () => number): number {
  const view = new DataView(new ArrayBuffer(8));
  for (;;) {
    view.setUint32(0, Math.floor(next() * 2 ** 32));
    view.setUint32(4, Math.floor(next() * 2 ** 32));
    const v = view.getFloat64(0);
    if (Number.isFinite(v)) return v;
  }
}

test('numbers: 3 million values of every shape are written exactly as String(v) prints them', () => {
  const next = prng(20261201);
  const shapes: Array<() => number> = [
    () => Math.round((next() * 200 - 100) * 100) / 100, // temperatures, 2 decimals
    () => Math.round(next() * 1e6) / 1000, // 3 decimals
    () => 101325 + Math.round((next() - 0.5) * 20000) / 10, // pressures
    () => Number((next() * 1000).toFixed(Math.floor(next() * 9))), // 0–8 decimals: past the fast path's 6
    () => Math.floor(next() * 2 ** 53) * (next() < 0.5 ? -1 : 1), // ids up to 2^53
    () => Date.UTC(2025, 0, 1) + Math.floor(next() * 1e10), // instants in ms
    () => (next() - 0.5) * 10 ** (Math.floor(next() * 44) - 22), // every magnitude, 1e-22 … 1e21
    () => randomBits(next), // anything a double can be
    () => next() * 1e-5, // around the fast path's 1e-6 bound
    () => 1e15 - Math.floor(next() * 1000) + Math.floor(next() * 10) / 10, // around its 1e15 bound
  ];
  const values: number[] = [];
  for (let i = 0; i < 3_000_000; i++) values.push(shapes[i % shapes.length]());
  const edges = [0, -0, 1, -1, 0.1, 0.2 + 0.1, 1e-6, 1e-7, 999999.999999, 1e15, 1e15 - 1, 1e15 + 1, 1e21, 1e-21, 2 ** 53 - 1, -(2 ** 53 - 1), Number.MIN_VALUE, Number.MAX_VALUE, Number.EPSILON, 5e-324, 123456789.123456, 0.000001, 0.0000015, 999999999.999999, 999999999.5, 1e9, 1e9 - 1, 0.9999995, 0.99999949, 1.0000005, 12.3456785, -0.000001, -999999999.25];
  values.push(...edges);
  const lines = written(values, (w, v) => w.number(v));
  assert.equal(lines.length, values.length);
  assert.deepEqual(mismatches(values, lines, String), []);
});

test('strings: ASCII, escapes, control characters, non-ASCII, lone surrogates and long text are written exactly as JSON.stringify writes them', () => {
  const next = prng(7);
  const alphabet = ['a', 'Z', '0', ' ', '"', '\\', '/', '\n', '\t', '\u0000', '\u001f', '\u007f', 'é', '東', '😀', '\ud800', '\udfff', '\u2028'];
  const values: string[] = ['', 'plain', 'TH-100', '2025-08-15T10:00:00.000Z', 'x'.repeat(300), `${'é'.repeat(200)}"`];
  for (let i = 0; i < 200_000; i++) {
    const n = Math.floor(next() * 12);
    let s = '';
    for (let j = 0; j < n; j++) s += next() < 0.6 ? String.fromCharCode(97 + Math.floor(next() * 26)) : alphabet[Math.floor(next() * alphabet.length)];
    values.push(s);
  }
  const lines = written(values, (w, s) => w.string(s));
  assert.deepEqual(mismatches(values, lines, (s) => JSON.stringify(s)), []);
});

test('digits: zero-padded integers as padStart prints them', () => {
  const next = prng(3);
  const values: Array<[number, number]> = [];
  for (let i = 0; i < 200_000; i++) values.push([Math.floor(next() * 10 ** Math.floor(next() * 16)), 1 + Math.floor(next() * 12)]);
  values.push([0, 1], [0, 6], [9, 1], [10, 1], [999_999, 6], [2 ** 53 - 1, 1]);
  const lines = written(values, (w, [k, min]) => w.digits(k, min));
  assert.deepEqual(mismatches(values, lines, ([k, min]) => String(k).padStart(min, '0')), []);
});
