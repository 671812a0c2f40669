import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EARTH_RADIUS_M, loadKernels, sensorSeeds } from '../src/kernels/index.ts';
import type { FuzzInput, Kernels } from '../src/kernels/index.ts';
import { prng } from '../bench/synthetic.ts';

let wasm: Kernels;
let ref: Kernels;
before(async () => {
  wasm = await loadKernels('wasm');
  ref = await loadKernels('ts');
});

const RAD = Math.PI / 180;

/** Haversine distance in metres, written independently of the kernels. */
function haversine(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const a = Math.sin(((lat2 - lat1) * RAD) / 2) ** 2 + Math.cos(lat1 * RAD) * Math.cos(lat2 * RAD) * Math.sin(((lon2 - lon1) * RAD) / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(a)));
}

/** Random points including the poles, the antimeridian and invalid values; `sensors` slots with random seeds. */
function points(rows: number, sensors: number, seed: number): FuzzInput {
  const r = prng(seed);
  const special: Array<[number, number]> = [[90, 0], [-90, 45], [0, 180], [0, -180], [89.9999, 179.9999], [-45, -179.9999], [NaN, 0], [0, NaN], [91, 0], [0, -180.5]];
  const latitude = new Float64Array(rows);
  const longitude = new Float64Array(rows);
  const slot = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    slot[i] = Math.floor(r() * sensors);
    if (r() < 0.1) [latitude[i], longitude[i]] = special[Math.floor(r() * special.length)];
    else if (r() < 0.5 && i > 0) [latitude[i], longitude[i]] = [latitude[i - 1], longitude[i - 1]]; // exercise the per-slot cache
    else [latitude[i], longitude[i]] = [-90 + 180 * r(), -180 + 360 * r()];
  }
  const seeds = Float64Array.from({ length: 2 * sensors }, r);
  return { latitude, longitude, slot, seeds };
}

describe('fuzz', () => {
  it('moves every valid point by at most the radius, reports that distance and agrees between WASM and TypeScript', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const input = points(20_000, 37, seed);
      const radius = [0, 1, 1000, 50_000][seed % 4];
      const a = wasm.fuzz(input, radius);
      const b = ref.fuzz(input, radius);
      assert.deepEqual(a.fuzzed, b.fuzzed);
      for (let i = 0; i < input.slot.length; i++) {
        const la = input.latitude[i];
        const lo = input.longitude[i];
        const valid = la >= -90 && la <= 90 && lo >= -180 && lo <= 180;
        assert.equal(a.fuzzed[i], valid ? 1 : 0);
        if (!valid) {
          assert.ok(Number.isNaN(a.latitude[i]) && Number.isNaN(a.longitude[i]) && Number.isNaN(a.distanceM[i]));
          continue;
        }
        const d = haversine(la, lo, a.latitude[i], a.longitude[i]);
        assert.ok(d <= radius * (1 + 1e-6) + 1e-6, `row ${i}: moved ${d} m > ${radius} m`);
        assert.ok(Math.abs(d - a.distanceM[i]) <= 1e-6 * radius + 1e-6, `row ${i}: distance ${a.distanceM[i]} vs ${d}`);
        assert.ok(a.longitude[i] >= -180 && a.longitude[i] <= 180 && Math.abs(a.latitude[i]) <= 90);
        // Different trigonometry libraries (AssemblyScript's vs V8's) may differ in the last bits.
        assert.ok(Math.abs(a.latitude[i] - b.latitude[i]) < 1e-9, 'latitude');
        assert.ok(Math.abs(a.distanceM[i] - b.distanceM[i]) < 1e-6, 'distance');
        const dl = Math.abs(a.longitude[i] - b.longitude[i]);
        assert.ok(dl < 1e-9 || Math.abs(dl - 360) < 1e-9 || Math.abs(la) > 89.999, `longitude ${a.longitude[i]} vs ${b.longitude[i]}`);
      }
    }
  });

  it('keeps the mean of many readings of a sensor away from its true position', () => {
    const sensors = 200;
    const readings = 10_000;
    const seeds = sensorSeeds('fleet-key', Array.from({ length: sensors }, (_v, s) => `NEWY_${s}`));
    const r = prng(3);
    const slot = Int32Array.from({ length: sensors * readings }, (_v, i) => i % sensors);
    const truth = Float64Array.from({ length: 2 * sensors }, (_v, k) => (k % 2 === 0 ? -60 + 120 * r() : -180 + 360 * r()));
    const latitude = Float64Array.from(slot, (s) => truth[2 * s]);
    const longitude = Float64Array.from(slot, (s) => truth[2 * s + 1]);
    const out = wasm.fuzz({ latitude, longitude, slot, seeds }, 1000);
    let total = 0;
    for (let s = 0; s < sensors; s++) {
      let mlat = 0;
      let mlon = 0;
      for (let i = s; i < slot.length; i += sensors) {
        mlat += out.latitude[i];
        mlon += out.longitude[i];
      }
      total += haversine(truth[2 * s], truth[2 * s + 1], mlat / readings, mlon / readings);
    }
    assert.ok(total / sensors >= 500, `mean displacement ${total / sensors} m`);
  });

  it('derives the same offset from the same key and sensor, and a different one from another key', () => {
    const ids = ['NEWY_7K2QXB', 'LOND_1A2B3C'];
    assert.deepEqual(sensorSeeds('k1', ids), sensorSeeds(Buffer.from('k1'), ids));
    const a = sensorSeeds('k1', ids);
    const b = sensorSeeds('k2', ids);
    for (let k = 0; k < a.length; k++) {
      assert.ok(a[k] >= 0 && a[k] < 1);
      assert.notEqual(a[k], b[k]);
    }
    const input = { latitude: Float64Array.of(40.7, 40.7), longitude: Float64Array.of(-74, -74), slot: Int32Array.of(0, 0), seeds: a };
    const once = wasm.fuzz(input, 1000);
    assert.equal(once.latitude[0], once.latitude[1]);
    assert.deepEqual(wasm.fuzz(input, 1000), once);
    assert.notEqual(wasm.fuzz({ ...input, seeds: b }, 1000).latitude[0], once.latitude[0]);
  });

  it('rejects a slot without seeds and an empty key', () => {
    const input = { latitude: Float64Array.of(1), longitude: Float64Array.of(1), slot: Int32Array.of(2), seeds: new Float64Array(4) };
    for (const k of [wasm, ref]) assert.throws(() => k.fuzz(input, 10), /slot 2 has no seeds \(seeds cover 2 slots\)/);
    assert.throws(() => sensorSeeds('', ['x']), /must not be empty/);
  });
});
