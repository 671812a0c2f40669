/**
 * Kernel throughput: each kernel in WASM and in the TypeScript reference on 1M and 10M rows
 * (10M for aggregation and validation only), the aggregation's copy into linear memory alone,
 * then the worker pool with 1 and 2 threads (copied slices, and batches handed over with
 * `transfer: true`). Rows/s counts the whole call, copies into and out of WASM memory included;
 * best and median of the timed iterations (after warm-up iterations that let V8 tier the WASM up).
 * Run: `npm run bench` (node --import tsx bench/kernels.bench.ts); `BENCH_QUICK=1` for 1M rows only.
 * Reading SQLite in the workers: bench/pool-read.bench.ts.
 */
import { Bench } from 'tinybench';
import { DEFAULT_LIMITS, DEFAULT_THRESHOLDS, DEFAULT_WINDOW_MS, ScoreState, loadKernels, mergePartials } from '../src/kernels/index.ts';
import type { AggregateInput, Kernels, WindowPartial } from '../src/kernels/index.ts';
import { aggregateInputOf, fuzzInputOf, scoreInputOf, syntheticBatch, validateInputOf } from './synthetic.ts';
import type { SyntheticBatch } from './synthetic.ts';
import { BenchPool } from './pool/bench-pool.ts';

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

/** Rows per chunk the WASM host copies into linear memory (CHUNK in src/kernels/wasm.ts). */
const CHUNK = 32768;

/** The aggregation host's copies alone: the same chunked `.set` calls into a staging area of the same layout. */
function copyOnly(input: AggregateInput): () => void {
  const stage = new ArrayBuffer(CHUNK * (9 * 8 + 4 + 1) + 64);
  const id = new Float64Array(stage, 0, CHUNK), ev = new Float64Array(stage, 8 * CHUNK, CHUNK), met = new Float64Array(stage, 16 * CHUNK, 5 * CHUNK);
  const score = new Float64Array(stage, 56 * CHUNK, CHUNK), slot = new Int32Array(stage, 64 * CHUNK, CHUNK), anom = new Uint8Array(stage, 68 * CHUNK, CHUNK);
  return () => {
    const n = input.id.length;
    for (let s = 0; s < n; s += CHUNK) {
      const e = Math.min(n, s + CHUNK);
      slot.set(input.slot.subarray(s, e));
      id.set(input.id.subarray(s, e));
      ev.set(input.eventMs.subarray(s, e));
      for (let m = 0; m < 5; m++) met.set(input.metrics[m].subarray(s, e), m * CHUNK);
      score.set(input.score.subarray(s, e));
      anom.set(input.isAnomaly.subarray(s, e));
    }
  };
}

/** Splits a batch into fresh per-task batches (what a reader handing over 250k-row pages produces). */
function pages(input: AggregateInput, rows: number): AggregateInput[] {
  const out: AggregateInput[] = [];
  for (let s = 0; s < input.id.length; s += rows) {
    const e = Math.min(input.id.length, s + rows);
    out.push({ id: input.id.slice(s, e), eventMs: input.eventMs.slice(s, e), slot: input.slot.slice(s, e), metrics: input.metrics.map((c) => c.slice(s, e)), score: input.score.slice(s, e), isAnomaly: input.isAnomaly.slice(s, e) });
  }
  return out;
}

const stat = (t: { name: string; result: { state: string } }, f: (l: { min: number; p50: number }) => number): number => {
  const r = t.result as { state: string; latency?: { min: number; p50: number } };
  if (r.state !== 'completed' || !r.latency) throw new Error(`${t.name} failed: ${r.state}`);
  return f(r.latency);
};

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
    const big = s.rows > 1e6;
    const bench = new Bench({ time: 0, iterations: big ? 3 : 7, warmupIterations: big ? 1 : 3, warmupTime: 0 });
    bench.add('wasm', runner(wasm, s.kernel, b));
    bench.add('ts', runner(ref, s.kernel, b));
    if (s.kernel === 'aggregate') bench.add('copy', copyOnly(aggregateInputOf(b)));
    await bench.run();
    const [w, t, c] = bench.tasks;
    const wMin = stat(w, (l) => l.min), wMed = stat(w, (l) => l.p50), tMin = stat(t, (l) => l.min), tMed = stat(t, (l) => l.p50);
    table.push({
      kernel: s.kernel,
      rows: s.rows,
      'wasm best': rowsPerSec(s.rows, wMin),
      'wasm median': rowsPerSec(s.rows, wMed),
      'ts best': rowsPerSec(s.rows, tMin),
      'ts median': rowsPerSec(s.rows, tMed),
      'speed-up (medians)': `${(tMed / wMed).toFixed(2)}×`,
      ...(c ? { 'copy alone, best': rowsPerSec(s.rows, stat(c, (l) => l.min)), 'kernel alone ≈ best': rowsPerSec(s.rows, wMin - stat(c, (l) => l.min)) } : {}),
    });
  }
  console.table(table);

  const poolRows = quick ? 1_000_000 : 4_000_000;
  const b = batchOf(poolRows);
  const agg = aggregateInputOf(b);
  const val = validateInputOf(b);
  const poolTable: Array<Record<string, string | number>> = [];
  for (const threads of [1, 2]) {
    const pool = await BenchPool.open({ threads, impl: 'wasm' });
    try {
      let handed: AggregateInput[] = [];
      const bench = new Bench({ time: 0, iterations: 5, warmupIterations: 1, warmupTime: 0 });
      bench.add('aggregate', async () => void (await pool.aggregate(agg, DEFAULT_WINDOW_MS)));
      bench.add(
        'aggregate, batches handed over (transfer)',
        async () => {
          const parts = await Promise.all(handed.map((p) => pool.aggregate(p, DEFAULT_WINDOW_MS, { transfer: true })));
          mergeAll(parts);
        },
        { beforeEach: () => void (handed = pages(agg, 250_000)) },
      );
      bench.add('validate', async () => void (await pool.validate(val, DEFAULT_LIMITS)));
      await bench.run();
      for (const t of bench.tasks) {
        poolTable.push({ kernel: t.name, threads, rows: poolRows, 'best rows/s': rowsPerSec(poolRows, stat(t, (l) => l.min)), 'median rows/s': rowsPerSec(poolRows, stat(t, (l) => l.p50)) });
      }
    } finally {
      await pool.close();
    }
  }
  console.table(poolTable);
}

/** Merges the partials of several batches by (slot, window), as a stage would. */
function mergeAll(lists: WindowPartial[][]): number {
  const byKey = new Map<string, WindowPartial>();
  for (const list of lists) {
    for (const p of list) {
      const key = `${p.slot}:${p.windowStartMs}`;
      const prev = byKey.get(key);
      byKey.set(key, prev ? mergePartials(prev, p) : p);
    }
  }
  return byKey.size;
}

await main();
