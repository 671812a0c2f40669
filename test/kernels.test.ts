import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_LIMITS, DEFAULT_THRESHOLDS, RULE, RULES, REASON, ScoreState, loadKernels, mergePartials } from '../src/kernels/index.ts';
import type { AggregateInput, Kernels, WindowPartial } from '../src/kernels/index.ts';
import { aggregateInputOf, prng, scoreInputOf, syntheticBatch, validateInputOf } from '../bench/synthetic.ts';
import type { SyntheticBatch } from '../bench/synthetic.ts';
import { windowStartOf } from '../src/kernels/ref/aggregate.ts';

let wasm: Kernels;
let ref: Kernels;
before(async () => {
  wasm = await loadKernels('wasm');
  ref = await loadKernels('ts');
});

const EDGE = [NaN, Infinity, -Infinity, 0, -0, -40, 85, 100, 1e300, -1e-300];

/** A synthetic batch with edge values sprinkled in every column the kernels read. */
function chaosBatch(rows: number, seed: number, sensors = 50): SyntheticBatch {
  const b = syntheticBatch({ rows, sensors, seed, intervalMs: 7000 });
  const r = prng(seed ^ 0x5eed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  for (let i = 0; i < rows; i++) {
    if (r() < 0.05) b.metrics[Math.floor(5 * r())][i] = pick(EDGE);
    if (r() < 0.02) b.eventMs[i] = pick([NaN, Infinity, -1, 0, 300_000 * Math.floor(b.eventMs[i] / 300_000)]);
    if (r() < 0.02) b.latitude[i] = pick([NaN, 90, -90, 90.0000001, -91]);
    if (r() < 0.02) b.longitude[i] = pick([NaN, 180, -180, 180.0000001, -181]);
    if (r() < 0.03) b.statusCode[i] = pick([NaN, 0, 1, 2, -1, 0.5]);
    if (r() < 0.03) b.anomalyFlag[i] = pick([NaN, 0, 1, 3]);
    if (r() < 0.01) b.metrics[4][i] = 5; // collapse with vibration when vibration is high
    if (r() < 0.01) b.metrics[3][i] = 20;
  }
  return b;
}

/** Asserts two partial lists hold the same numbers bit for bit (NaN = NaN). */
function assertSamePartials(a: WindowPartial[], b: WindowPartial[]): void {
  assert.equal(a.length, b.length);
  const norm = (p: WindowPartial[]): string => JSON.stringify(p, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v));
  assert.equal(norm(a), norm(b));
}

describe('validate', () => {
  it('gives the same masks in WASM as in the TypeScript reference on random batches with edge values', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const rows = [0, 1, 2, 3, 33, 1001, 40_000][seed % 7];
      const input = validateInputOf(chaosBatch(rows, seed));
      assert.deepEqual(wasm.validate(input, DEFAULT_LIMITS), ref.validate(input, DEFAULT_LIMITS), `seed ${seed}`);
    }
  });

  it('sets each rule bit for exactly the condition it names', () => {
    const now = Date.UTC(2025, 7, 15);
    const ok = { t: now, m: [25, 50, 101325, 2.5, 12], lat: 10, lon: 20, st: 0, fl: 0 };
    const cases: Array<[string, Partial<typeof ok>, number]> = [
      ['a normal row', {}, 0],
      ['a NULL temperature', { m: [NaN, 50, 101325, 2.5, 12] }, RULE.MISSING[0]],
      ['pressure below range', { m: [25, 50, 79999, 2.5, 12] }, RULE.OUT_OF_RANGE[2]],
      ['humidity at its inclusive upper edge', { m: [25, 100, 101325, 2.5, 12] }, 0],
      ['+Infinity voltage', { m: [25, 50, 101325, 2.5, Infinity] }, RULE.OUT_OF_RANGE[4]],
      ['a missing timestamp', { t: NaN }, RULE.TS_MISSING],
      ['a timestamp 5 min + 1 ms in the future', { t: now + 300_001 }, RULE.TS_FUTURE],
      ['a timestamp exactly 5 min in the future', { t: now + 300_000 }, 0],
      ['a timestamp before the epoch', { t: -1 }, RULE.TS_BEFORE_MIN],
      ['latitude 90 and longitude -180', { lat: 90, lon: -180 }, 0],
      ['latitude above 90', { lat: 90.5 }, RULE.GPS_INVALID],
      ['a NULL longitude', { lon: NaN }, RULE.GPS_INVALID],
      ['voltage collapse under vibration', { m: [25, 50, 101325, 9.5, 8.9] }, RULE.VOLTAGE_COLLAPSE_WITH_VIBRATION],
      ['status 1 with flag 0', { st: 1, fl: 0 }, RULE.STATUS_FLAG_MISMATCH],
      ['status 1 with a NULL flag', { st: 1, fl: NaN }, 0],
      ['status 2', { st: 2 }, RULE.FLAG_INVALID],
    ];
    const n = cases.length;
    const col = (f: (c: typeof ok) => number): Float64Array => Float64Array.from(cases, ([, p]) => f({ ...ok, ...p }));
    const input = {
      eventMs: col((c) => c.t),
      metrics: [0, 1, 2, 3, 4].map((m) => col((c) => c.m[m])),
      latitude: col((c) => c.lat),
      longitude: col((c) => c.lon),
      statusCode: col((c) => c.st),
      anomalyFlag: col((c) => c.fl),
      nowMs: now,
    };
    for (const k of [wasm, ref]) {
      const mask = k.validate(input, DEFAULT_LIMITS);
      for (let i = 0; i < n; i++) assert.equal(mask[i], cases[i][2], `${k.impl}: ${cases[i][0]}`);
    }
  });

  it('describes every rule bit once in the rule table', () => {
    const bits = RULES.map((r) => r.bit);
    assert.equal(new Set(bits).size, 17);
    assert.equal(bits.reduce((a, b) => a | b, 0), (1 << 17) - 1);
  });
});

