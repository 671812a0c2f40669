import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBValue } from '@duckdb/node-api';
import { parquetSchema, recordsParquet, zstd } from '../src/encode/parquet/index.ts';
import { ByteSink } from '../src/encode/parquet/bytes.ts';
import { encodeHybrid } from '../src/encode/parquet/rle.ts';
import type { Column } from '../src/schema/ddl.ts';
import { tempDir } from './helpers/tmp.ts';

/**
 * The Parquet writer on values chosen to break it, read back by DuckDB value by value: every
 * page encoding and its fallback (dictionaries that pay and those that do not, DELTA_BINARY_PACKED
 * steps too wide for it, PLAIN), nulls at every nesting level, empty and null lists, -0 and
 * ±Infinity, huge and non-ASCII text, and more rows than one page slice.
 */

const COLUMNS: Column[] = [
  { name: 'id', type: { kind: 'bigint' } },
  { name: 'jumpy', type: { kind: 'bigint' } },
  { name: 'few', type: { kind: 'double' } },
  { name: 'many', type: { kind: 'double' } },
  { name: 'odd', type: { kind: 'double' } },
  { name: 'flag', type: { kind: 'boolean' } },
  { name: 'at', type: { kind: 'timestamp' } },
  { name: 'tag', type: { kind: 'string' } },
  { name: 'unique', type: { kind: 'string' } },
  {
    name: 'nest',
    type: {
      kind: 'struct',
      fields: [
        { name: 'n', type: { kind: 'bigint' } },
        { name: 'list', type: { kind: 'array', of: { kind: 'struct', fields: [{ name: 'k', type: { kind: 'string' } }, { name: 'v', type: { kind: 'double' } }] } } },
        { name: 'words', type: { kind: 'array', of: { kind: 'string' } } },
      ],
    },
  },
];

const ODD = [-0, 0, Infinity, -Infinity, Number.MIN_VALUE, Number.MAX_VALUE, -1e-300, 0.1 + 0.2];

function recordAt(i: number, rnd: () => number): Record<string, unknown> {
  return {
    id: i + 1,
    jumpy: i % 7 === 0 ? null : i % 2 === 0 ? 2 ** 53 - 1 - i : -(2 ** 52) + i * 3,
    few: i % 11 === 0 ? null : Math.round(rnd() * 400) / 100,
    many: rnd() * 1e6,
    odd: ODD[i % ODD.length],
    flag: i % 5 === 0 ? null : i % 3 === 0,
    at: i % 13 === 0 ? null : Date.UTC(2025, 7, 15) + i * 997,
    tag: i % 17 === 0 ? null : ['spike', 'trend', '', 'ünïcødé ✓', 'x'.repeat(300)][i % 5],
    unique: i === 5 ? 'h'.repeat(1_100_000) : `row-${i}-${Math.floor(rnd() * 1e9)}`,
    nest:
      i % 19 === 0
        ? null
        : {
            n: i % 4 === 0 ? null : i,
            list: i % 3 === 0 ? [] : i % 3 === 1 ? null : [{ k: `k${i}`, v: i / 3 }, null, { k: null, v: null }],
            words: i % 2 === 0 ? ['wasm', 'wasm-simd'] : [],
          },
  };
}

function plain(v: DuckDBValue): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (v !== null && typeof v === 'object' && 'micros' in v) return Number((v as { micros: bigint }).micros / 1000n);
  if (v !== null && typeof v === 'object' && 'items' in v) return (v as { items: DuckDBValue[] }).items.map(plain);
  if (v !== null && typeof v === 'object' && 'entries' in v) return Object.fromEntries(Object.entries((v as { entries: Record<string, DuckDBValue> }).entries).map(([k, x]) => [k, plain(x)]));
  return v;
}

