/**
 * gzip through ISA-L's igzip (native/igzip/igzip.c, src/encode/igzip.ts): every member it makes is a
 * standard gzip member whose text is exactly the input, however the input is cut into chunks;
 * level 1 goes through it when it is built, every other level through zlib; and EDGELAKE_GZIP
 * chooses or refuses as it says. The lake's own records under both compressors are compared by
 * test/golden.test.ts. Skipped, saying why, where the addon was not built (no libisal-dev).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { GzipStream } from '../src/encode/gzip-stream.ts';
import { gzipBackend, IgzipMember, igzipSync, igzipUnavailable } from '../src/encode/igzip.ts';
import { GzipLines, gzipBytes, gzipLines } from '../src/sink/jsonl.ts';
import { assertBuilt, runBuilt } from './helpers/built-cli.ts';
import { describeResult } from './helpers/cli.ts';

const unavailable = igzipUnavailable();
const skip = unavailable ? `igzip is not built here: ${unavailable}` : false;

/** Seeded bytes, so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** Sensor-like JSON Lines: the text edgelake compresses. */
function jsonLines(rows: number, seed: number): Buffer {
  const r = rng(seed);
  const lines: string[] = [];
  for (let i = 0; i < rows; i++) {
    lines.push(JSON.stringify({ id: i + 1, timestamp: new Date(1.755e12 + i * 97).toISOString(), sensor_id: `S_${Math.floor(r() * 50)}`, temperature: Math.round(r() * 4000) / 100, humidity: r() * 100, model: 'EnvMonitor-3100', location: 'Seoul', note: r() < 0.01 ? 'ünïcödé ✓' : null }));
  }
  return Buffer.from(lines.join('\n') + '\n', 'utf8');
}

/** `input` cut at random points into chunks (empty ones included), compressed by one igzip member. */
function chunked(input: Buffer, seed: number, maxChunk: number): Buffer {
  const r = rng(seed);
  const m = new IgzipMember(1);
  const out: Buffer[] = [];
  let at = 0;
  while (at < input.length) {
    const n = r() < 0.05 ? 0 : Math.ceil(r() * maxChunk);
    out.push(m.push(input.subarray(at, Math.min(input.length, at + n))));
    at += n;
  }
  out.push(m.end());
  return Buffer.concat(out);
}

test('an igzip member holds exactly its input however it was cut: empty, one byte, random, highly repetitive, JSON text, chunks of 1 B to 3 MiB', { skip }, () => {
  const inputs: Array<[string, Buffer]> = [
    ['empty', Buffer.alloc(0)],
    ['one byte', Buffer.from('x')],
    ['random 3 MiB', randomBytes(3 << 20)],
    ['5 MiB of one byte', Buffer.alloc(5 << 20, 7)],
    ['JSON Lines', jsonLines(20_000, 3)],
  ];
  for (const [name, input] of inputs) {
    assert.deepEqual(gunzipSync(igzipSync(input)), input, `${name}: one call`);
    for (const [seed, maxChunk] of [[1, 1], [2, 100], [3, 70_000], [4, 1 << 20], [5, 3 << 20]] as const) {
      if (maxChunk === 1 && input.length > 100_000) continue; // a byte at a time: only the small inputs
      assert.deepEqual(gunzipSync(chunked(input, seed, maxChunk)), input, `${name}: chunks up to ${maxChunk} B (seed ${seed})`);
    }
  }
});

test('igzip level 1 makes JSON Lines about as small as zlib level 1 (the objects do not grow)', { skip }, () => {
  const text = jsonLines(50_000, 11);
  const ig = igzipSync(text).length;
  const zl = gzipSync(text, { level: 1, memLevel: 9 }).length;
  assert.ok(ig < zl * 1.05, `igzip ${ig} B against zlib ${zl} B`);
});

test('level 1 goes through igzip and every other level through zlib, to the same text; a member refuses input after its end', { skip }, async () => {
  assert.equal(gzipBackend(1), 'igzip');
  for (const level of [0, 2, 6, 9]) assert.equal(gzipBackend(level), 'zlib');
  const text = jsonLines(5000, 5);
  const lines = text.toString('utf8').trimEnd().split('\n');
  for (const level of [1, 6]) {
    const stream = new GzipStream(level);
    const returned: Buffer[] = [];
    for (let at = 0; at < text.length; at += 65_536) stream.write(text.subarray(at, at + 65_536), (c) => returned.push(c));
    await stream.drained();
    assert.deepEqual(gunzipSync(await stream.finish()), text, `GzipStream level ${level}`);
    assert.equal(returned.length, Math.ceil(text.length / 65_536), `GzipStream level ${level} handed every chunk back`);
    const gl = new GzipLines(level);
    for (const l of lines) gl.add(l);
    assert.deepEqual(gunzipSync(await gl.finish()), text, `GzipLines level ${level}`);
    assert.deepEqual(gunzipSync(await gzipLines(lines, level)), text, `gzipLines level ${level}`);
    assert.deepEqual(gunzipSync(await gzipBytes(text, level)), text, `gzipBytes level ${level}`);
  }
  const m = new IgzipMember(1);
  m.end(Buffer.from('done'));
  assert.throws(() => m.push(Buffer.from('more')), /the stream has ended/);
  assert.throws(() => new IgzipMember(4), /level must be an integer 0-3/);
});

/** What a fresh process under `env` says of gzip: its backend at level 1, or the error loading it. */
function backendUnder(env: Record<string, string>): { code: number | null; out: string } {
  const script = `import { gzipBackend } from './src/encode/igzip.ts'; console.log(gzipBackend(1));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env: { ...process.env, ...env }, encoding: 'utf8' });
  return { code: r.status, out: (r.stdout + r.stderr).trim() };
}

test('EDGELAKE_GZIP=zlib turns igzip off, =igzip insists on it, and any other value is refused by name', () => {
  assert.deepEqual(backendUnder({ EDGELAKE_GZIP: 'zlib' }), { code: 0, out: 'zlib' });
  const bad = backendUnder({ EDGELAKE_GZIP: 'pigz' });
  assert.notEqual(bad.code, 0);
  assert.match(bad.out, /EDGELAKE_GZIP must be zlib or igzip .*got "pigz"/);
  const insist = backendUnder({ EDGELAKE_GZIP: 'igzip' });
  if (unavailable) {
    assert.notEqual(insist.code, 0);
    assert.match(insist.out, /EDGELAKE_GZIP=igzip, but .*apt-get install libisal-dev/);
  } else assert.deepEqual(insist, { code: 0, out: 'igzip' });
});

test('run refuses an EDGELAKE_GZIP it cannot honour before it reads a row, naming the value (exit 2)', async () => {
  assertBuilt();
  const r = await runBuilt(['run', '--once', '--db', '/nonexistent/sensor_data.db', '--lake', '/nonexistent/lake'], { env: { EDGELAKE_GZIP: 'gzip-9' } });
  assert.equal(r.code, 2, describeResult(r));
  assert.match(r.stderr, /EDGELAKE_GZIP must be zlib or igzip .*got "gzip-9"/);
});