describe('score', () => {
  it('gives bit-identical scores, reasons and state in WASM and TypeScript over consecutive batches', () => {
    for (let seed = 1; seed <= 12; seed++) {
      const sw = new ScoreState();
      const sr = new ScoreState();
      for (let batch = 0; batch < 3; batch++) {
        // New sensors appear in later batches, so the state must grow mid-stream.
        const input = scoreInputOf(chaosBatch([0, 1, 5000, 70_000][(seed + batch) % 4], seed * 10 + batch, 20 + 40 * batch));
        const a = wasm.score(input, sw, DEFAULT_THRESHOLDS);
        const b = ref.score(input, sr, DEFAULT_THRESHOLDS);
        assert.deepEqual(a, b, `seed ${seed} batch ${batch}`);
        assert.deepEqual(sw.toJSON(), sr.toJSON());
      }
    }
  });

  it('raises no alert during warm-up on normal data', () => {
    const b = syntheticBatch({ rows: 29 * 100, sensors: 100, anomalyRate: 0, nullRate: 0 });
    for (const k of [wasm, ref]) {
      const out = k.score(scoreInputOf(b), new ScoreState(), DEFAULT_THRESHOLDS);
      assert.equal(out.priority.reduce((a, p) => a + p, 0), 0, k.impl);
    }
  });

  it('gives a large spike after warm-up high priority and barely moves the baseline', () => {
    const b = syntheticBatch({ rows: 200 * 10, sensors: 10, anomalyRate: 0, nullRate: 0 });
    for (const k of [wasm, ref]) {
      const state = new ScoreState();
      k.score(scoreInputOf(b), state, DEFAULT_THRESHOLDS);
      const before = state.baseline(3, 0);
      const spike = scoreInputOf(syntheticBatch({ rows: 10, sensors: 10, anomalyRate: 0, nullRate: 0, seed: 9 }));
      spike.metrics[0][3] = 44; // 25 ± 2 °C sensor reads 44 °C: |z| ≈ 10, still physically possible
      const out = k.score(spike, state, DEFAULT_THRESHOLDS);
      assert.equal(out.priority[3], 3, k.impl);
      assert.equal(out.reasons[3], REASON.ZSCORE[0]);
      const after = state.baseline(3, 0);
      // Winsorised at high·sd: the mean moves by at most alpha · high · sd.
      assert.ok(Math.abs(after.mean - before.mean) <= 0.05 * 6 * Math.sqrt(before.variance) * (1 + 1e-12), k.impl);
    }
  });

  it('maps |z| to priorities with inclusive thresholds, physical limits to high and the sensor flag to medium', () => {
    const xs = [12.999, 13, 14.5, 16, 200, 10];
    const flags = [0, 0, 0, 0, 0, 1];
    for (const k of [wasm, ref]) {
      const state = new ScoreState();
      state.ensure(xs.length);
      for (let s = 0; s < xs.length; s++) {
        const b = s * 18;
        state.data[b] = 10; // mean of temperature
        state.data[b + 6] = 1; // variance
        state.data[b + 12] = 100; // count: warmed up
      }
      const nan = () => new Float64Array(xs.length).fill(NaN);
      const input = {
        slot: Int32Array.from(xs, (_x, i) => i),
        metrics: [Float64Array.from(xs), nan(), nan(), nan(), nan()],
        anomalyFlag: Float64Array.from(flags),
        physical: DEFAULT_LIMITS.ranges,
      };
      const out = k.score(input, state, DEFAULT_THRESHOLDS);
      assert.deepEqual([...out.priority], [0, 1, 2, 3, 3, 2], k.impl);
      assert.deepEqual([...out.reasons], [0, REASON.ZSCORE[0], REASON.ZSCORE[0], REASON.ZSCORE[0], REASON.PHYSICAL[0], REASON.SENSOR_FLAG]);
      assert.equal(out.score[4], DEFAULT_THRESHOLDS.high);
      assert.equal(out.score[5], DEFAULT_THRESHOLDS.medium);
      assert.equal(state.baseline(4, 0).count, 100, 'a physically impossible value does not update the baseline');
    }
  });

  it('continues from a persisted state exactly as without the round trip', () => {
    const b1 = scoreInputOf(syntheticBatch({ rows: 6000, sensors: 50, seed: 3 }));
    const b2 = scoreInputOf(syntheticBatch({ rows: 6000, sensors: 60, seed: 4 }));
    const straight = new ScoreState();
    wasm.score(b1, straight, DEFAULT_THRESHOLDS);
    const restored = ScoreState.fromJSON(JSON.parse(JSON.stringify(straight)));
    assert.deepEqual(wasm.score(b2, restored, DEFAULT_THRESHOLDS), wasm.score(b2, straight, DEFAULT_THRESHOLDS));
  });

  it('rejects a negative slot with the bad value in the message', () => {
    const input = scoreInputOf(syntheticBatch({ rows: 3, sensors: 3 }));
    const bad = { ...input, slot: Int32Array.from([0, -4, 1]) };
    for (const k of [wasm, ref]) assert.throws(() => k.score(bad, new ScoreState(), DEFAULT_THRESHOLDS), /slot ids must be ≥ 0, got -4/);
  });
});

