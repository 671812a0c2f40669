/**
 * Parquet writers for `--format parquet`, measured on the same simulated rows (ingestion
 * records: the 27 reading columns typed as declared, `_pipeline` as a struct, `_rescued_data`):
 *
 * - `own`: edgelake's writer (src/encode/parquet/), fed straight from the batch's typed arrays and
 *   dictionary codes, through the ingestion stage's own Parquet path (`writeRowParquet`);
 * - `hyparquet`: hyparquet-writer 0.17 with the same zstd codec (@bokuweb/zstd-wasm), fed the
 *   column arrays (values and nulls) and row objects of `_pipeline` its API takes;
 * - `read`: reading only, the baseline subtracted from the one-shot figures.
 *
 * Two parts: tinybench over one 50k-row batch per writer (the per-batch kernel), then one child
 * process per candidate over all rows (write CPU-s = its CPU-s − the `read` child's, bytes, peak
 * RSS). Every file of both writers is read back by DuckDB and checked against the rows.
 *
 * Run: node --import tsx bench/parquet.bench.ts [rows=1000000]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Bench } from 'tinybench';
import type { ColumnarBatch } from '../src/batch.ts';
import { zstd } from '../src/encode/parquet/index.ts';
import { simulate } from '../src/simulate/index.ts';
import { SensorReader } from '../src/source/reader.ts';
import { READING_COLUMNS, type NumericColumn, type TextColumn } from '../src/source/schema.ts';
import { createIngestionStage } from '../src/stages/ingestion.ts';
import type { BatchContext } from '../src/stages/types.ts';

const BATCH = 50_000;
type Candidate = 'own' | 'hyparquet' | 'read';

const ctx = (batch: ColumnarBatch): BatchContext => ({
  batchId: `bench-${batch.id[0]}`,
  nodeId: 'bench',
  keyNode: 'bench',
  version: 'bench',
  startedMs: Date.UTC(2025, 7, 15),
  nowMs: Date.UTC(2025, 7, 15, 1),
  buckets: { ingestion: 'i', validated: 'v', enriched: 'e', aggregated: 'a', emergency: 'x', metrics: 'm' },
  gzipLevel: 1,
  format: 'parquet',
  final: false,
});

const stage = createIngestionStage();
const ownWrite = async (batch: ColumnarBatch): Promise<Uint8Array[]> => (await stage.process(batch, ctx(batch))).objects.map((o) => o.body);

let hyparquet: typeof import('hyparquet-writer') | null = null;
/** hyparquet-writer: the same columns as arrays of values (null for NULL and misfits), `_pipeline` as objects under an explicit schema. */
async function hyparquetWrite(batch: ColumnarBatch): Promise<Uint8Array[]> {
  hyparquet ??= await import('hyparquet-writer');
  const codec = await zstd();
  const n = batch.length;
  const columnData: Array<{ name: string; data: unknown[] }> = [];
  const schema: Array<Record<string, unknown>> = [{ name: 'root', num_children: READING_COLUMNS.length + 2 }];
  for (const { name, kind } of READING_COLUMNS) {
    const data = new Array<unknown>(n);
    if (name === 'id') for (let r = 0; r < n; r++) data[r] = BigInt(batch.id[r]);
    else if (name === 'timestamp') for (let r = 0; r < n; r++) data[r] = batch.timestampText![r];
    else if (kind === 'text') {
      const d = batch.text[name as TextColumn]!;
      for (let r = 0; r < n; r++) data[r] = d.codes[r] < 0 ? null : d.values[d.codes[r]];
    } else {
      const col = batch.numeric[name as NumericColumn]!;
      for (let r = 0; r < n; r++) {
        const v = col[r];
        data[r] = v !== v ? null : kind === 'int' ? (Number.isSafeInteger(v) ? BigInt(v) : null) : v;
      }
    }
    columnData.push({ name, data });
    schema.push(kind === 'text' ? { name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' } : { name, type: kind === 'int' ? 'INT64' : 'DOUBLE', repetition_type: 'OPTIONAL' });
  }
  const stamp = { type: 'ingestion', version: 'bench', node_id: 'bench', batch_id: `bench-${batch.id[0]}`, processed_at: new Date(Date.UTC(2025, 7, 15, 1)), event_time_fallback: null };
  columnData.push({ name: '_pipeline', data: new Array(n).fill(stamp) });
  schema.push({ name: '_pipeline', repetition_type: 'OPTIONAL', num_children: 6 });
  for (const f of ['type', 'version', 'node_id', 'batch_id']) schema.push({ name: f, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' });
  schema.push({ name: 'processed_at', type: 'INT64', converted_type: 'TIMESTAMP_MILLIS', repetition_type: 'OPTIONAL' });
  schema.push({ name: 'event_time_fallback', type: 'BOOLEAN', repetition_type: 'OPTIONAL' });
  const rescued = new Array<string | null>(n).fill(null);
  for (const [col, rows] of batch.irregular) for (const [r, v] of rows) rescued[r] = JSON.stringify({ [col]: typeof v === 'object' && v !== null ? String(v) : v });
  columnData.push({ name: '_rescued_data', data: rescued });
  schema.push({ name: '_rescued_data', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' });
  const buf = hyparquet.parquetWriteBuffer({
    columnData: columnData as never,
    schema: schema as never,
    codec: 'ZSTD',
    compressors: { ZSTD: (b: Uint8Array) => codec.compress(b) },
    rowGroupSize: n,
    statistics: false,
  });
  return [new Uint8Array(buf)];
}

const WRITERS: Record<Exclude<Candidate, 'read'>, (b: ColumnarBatch) => Promise<Uint8Array[]>> = { own: ownWrite, hyparquet: hyparquetWrite };

function* batches(db: string): Generator<ColumnarBatch> {
  const con = new Database(db, { readonly: true });
  try {
    const reader = new SensorReader({ db: con, keepTimestampText: true });
    for (let after = 0; ; ) {
      const b = reader.read(after, BATCH);
      if (b.length === 0) return;
      after = b.id[b.length - 1];
      yield b;
    }
  } finally {
    con.close();
  }
}

/** One candidate over every row, in this process: prints one JSON line of figures. */
async function oneShot(db: string, candidate: Candidate, out: string): Promise<void> {
  const cpu0 = process.cpuUsage();
  let bytes = 0;
  let files = 0;
  let rows = 0;
  for (const b of batches(db)) {
    rows += b.length;
    if (candidate === 'read') continue;
    for (const body of await WRITERS[candidate](b)) {
      bytes += body.byteLength;
      writeFileSync(join(out, `${candidate}-${files++}.parquet`), body);
    }
  }
  const cpu = process.cpuUsage(cpu0);
  console.log(JSON.stringify({ candidate, rows, bytes, files, cpuS: (cpu.user + cpu.system) / 1e6, maxRssMb: process.resourceUsage().maxRSS / 1024 }));
}

async function main(): Promise<void> {
  const rows = Number(process.argv[2] ?? 1_000_000);
  const dir = mkdtempSync(join(tmpdir(), 'edgelake-parquetbench-'));
  try {
    const db = join(dir, 'sensor_data.db');
    const sim = await simulate({ db, rows, sensors: 100, startMs: Date.UTC(2025, 7, 15), invalidRate: 0.01 });
    console.log(`simulated ${sim.rowsWritten} rows (100 sensors, 1 % invalid) in ${(sim.elapsedMs / 1000).toFixed(1)} s`);

    const first = batches(db).next().value!;
    const bench = new Bench({ time: 3000, warmupTime: 500 });
    for (const [name, write] of Object.entries(WRITERS)) bench.add(`${name}: one ${first.length}-row batch`, async () => void (await write(first)));
    await bench.run();
    console.table(bench.table());

    const figures = new Map<Candidate, { rows: number; bytes: number; files: number; cpuS: number; maxRssMb: number }>();
    for (const c of ['read', 'own', 'hyparquet'] as Candidate[]) {
      const out = join(dir, c);
      execFileSync('mkdir', ['-p', out]);
      const line = execFileSync(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, '--one-shot', db, c, out], { encoding: 'utf8' });
      figures.set(c, JSON.parse(line.trim().split('\n').pop()!));
      if (c !== 'read') await check(join(out, '*.parquet'), rows);
      rmSync(out, { recursive: true, force: true });
    }
    const read = figures.get('read')!;
    console.log(`\n| writer | write CPU-s per 1M rows | bytes per 1M rows | peak RSS |`);
    console.log(`|---|---|---|---|`);
    for (const c of ['own', 'hyparquet'] as const) {
      const f = figures.get(c)!;
      const per = 1e6 / f.rows;
      console.log(`| ${c} | ${((f.cpuS - read.cpuS) * per).toFixed(2)} | ${((f.bytes * per) / 2 ** 20).toFixed(1)} MiB | ${Math.round(f.maxRssMb)} MB |`);
    }
    console.log(`(reading alone: ${(read.cpuS * (1e6 / read.rows)).toFixed(2)} CPU-s per 1M rows, ${Math.round(read.maxRssMb)} MB)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** DuckDB reads every file back: the row count, ids and the metric sums must be the source's. */
async function check(glob: string, rows: number): Promise<void> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const inst = await DuckDBInstance.create(':memory:');
  const con = await inst.connect();
  const r = await con.runAndReadAll(`SELECT count(*)::DOUBLE, sum(id)::DOUBLE, count(DISTINCT id)::DOUBLE FROM read_parquet('${glob}')`);
  const [n, sum, distinct] = r.getRows()[0] as number[];
  con.closeSync();
  inst.closeSync();
  if (n !== rows || distinct !== rows || sum !== (rows * (rows + 1)) / 2) throw new Error(`DuckDB read back ${n} rows (${distinct} distinct ids, sum ${sum}) from ${glob}, expected ${rows}`);
}

if (process.argv[2] === '--one-shot') await oneShot(process.argv[3], process.argv[4] as Candidate, process.argv[5]);
else await main();
