import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { igzipUnavailable } from '../src/encode/igzip.ts';
import { simulate } from '../src/simulate/index.ts';
import { assertBuilt, runBuilt } from './helpers/built-cli.ts';
import { describeResult } from './helpers/cli.ts';
import { createHostileDb } from './helpers/hostile-db.ts';
import { readLake } from './helpers/lake.ts';
import { tempDir } from './helpers/tmp.ts';

/**
 * Golden output: what each row stage wrote for two fixed databases (simulated readings and
 * hostile rows: NULLs, text in REAL columns, BLOBs, invalid UTF-8, odd timestamps), recorded
 * from the string encoders before the byte encoders replaced them (issue 12: "the redesign must
 * not move a byte of the JSON Lines output"). Only what depends on the moment or the machine is
 * blanked before comparing — processing timestamps, the version, the node snapshot, the source
 * path, the stage's own execution time — with text substitutions, so every other byte (numbers,
 * escapes, field order) is compared as written. EDGELAKE_GOLDEN_WRITE=1 records the files anew.
 * Each stage runs under both compressors (src/encode/igzip.ts; zlib only where igzip is not
 * built): their objects' bytes differ, the text inside must not.
 */
const DIR = new URL('./fixtures/golden/', import.meta.url).pathname;
const STAGES = ['ingestion', 'validated', 'enriched'] as const;
const FUZZ_KEY = 'golden-fuzz-key-not-a-secret';

const VOLATILE: Array<[RegExp, string]> = [
  [/"processed_at":"[^"]*"/g, '"processed_at":"…"'],
  [/"version":"[^"]*"/g, '"version":"…"'],
  [/"pipeline_version":"[^"]*"/g, '"pipeline_version":"…"'],
  [/"fuzzing_timestamp":"[^"]*"/g, '"fuzzing_timestamp":"…"'],
  [/"processing_timestamp":"[^"]*"/g, '"processing_timestamp":"…"'],
  [/"source_file":"[^"]*"/g, '"source_file":"…"'],
  [/"execution_time_ms":[0-9.e+-]+/g, '"execution_time_ms":0'],
  [/"node_snapshot":\{.*?"taken_at":"[^"]*"\}/g, '"node_snapshot":{}'],
  // Judged against the batch's start time (the wall clock of the run).
  [/timestamp is \d+ ms in the future/g, 'timestamp is … ms in the future'],
];

/** Every line of the stage's objects (volatile members blanked), in id order; and the keys of objects placed by event time. */
function captured(lake: string, stage: string): { lines: string; keys: string } {
  const objects = readLake(lake, `expanso-databricks-${stage}-us-west-2`);
  const lines: string[] = [];
  const keys: string[] = [];
  for (const o of objects) {
    // Objects of rows without event time are placed by the wall clock of the run: their keys are not golden.
    if (!o.records.some((r) => (r._pipeline as { event_time_fallback?: boolean }).event_time_fallback)) keys.push(o.key);
  }
  for (const o of objects) {
    const raw = gunzipSync(readFileSync(join(lake, o.bucket, o.key))).toString('utf8');
    for (const line of raw.split('\n')) if (line) lines.push(VOLATILE.reduce((s, [re, to]) => s.replace(re, to), line));
  }
  const idOf = (l: string) => Number(/^\{"id":(-?\d+)/.exec(l)?.[1]);
  lines.sort((a, b) => idOf(a) - idOf(b) || (a < b ? -1 : 1));
  return { lines: lines.join('\n') + '\n', keys: keys.sort().join('\n') + '\n' };
}

test('the row stages write exactly the recorded bytes for simulated and hostile rows (golden files)', { timeout: 120_000 }, async (t) => {
  assertBuilt();
  const dir = tempDir(t);
  const dbs = { simulated: join(dir, 'simulated.db'), hostile: join(dir, 'hostile.db') };
  await simulate({ db: dbs.simulated, rows: 3000, sensors: 7, seed: 17, startMs: Date.UTC(2025, 7, 15, 6) });
  createHostileDb(dbs.hostile, { seed: 5, malformed: 1500, huge: 0 });
  const write = process.env.EDGELAKE_GOLDEN_WRITE === '1';
  if (write) mkdirSync(DIR, { recursive: true });
  const compressors = igzipUnavailable() ? ['zlib'] : ['igzip', 'zlib'];
  for (const [name, db] of Object.entries(dbs)) {
    for (const stage of STAGES) for (const gzip of write ? ['zlib'] : compressors) {
      const lake = join(dir, `lake-${name}-${stage}-${gzip}`);
      const r = await runBuilt(['run', '--once', '--db', db, '--lake', lake, '--state-db', `${lake}.state.db`, '--type', stage, '--from-id', '-9007199254740990', '--node-id', 'golden', '--batch-size', '700', '--no-progress', '--no-alerts'], {
        env: { EDGELAKE_FUZZ_KEY: FUZZ_KEY, EDGELAKE_GZIP: gzip },
      });
      assert.equal(r.code, 0, describeResult(r));
      const got = captured(lake, stage);
      const file = join(DIR, `${name}-${stage}.jsonl.gz`);
      const keysFile = join(DIR, `${name}-${stage}.keys`);
      if (write) {
        writeFileSync(file, gzipSync(got.lines, { level: 9 }));
        writeFileSync(keysFile, got.keys);
        continue;
      }
      assert.ok(existsSync(file), `${file} is missing: record it with EDGELAKE_GOLDEN_WRITE=1`);
      const want = gunzipSync(readFileSync(file)).toString('utf8');
      if (got.lines !== want) {
        const a = got.lines.split('\n');
        const b = want.split('\n');
        const i = a.findIndex((l, k) => l !== b[k]);
        let c = 0;
        while (c < a[i].length && a[i][c] === b[i]?.[c]) c++;
        const at = Math.max(0, c - 120);
        assert.fail(`${name}/${stage} (${gzip}): line ${i + 1} differs from the golden file at character ${c}\n  got:  …${a[i]?.slice(at, c + 200)}\n  want: …${b[i]?.slice(at, c + 200)}`);
      }
      assert.equal(got.keys, readFileSync(keysFile, 'utf8'), `${name}/${stage} (${gzip}): object keys`);
      t.diagnostic(`${name}/${stage} (${gzip}): ${a(got.lines)} lines equal to the golden file`);
    }
  }
});

const a = (text: string) => text.split('\n').length - 1;
