/**
 * gzip level 1 on the row stages' own text: ISA-L's igzip (src/encode/igzip.ts, native/igzip/igzip.c)
 * against Node's zlib with the options edgelake used before it (memLevel 9, default strategy),
 * each fed 1 MiB chunks as the encoders do, on one thread. The text is one real ingestion batch:
 * 50k simulated rows written by `run --once --type ingestion` and read back out of the lake.
 * Prints MB/s of input (median of tinybench's iterations) and the compressed size; that both
 * hold the same text is tested in test/igzip.test.ts and test/golden.test.ts.
 * Run: node --import tsx bench/gzip.bench.ts   (igzip needs `npm run build:native`)
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants, createGzip, gunzipSync, gzipSync, type ZlibOptions } from 'node:zlib';
import { Bench } from 'tinybench';
import { parseRunOptions } from '../src/config.ts';
import { IgzipMember, igzipUnavailable } from '../src/encode/igzip.ts';
import { runPipeline } from '../src/pipeline/run.ts';
import { simulate } from '../src/simulate/index.ts';

const ROWS = 50_000;
const CHUNK = 1 << 20;

/** Every file under `dir`, recursively. */
function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : [join(dir, f)]));
}

const dir = mkdtempSync(join(tmpdir(), 'edgelake-gzipbench-'));
let text: Buffer;
try {
  const db = join(dir, 'sensor_data.db');
  await simulate({ db, rows: ROWS, sensors: 100, startMs: Date.UTC(2025, 7, 15) });
  const lake = join(dir, 'lake');
  const quiet = { info: () => {}, warn: () => {}, error: (m: string) => console.error(m) };
  await runPipeline(parseRunOptions({ db, lake, once: true, type: 'ingestion', progress: false, alerts: false }), { log: quiet });
  const objects = files(join(lake, 'expanso-databricks-ingestion-us-west-2')).filter((f) => f.endsWith('.jsonl.gz'));
  text = Buffer.concat(objects.map((f) => gunzipSync(readFileSync(f))));
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const chunks: Buffer[] = [];
for (let at = 0; at < text.length; at += CHUNK) chunks.push(text.subarray(at, Math.min(text.length, at + CHUNK)));
const sizes = new Map<string, number>();

function igzip(): number {
  const m = new IgzipMember(1);
  let n = 0;
  for (const c of chunks) n += m.push(c).length;
  return n + m.end().length;
}

/** zlib through its stream, as GzipStream drives it, but waited for chunk by chunk on this thread's terms. */
function zlibStream(): Promise<number> {
  return new Promise((resolve, reject) => {
    const gz = createGzip({ level: 1, memLevel: 9, strategy: constants.Z_DEFAULT_STRATEGY, chunkSize: CHUNK } as ZlibOptions);
    let n = 0;
    gz.on('data', (b: Buffer) => (n += b.length));
    gz.on('end', () => resolve(n));
    gz.on('error', reject);
    for (const c of chunks) gz.write(c);
    gz.end();
  });
}

const unavailable = igzipUnavailable();
const bench = new Bench({ time: 3000, warmupTime: 500 });
if (!unavailable) bench.add('igzip level 1, 1 MiB chunks', () => void sizes.set('igzip level 1, 1 MiB chunks', igzip()));
bench
  .add('zlib level 1 memLevel 9, one call', () => void sizes.set('zlib level 1 memLevel 9, one call', gzipSync(text, { level: 1, memLevel: 9 }).length))
  .add('zlib level 1 memLevel 9, stream of 1 MiB chunks', async () => void sizes.set('zlib level 1 memLevel 9, stream of 1 MiB chunks', await zlibStream()));

await bench.run();
console.log(`${ROWS.toLocaleString('en')} ingestion rows: ${(text.length / 1e6).toFixed(1)} MB of JSON Lines${unavailable ? ` (igzip left out: ${unavailable})` : ''}`);
for (const t of bench.tasks) {
  // tinybench 5/6: a completed task's result has latency statistics; an errored or aborted one has none.
  const r = t.result as { latency?: { p50?: number } } | undefined;
  const ms = r?.latency?.p50;
  const size = sizes.get(t.name);
  console.log(`${t.name.padEnd(48)} ${ms === undefined ? '?' : (text.length / 1e6 / (ms / 1000)).toFixed(0).padStart(5)} MB/s  ${size === undefined ? '?' : (size / 1e6).toFixed(2)} MB`);
}