/** Independent two-pass statistics of one (slot, window) from the raw columns. */
function twoPass(input: AggregateInput, slot: number, start: number, windowMs: number, m: number): { n: number; mean: number; sd: number; min: number; max: number } {
  const xs: number[] = [];
  for (let i = 0; i < input.id.length; i++) {
    const e = input.eventMs[i];
    const x = input.metrics[m][i];
    if (input.slot[i] === slot && e >= start && e < start + windowMs && Number.isFinite(x)) xs.push(x);
  }
  const mean = xs.reduce((a, x) => a + x, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / xs.length);
  return { n: xs.length, mean, sd, min: Math.min(...xs), max: Math.max(...xs) };
}

function close(a: number, b: number, what: string): void {
  assert.ok(a === b || Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);
}

describe('aggregate', () => {
  it('gives bit-identical partials in WASM and TypeScript on random batches with edge values', () => {
    for (let seed = 1; seed <= 24; seed++) {
      const rows = [0, 1, 2, 999, 30_000, 100_000][seed % 6];
      const input = aggregateInputOf(chaosBatch(rows, seed, [1, 7, 300][seed % 3]));
      assertSamePartials(wasm.aggregate(input, 300_000), ref.aggregate(input, 300_000));
    }
  });

  it('handles 10k sensors with out-of-order timestamps (the group table grows mid-batch)', () => {
    const input = aggregateInputOf(syntheticBatch({ rows: 200_000, sensors: 10_000, seed: 5, intervalMs: 20_000 }));
    const r = prng(11);
    for (let i = input.eventMs.length - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [input.eventMs[i], input.eventMs[j]] = [input.eventMs[j], input.eventMs[i]];
    }
    const a = wasm.aggregate(input, 300_000);
    assertSamePartials(a, ref.aggregate(input, 300_000));
    assert.ok(a.length > 10_000);
  });

  it('matches an independent two-pass computation within 1e-9 relative error', () => {
    const input = aggregateInputOf(chaosBatch(20_000, 77, 5));
    const parts = wasm.aggregate(input, 60_000);
    for (const p of parts.slice(0, 40)) {
      for (let m = 0; m < 5; m++) {
        const t = twoPass(input, p.slot, p.windowStartMs, 60_000, m);
        const s = p.metrics[m];
        assert.equal(s.n, t.n);
        if (t.n === 0) continue;
        close(s.mean, t.mean, 'mean');
        close(Math.sqrt(s.m2 / s.n), t.sd, 'stddev');
        assert.equal(s.min, t.min);
        assert.equal(s.max, t.max);
      }
    }
  });

  it('puts a timestamp exactly on a window edge into the window that starts there', () => {
    const edge = 300_000 * 5_000_000;
    const n = 4;
    const nan = () => new Float64Array(n).fill(NaN);
    const input = {
      id: Float64Array.from([1, 2, 3, 4]),
      eventMs: Float64Array.from([edge - 1, edge, edge + 299_999, NaN]),
      slot: new Int32Array(n),
      metrics: [Float64Array.from([1, 2, 3, 4]), nan(), nan(), nan(), nan()],
      score: new Float64Array(n),
      isAnomaly: new Uint8Array(n),
    };
    for (const k of [wasm, ref]) {
      const parts = k.aggregate(input, 300_000);
      assert.deepEqual(parts.map((p) => [p.windowStartMs, p.count, p.firstId, p.lastId]), [[edge - 300_000, 1, 1, 1], [edge, 2, 2, 3]], k.impl);
      assert.deepEqual(parts[1].metrics[1], { n: 0, mean: 0, m2: 0, min: Infinity, max: -Infinity }, 'an all-NaN metric stays empty');
    }
  });

  it('merges a window split over two batches into what one batch gives', () => {
    for (let seed = 1; seed <= 8; seed++) {
      const input = aggregateInputOf(chaosBatch(30_000, seed, 20));
      const cut = Math.floor(prng(seed)() * 30_000);
      const part = (s: number, e: number): AggregateInput => ({
        id: input.id.subarray(s, e), eventMs: input.eventMs.subarray(s, e), slot: input.slot.subarray(s, e),
        metrics: input.metrics.map((c) => c.subarray(s, e)), score: input.score.subarray(s, e), isAnomaly: input.isAnomaly.subarray(s, e),
      });
      const merged = new Map<string, WindowPartial>();
      for (const p of [...wasm.aggregate(part(0, cut), 300_000), ...wasm.aggregate(part(cut, 30_000), 300_000)]) {
        const key = `${p.slot}:${p.windowStartMs}`;
        const prev = merged.get(key);
        merged.set(key, prev ? mergePartials(prev, p) : p);
      }
      const whole = wasm.aggregate(input, 300_000);
      assert.equal(merged.size, whole.length);
      for (const w of whole) {
        const g = merged.get(`${w.slot}:${w.windowStartMs}`) as WindowPartial;
        assert.deepEqual([g.count, g.firstId, g.lastId, g.anomalyCount, g.maxScore], [w.count, w.firstId, w.lastId, w.anomalyCount, w.maxScore]);
        for (let m = 0; m < 5; m++) {
          assert.equal(g.metrics[m].n, w.metrics[m].n);
          // === rather than Object.is: min(-0, 0) may pick either zero depending on the order.
          assert.ok(g.metrics[m].min === w.metrics[m].min && g.metrics[m].max === w.metrics[m].max);
          if (w.metrics[m].n === 0) continue;
          close(g.metrics[m].mean, w.metrics[m].mean, 'merged mean');
          close(g.metrics[m].m2, w.metrics[m].m2, 'merged m2');
        }
      }
    }
  });

  it('finds the window by reciprocal plus one correction step exactly where floor(e / windowMs) puts it', () => {
    const r = prng(99);
    for (const w of [300_000, 60_000, 1000, 7, 1]) {
      for (let k = 0; k < 20_000; k++) {
        // Integer ms timestamps, many right at or next to a window edge.
        const edge = w * Math.floor(r() * 6e12 / w);
        const e = k % 2 === 0 ? edge + Math.floor(r() * 3) - 1 : Math.floor(r() * 4e12) - 1e12;
        assert.equal(windowStartOf(e, w, 1 / w), Math.floor(e / w) * w, `e ${e}, window ${w}`);
      }
    }
  });

  it('stays bit-identical to the reference with odd window lengths, huge and alternating timestamps', () => {
    for (const [seed, windowMs] of [[3, 7], [4, 0.3], [5, 1e-3], [6, 299_999.5], [7, 1e15]] as const) {
      const b = chaosBatch(5_000, seed, 9);
      const r = prng(seed);
      for (let i = 0; i < b.rows; i++) {
        if (r() < 0.05) b.eventMs[i] = [1e300, -1e300, 2 ** 53, -(2 ** 53), 5e-324][Math.floor(r() * 5)];
        // A sensor flapping between two windows: every row a cache miss.
        if (b.slot[i] === 0) b.eventMs[i] = i % 2 === 0 ? 10 * windowMs : 11 * windowMs;
      }
      const input = aggregateInputOf(b);
      assertSamePartials(wasm.aggregate(input, windowMs), ref.aggregate(input, windowMs));
    }
  });

  it('rejects a non-positive window length', () => {
    const input = aggregateInputOf(syntheticBatch({ rows: 2, sensors: 1 }));
    for (const k of [wasm, ref]) assert.throws(() => k.aggregate(input, 0), /windowMs must be a positive number, got 0/);
  });
});
