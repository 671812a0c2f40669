import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { KernelPool } from '../src/pool/index.ts';
import { BenchPool } from '../bench/pool/bench-pool.ts';
import { SensorReader } from '../src/source/reader.ts';
import { METRICS } from '../src/source/schema.ts';
import { simulate } from '../src/simulate/index.ts';
import { tempDir } from './helpers/tmp.ts';
import { DEFAULT_LIMITS, loadKernels } from '../src/kernels/index.ts';
import type { Kernels, WindowPartial } from '../src/kernels/index.ts';
import { aggregateInputOf, fuzzInputOf, syntheticBatch, validateInputOf } from '../bench/synthetic.ts';

let pool: BenchPool;
let wasm: Kernels;
before(async () => {
  pool = await BenchPool.open({ threads: 2, impl: 'wasm', taskRows: 20_000, maxInFlight: 3 });
  wasm = await loadKernels('wasm');
});
after(async () => {
  await pool.close();
});

const batch = syntheticBatch({ rows: 100_003, sensors: 300, seed: 21, intervalMs: 5000 });

function byKey(parts: WindowPartial[]): Map<string, WindowPartial> {
  return new Map(parts.map((p) => [`${p.slot}:${p.windowStartMs}`, p]));
}

// The bench pool runs kernels in workers over the product's WorkerPool: its bound on tasks in
// flight, its thread options and warm-up are the ones KernelPool runs the product's tasks with.
describe('BenchPool on WorkerPool', () => {
  it('aggregates a batch split over several tasks into the partials of one kernel call', async () => {
    const input = aggregateInputOf(batch);
    const pooled = byKey(await pool.aggregate(input, 300_000));
    const direct = wasm.aggregate(input, 300_000);
    assert.equal(pooled.size, direct.length);
    for (const d of direct) {
      const p = pooled.get(`${d.slot}:${d.windowStartMs}`) as WindowPartial;
      assert.deepEqual([p.count, p.firstId, p.lastId, p.anomalyCount, p.maxScore], [d.count, d.firstId, d.lastId, d.anomalyCount, d.maxScore]);
      for (let m = 0; m < 5; m++) {
        assert.equal(p.metrics[m].n, d.metrics[m].n);
        assert.ok(Math.abs(p.metrics[m].mean - d.metrics[m].mean) <= 1e-9 * Math.abs(d.metrics[m].mean));
        assert.ok(Math.abs(p.metrics[m].m2 - d.metrics[m].m2) <= 1e-9 * Math.abs(d.metrics[m].m2) + 1e-9);
      }
    }
    assert.equal(input.id.length, 100_003, 'the caller keeps its columns: the pool transfers copies');
  });

  it('validates and fuzzes exactly like the kernels called directly', async () => {
    const v = validateInputOf(batch);
    assert.deepEqual(await pool.validate(v, DEFAULT_LIMITS), wasm.validate(v, DEFAULT_LIMITS));
    const f = fuzzInputOf(batch);
    assert.deepEqual(await pool.fuzz(f, 2000), wasm.fuzz(f, 2000));
  });

  it('never has more tasks in flight than allowed, and finishes every waiting call', async () => {
    const v = validateInputOf(batch);
    const calls = Array.from({ length: 4 }, () => pool.validate(v, DEFAULT_LIMITS));
    let peak = 0;
    const watch = setInterval(() => (peak = Math.max(peak, pool.inFlight)), 1);
    const results = await Promise.all(calls);
    clearInterval(watch);
    assert.ok(peak <= 3, `peak ${peak}`);
    assert.equal(pool.inFlight, 0);
    for (const r of results) assert.equal(r.length, v.eventMs.length);
  });

  it('moves the columns of a one-task batch to the worker when the caller gives them up', async () => {
    const small = syntheticBatch({ rows: 15_000, sensors: 40, seed: 3 });
    const expected = wasm.aggregate(aggregateInputOf(small), 300_000);
    const input = aggregateInputOf(small);
    const pooled = await pool.aggregate(input, 300_000, { transfer: true });
    assert.deepEqual(pooled, expected);
    assert.equal(input.id.length, 0, 'the id column of the caller is detached: moved, not copied');
    assert.equal(input.metrics[4].length, 0);
    const v = validateInputOf(syntheticBatch({ rows: 15_000, sensors: 40, seed: 3 }));
    const mask = wasm.validate(v, DEFAULT_LIMITS);
    assert.deepEqual(await pool.validate(v, DEFAULT_LIMITS, { transfer: true }), mask);
    assert.equal(v.eventMs.length, 0);
  });

  it('still copies a batch split over several tasks, even when asked to transfer', async () => {
    const input = aggregateInputOf(batch);
    const pooled = await pool.aggregate(input, 300_000, { transfer: true });
    assert.equal(pooled.length, wasm.aggregate(input, 300_000).length);
    assert.equal(input.id.length, 100_003);
  });

  it('lets workers read their own id ranges of the database and aggregates like one thread', async (t) => {
    const db = join(tempDir(t), 'sensors.db');
    await simulate({ db, rows: 30_000, sensors: 12, startMs: Date.UTC(2025, 7, 15), seed: 9 });
    const got = await pool.readAggregate({ db, afterId: 0, untilId: 30_000, windowMs: 300_000 });
    assert.equal(got.rows, 30_000);
    // One thread: read every row, slot = sensor_id code, aggregate once.
    const conn = new Database(db, { readonly: true });
    t.after(() => conn.close());
    const b = new SensorReader({ db: conn, columns: ['sensor_id', ...METRICS, 'anomaly_flag'], keepTimestampText: false }).read(0, 30_000);
    const sensor = b.text.sensor_id!;
    const flag = b.numeric.anomaly_flag!;
    const whole = wasm.aggregate(
      { id: b.id, eventMs: b.eventMs, slot: sensor.codes, metrics: METRICS.map((m) => b.numeric[m]!), score: new Float64Array(b.length), isAnomaly: Uint8Array.from(flag, (f) => (f === 1 ? 1 : 0)) },
      300_000,
    );
    const mine = new Map(got.partials.map((p) => [`${got.sensorIds[p.slot]}:${p.windowStartMs}`, p]));
    assert.equal(mine.size, whole.length);
    for (const w of whole) {
      const p = mine.get(`${sensor.values[w.slot]}:${w.windowStartMs}`) as WindowPartial;
      assert.deepEqual([p.count, p.firstId, p.lastId, p.anomalyCount], [w.count, w.firstId, w.lastId, w.anomalyCount]);
      for (let m = 0; m < 5; m++) {
        assert.equal(p.metrics[m].n, w.metrics[m].n);
        assert.ok(Math.abs(p.metrics[m].mean - w.metrics[m].mean) <= 1e-9 * Math.abs(w.metrics[m].mean));
      }
    }
    await assert.rejects(pool.readAggregate({ db, afterId: 10, untilId: 5 }), /afterId ≤ untilId, got 10\.\.5/);
    await assert.rejects(pool.readAggregate({ db: join(tempDir(t), 'missing.db'), afterId: 0, untilId: 10 }), /pool worker cannot open .*missing\.db read-only/);
  });

  it('handles an empty batch', async () => {
    const empty = syntheticBatch({ rows: 0, sensors: 1 });
    assert.deepEqual(await pool.aggregate(aggregateInputOf(empty), 300_000), []);
    assert.equal((await pool.validate(validateInputOf(empty), DEFAULT_LIMITS)).length, 0);
  });

  it('rejects with the kernel error of a bad batch', async () => {
    const input = aggregateInputOf(syntheticBatch({ rows: 10, sensors: 2 }));
    const bad = { ...input, slot: Int32Array.from({ length: 10 }, (_v, i) => (i === 4 ? -7 : 0)) };
    await assert.rejects(pool.aggregate(bad, 300_000), /slot ids must be ≥ 0, got -7/);
  });

  it('bounds the product pool\'s tasks in flight too, and reads every part in id order', async (t) => {
    const db = join(tempDir(t), 'sensors.db');
    await simulate({ db, rows: 12_000, sensors: 5, startMs: Date.UTC(2025, 7, 15), seed: 4 });
    const product = await KernelPool.open({ threads: 1, maxInFlight: 2 });
    t.after(() => product.close());
    const parts = Array.from({ length: 6 }, (_v, i) => ({ afterId: i * 2000, untilId: (i + 1) * 2000, rows: 2000 }));
    const reading = product.readColumns({ db, parts, columns: ['sensor_id'] });
    assert.equal(product.inFlight, 2, 'two tasks dispatched, four waiting');
    let peak = 0;
    const watch = setInterval(() => (peak = Math.max(peak, product.inFlight)), 1);
    const got = await reading;
    clearInterval(watch);
    assert.ok(peak <= 2, `peak ${peak}`);
    assert.equal(product.inFlight, 0);
    assert.equal(product.completed, 6, 'one task per part; the warm-up tasks are not counted');
    assert.deepEqual(Array.from(got.id), Array.from({ length: 12_000 }, (_v, i) => i + 1));
  });

  it('starts only its warm threads, stays on them while one task at a time is let in, and starts the others once more are', async (t) => {
    const db = join(tempDir(t), 'sensors.db');
    await simulate({ db, rows: 8000, sensors: 5, startMs: Date.UTC(2025, 7, 15), seed: 7 });
    const product = await KernelPool.open({ threads: 2, warmThreads: 1, maxInFlight: 1 });
    t.after(() => product.close());
    assert.equal(product.threads, 1, 'one thread warmed');
    const parts = Array.from({ length: 4 }, (_v, i) => ({ afterId: i * 2000, untilId: (i + 1) * 2000, rows: 2000 }));
    const one = await product.readColumns({ db, parts, columns: ['sensor_id'] });
    assert.equal(one.length, 8000);
    assert.equal(product.threads, 1, 'four parts, one at a time: still one thread');
    product.allow(4);
    const two = await product.readColumns({ db, parts, columns: ['sensor_id'] });
    assert.deepEqual(Array.from(two.id), Array.from(one.id), 'the same rows, in id order');
    assert.equal(product.threads, 2, 'four parts let in at once: the second thread started');
    product.allow(1);
    await product.readColumns({ db, parts, columns: ['sensor_id'] });
    assert.equal(product.threads, 2, 'a started thread stays');
    assert.throws(() => product.allow(0), /maxInFlight must be an integer ≥ 1, got 0/);
    await assert.rejects(KernelPool.open({ threads: 2, warmThreads: 3 }), /KernelPool warmThreads must be an integer from 1 to threads \(2\), got 3/);
  });

  it('runs the TypeScript reference in workers too, and refuses bad options', async () => {
    const tsPool = await BenchPool.open({ threads: 1, impl: 'ts' });
    try {
      const v = validateInputOf(batch);
      assert.deepEqual(await tsPool.validate(v, DEFAULT_LIMITS), wasm.validate(v, DEFAULT_LIMITS));
    } finally {
      await tsPool.close();
    }
    await assert.rejects(BenchPool.open({ threads: 0 }), /BenchPool threads must be an integer ≥ 1, got 0/);
    await assert.rejects(BenchPool.open({ threads: 1, taskRows: 0.5 }), /BenchPool taskRows must be an integer ≥ 1, got 0\.5/);
    await assert.rejects(KernelPool.open({ threads: 0 }), /KernelPool threads must be an integer ≥ 1, got 0/);
    await assert.rejects(KernelPool.open({ threads: 1, maxInFlight: 0 }), /KernelPool maxInFlight must be an integer ≥ 1, got 0/);
    await assert.rejects(KernelPool.open({ threads: 1, impl: 'js' as 'ts' }), /KernelPool impl must be wasm or ts, got js/);
  });
});