test('DuckDB reads back every value the writer was given, across every encoding, fallback and nesting level', async (t) => {
  let seed = 42;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const rows = 70_000; // more than two page slices
  const records = Array.from({ length: rows }, (_, i) => recordAt(i, rnd));
  const schema = parquetSchema(COLUMNS);
  const body = recordsParquet(schema, records, { codec: await zstd(), createdBy: 'edgelake test' });
  const file = join(tempDir(t), 'hostile.parquet');
  writeFileSync(file, body);
  const inst = await DuckDBInstance.create(':memory:');
  const con = await inst.connect();
  try {
    const meta = await con.runAndReadAll(`SELECT path_in_schema, encodings FROM parquet_metadata('${file}')`);
    const encodings = new Map(meta.getRowsJson().map((r) => [String(r[0]), String(r[1])]));
    t.diagnostic(JSON.stringify(Object.fromEntries(encodings)));
    assert.match(encodings.get('id')!, /DELTA_BINARY_PACKED/, 'ids are delta-encoded');
    assert.match(encodings.get('few')!, /RLE_DICTIONARY/, 'few distinct doubles use a dictionary');
    assert.doesNotMatch(encodings.get('many')!, /DICTIONARY/, 'distinct doubles are PLAIN');
    assert.match(encodings.get('unique')!, /PLAIN/);
    const r = await con.runAndReadAll(`SELECT * FROM read_parquet('${file}')`);
    const names = r.columnNames();
    const got = r.getRows().map((row) => Object.fromEntries(row.map((v, i) => [names[i], plain(v)])));
    assert.equal(got.length, rows);
    for (let i = 0; i < rows; i++) {
      const want = records[i];
      const g = got[i];
      for (const c of ['id', 'jumpy', 'few', 'many', 'flag', 'at', 'tag', 'unique']) assert.deepEqual(g[c], want[c], `row ${i} ${c}`);
      assert.ok(Object.is(g.odd, want.odd), `row ${i} odd: ${g.odd} vs ${want.odd}`);
      const n = want.nest as Record<string, unknown> | null;
      const expected = n === null ? null : { n: n.n, list: n.list === null ? null : (n.list as unknown[]).map((e) => (e === null ? null : e)), words: n.words };
      assert.deepEqual(g.nest, expected, `row ${i} nest`);
    }
  } finally {
    con.closeSync();
    inst.closeSync();
  }
});

test('the RLE / bit-packing hybrid pads only its last group and keeps runs after odd literal counts', () => {
  // Reference decoder of the format, to check the encoder against the spec rather than against itself.
  const decode = (bytes: Uint8Array, width: number, n: number): number[] => {
    const out: number[] = [];
    let pos = 0;
    const varint = () => {
      let v = 0;
      let shift = 0;
      for (;;) {
        const b = bytes[pos++];
        v += (b & 0x7f) * 2 ** shift;
        if (b < 0x80) return v;
        shift += 7;
      }
    };
    while (out.length < n) {
      const h = varint();
      if (h & 1) {
        const count = (h >>> 1) * 8;
        let acc = 0;
        let bits = 0;
        for (let k = 0; k < count; k++) {
          while (bits < width) {
            acc |= bytes[pos++] << bits;
            bits += 8;
          }
          out.push(acc & ((1 << width) - 1));
          acc >>>= width;
          bits -= width;
        }
      } else {
        let v = 0;
        for (let b = 0; b < Math.ceil(width / 8); b++) v |= bytes[pos++] << (8 * b);
        for (let k = 0; k < h >>> 1; k++) out.push(v);
      }
    }
    return out.slice(0, n);
  };
  const cases: number[][] = [
    [1],
    [3, 3, 3, 3, 3, 3, 3, 3, 3],
    [1, 2, 3, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 5],
    [1, 2, 3, 4, 4, 4, 4, 4, 4, 4, 4, 4, 9],
    [...Array(13).keys(), ...Array(20).fill(7), ...Array(5).keys()],
    Array.from({ length: 1000 }, (_, i) => (i * 7919) % 1000),
  ];
  for (const values of cases) {
    const width = Math.max(1, 32 - Math.clz32(Math.max(...values)));
    const out = new ByteSink(16);
    encodeHybrid(values, values.length, width, out);
    assert.deepEqual(decode(out.bytes(), width, values.length), values, JSON.stringify(values.slice(0, 20)));
  }
});
