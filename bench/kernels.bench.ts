/**
 * Kernel throughput: each kernel in WASM and in the TypeScript reference on 1M and 10M rows
 * (10M for aggregation and validation only), then the worker pool with 1 and 2 threads.
 * Rows/s counts the whole call, copies into and out of WASM memory included.
 * Run: `npm run bench` (node --import tsx bench/kernels.bench.ts); `BENCH_QUICK=1` for 1M rows only.
 */
import { Bench } from 'tinybench';
import { DEFAULT_LIMITS, DEFAULT_THRESHOLDS, DEFAULT_WINDOW_MS, ScoreState, loadKernels } from '../src/kernels/index.ts';
import type { Kernels } from '../src/kernels/index.ts';
import { aggregateInputOf, fuzzInputOf, scoreInputOf, syntheticBatch, validateInputOf } from '../src/kernels/synthetic.ts';
import type { SyntheticBatch } from '../src/kernels/synthetic.ts';
import { KernelPool } from '../src/pool/index.ts';

const quick = process.env.BENCH_QUICK === '1';
const SENSORS = 1000;

interface Scenario {
  readonly kernel: 'validate' | 'score' | 'aggregate' | 'fuzz';
  readonly rows: number;
}

/** The scenario table: 10M rows only where the kernel is cheap enough to keep the run short. */
const SCENARIOS: Scenario[] = [
  { kernel: 'aggregate', rows: 1_000_000 },
  { kernel: 'validate', rows: 1_000_000 },
  { kernel: 'score', rows: 1_000_000 },
  { kernel: 'fuzz', rows: 1_000_000 },
  ...(quick ? [] : ([{ kernel: 'aggregate', rows: 10_000_000 }, { kernel: 'validate', rows: 10_000_000 }] as Scenario[])),
];

function runner(k: Kernels, kernel: Scenario['kernel'], b: SyntheticBatch): () => void {
  switch (kernel) {
    case 'validate': {
      const input = validateInputOf(b);
      return () => void k.validate(input, DEFAULT_LIMITS);
    }
    case 'score': {
      const input = scoreInputOf(b);
      return () => void k.score(input, new ScoreState(), DEFAULT_THRESHOLDS);
    }
    case 'aggregate': {
      const input = aggregateInputOf(b);
      return () => void k.aggregate(input, DEFAULT_WINDOW_MS);
    }
    case 'fuzz': {
      const input = fuzzInputOf(b);
      return () => void k.fuzz(input, 1000);
    }
  }
}

const rowsPerSec = (rows: number, ms: number): string => `${(rows / ms / 1000).toFixed(1)} M`;

async function main(): Promise<void> {
  const wasm = await loadKernels('wasm');
  const ref = await loadKernels('ts');
  const table: Array<Record<string, string | number>> = [];
  const batches = new Map<number, SyntheticBatch>();
  const batchOf = (rows: number): SyntheticBatch => {
    let b = batches.get(rows);
    if (!b) batches.set(rows, (b = syntheticBatch({ rows, sensors: SENSORS, seed: 1 })));
    return b;
  };
  for (const s of SCENARIOS) {
    const b = batchOf(s.rows);
    const bench = new Bench({ time: 0, iterations: s.rows > 1e6 ? 3 : 7, warmupIterations: 1, warmupTime: 0 });
    bench.add('wasm', runner(wasm, s.kernel, b));
    bench.add('ts', runner(ref, s.kernel, b));
    await bench.run();
    const ms = Object.fromEntries(bench.tasks.map((t) => [t.name, t.result.state === 'completed' ? t.result.latency.p50 : NaN]));
    table.push({ kernel: s.kernel, rows: s.rows, 'wasm rows/s': rowsPerSec(s.rows, ms.wasm), 'ts rows/s': rowsPerSec(s.rows, ms.ts), speedup: `${(ms.ts / ms.wasm).toFixed(2)}×` });
  }
  console.table(table);

  const poolRows = quick ? 1_000_000 : 4_000_000;
  const b = batchOf(poolRows);
  const agg = aggregateInputOf(b);
  const val = validateInputOf(b);
  const poolTable: Array<Record<string, string | number>> = [];
  for (const threads of [1, 2]) {
    const pool = await KernelPool.open({ threads, impl: 'wasm' });
    try {
      const bench = new Bench({ time: 0, iterations: 5, warmupIterations: 1, warmupTime: 0 });
      bench.add('aggregate', async () => void (await pool.aggregate(agg, DEFAULT_WINDOW_MS)));
      bench.add('validate', async () => void (await pool.validate(val, DEFAULT_LIMITS)));
      await bench.run();
      for (const t of bench.tasks) {
        if (t.result.state !== 'completed') throw new Error(`pool ${t.name} failed: ${t.result.state}`);
        poolTable.push({ kernel: t.name, threads, rows: poolRows, 'rows/s': rowsPerSec(poolRows, t.result.latency.p50) });
      }
    } finally {
      await pool.close();
    }
  }
  console.table(poolTable);
}

await main();
