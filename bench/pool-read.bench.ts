/**
 * "Workers read their own SQLite id range": rows/s of reading + aggregating a simulated sensor
 * database (1M rows, 100 sensors) on the main thread alone vs BenchPool.readAggregate
 * (bench/pool/) with 1 and 2 workers. Every variant reads the same id ranges (taskRows ids each)
 * with SensorReader (one scalar SQL function filling preallocated Float64Arrays) and runs the
 * WASM aggregation kernel, then merges partials; the pool variants do the reading in the workers.
 * Run: `node --import tsx bench/pool-read.bench.ts` (after `npm run build:wasm`);
 * `BENCH_ROWS=200000` for a quick run. Prints best and median of BENCH_REPEATS (default 3) runs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Bench } from 'tinybench';
import { DEFAULT_WINDOW_MS, loadKernels, mergePartials } from '../src/kernels/index.ts';
import type { Kernels, WindowPartial } from '../src/kernels/index.ts';
import { BenchPool } from './pool/bench-pool.ts';
import { simulate } from '../src/simulate/index.ts';
import { SensorReader } from '../src/source/reader.ts';
import { METRICS } from '../src/source/schema.ts';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const TASK_ROWS = 250_000;

/** The main-thread baseline: same ranges, same reader, same kernel, partials merged by sensor id. */
function readAggregateHere(reader: SensorReader, k: Kernels, rows: number): number {
  const merged = new Map<string, WindowPartial>();
  let read = 0;
  for (let after = 0; after < rows; after += TASK_ROWS) {
    const until = Math.min(rows, after + TASK_ROWS);
    const b = reader.read(after, until - after, until);
    const sensor = b.text.sensor_id!;
    const flag = b.numeric.anomaly_flag!;
    const isAnomaly = new Uint8Array(b.length);
    for (let i = 0; i < b.length; i++) isAnomaly[i] = flag[i] === 1 ? 1 : 0;
    const parts = k.aggregate({ id: b.id, eventMs: b.eventMs, slot: sensor.codes, metrics: METRICS.map((m) => b.numeric[m]!), score: new Float64Array(b.length), isAnomaly }, DEFAULT_WINDOW_MS);
    for (const p of parts) {
      const key = `${sensor.values[p.slot]}:${p.windowStartMs}`;
      const prev = merged.get(key);
      merged.set(key, prev ? mergePartials(prev, p) : p);
    }
    read += b.length;
  }
  return read;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'edgelake-bench-'));
  const db = join(dir, 'sensors.db');
  try {
    const t0 = performance.now();
    await simulate({ db, rows: ROWS, sensors: 100, startMs: Date.UTC(2025, 7, 15), seed: 42 });
    console.log(`simulated ${ROWS} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const conn = new Database(db, { readonly: true });
    const reader = new SensorReader({ db: conn, columns: ['sensor_id', ...METRICS, 'anomaly_flag'], keepTimestampText: false });
    const wasm = await loadKernels('wasm');
    const pools = [await BenchPool.open({ threads: 1, taskRows: TASK_ROWS }), await BenchPool.open({ threads: 2, taskRows: TASK_ROWS })];
    try {
      const bench = new Bench({ time: 0, iterations: REPEATS, warmupIterations: 1, warmupTime: 0 });
      bench.add('read only, main thread', () => {
        for (let after = 0; after < ROWS; after += TASK_ROWS) reader.read(after, TASK_ROWS, after + TASK_ROWS);
      });
      bench.add('read + aggregate, main thread', () => void readAggregateHere(reader, wasm, ROWS));
      for (const pool of pools) {
        bench.add(`read + aggregate in ${pool.threads} worker${pool.threads > 1 ? 's' : ''}`, async () => {
          const r = await pool.readAggregate({ db, afterId: 0, untilId: ROWS });
          if (r.rows !== ROWS) throw new Error(`pool read ${r.rows} rows, expected ${ROWS}`);
        });
      }
      await bench.run();
      const rate = (ms: number): string => `${(ROWS / ms / 1000).toFixed(2)} M`;
      console.table(
        bench.tasks.map((t) => {
          if (t.result.state !== 'completed') throw new Error(`${t.name} failed: ${t.result.state}`);
          return { variant: t.name, rows: ROWS, 'best rows/s': rate(t.result.latency.min), 'median rows/s': rate(t.result.latency.p50) };
        }),
      );
    } finally {
      for (const p of pools) await p.close();
      conn.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
