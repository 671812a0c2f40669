import { readFile } from 'node:fs/promises';
import { Arena } from './arena.ts';
import type { WasmMemory } from './arena.ts';
import { SLOT_STRIDE } from './score-state.ts';
import type { ScoreState } from './score-state.ts';
import type {
  AggregateInput,
  FuzzInput,
  FuzzOutput,
  Kernels,
  ScoreInput,
  ScoreOutput,
  ScoreThresholds,
  ValidateInput,
  ValidationLimits,
  WindowPartial,
} from './types.ts';
import { checkLengths, checkMetrics } from './ref/check.ts';

/**
 * Rows copied into linear memory per kernel call. Small enough that a chunk's columns are still
 * in cache when the kernel reads them (10 columns × 32 Ki rows × 8 B = 2.5 MiB), large enough to
 * make the per-call overhead vanish.
 */
const CHUNK = 32768;
/** Bytes per aggregation record (layout in assembly/aggregate.ts). */
const REC_BYTES = 256;
const REC_F64 = REC_BYTES / 8;

/** The exports of build/kernels.wasm (see assembly/index.ts). */
interface WasmExports {
  memory: WasmMemory;
  heapBase(): number;
  slotMax(ptr: number, n: number): number;
  slotMin(): number;
  validate(n: number, ev: number, metrics: number, stride: number, lat: number, lon: number, st: number, fl: number, out: number, limits: number): void;
  score(n: number, slot: number, metrics: number, stride: number, flag: number, state: number, params: number, oScore: number, oReasons: number, oPriority: number): void;
  aggregate(n: number, start: number, id: number, ev: number, slot: number, metrics: number, stride: number, score: number, anom: number, windowMs: number, cache: number, index: number, cap: number, recs: number, recCap: number, used: number): number;
  aggRehash(recs: number, count: number, index: number, cap: number): void;
  aggRecords(): number;
  fuzz(n: number, lat: number, lon: number, slot: number, pre: number, cache: number, oLat: number, oLon: number, oDist: number, oFuzzed: number): void;
  fuzzPrepare(slots: number, seeds: number, pre: number, radiusM: number): void;
}

/** The global WebAssembly API, typed locally (lib ES2023 without DOM declares none). */
interface WasmApi {
  compile(bytes: Uint8Array): Promise<object>;
  instantiate(module: object, imports: object): Promise<{ exports: object }>;
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

let compiled: Promise<object> | undefined;

/** Compiles build/kernels.wasm once per thread; resolves next to this file from src/ (tsx) and build/ (tsc). */
function wasmModule(): Promise<object> {
  compiled ??= readFile(new URL('../../build/kernels.wasm', import.meta.url)).then(
    (bytes) => wasmApi.compile(bytes),
    (err: unknown) => {
      compiled = undefined;
      throw new Error(`cannot load build/kernels.wasm (run \`npm run build:wasm\`): ${String(err)}`, { cause: err });
    },
  );
  return compiled;
}

/** Instantiates the WASM kernels with their own memory. */
export async function loadWasmKernels(): Promise<Kernels> {
  const instance = await wasmApi.instantiate(await wasmModule(), { env: { abort: wasmAbort } });
  return new WasmKernels(instance.exports as unknown as WasmExports);
}

function wasmAbort(): never {
  throw new Error('WASM kernel aborted');
}

/** Checks a chunk's slot ids already copied at `ptr`: ≥ 0; returns the largest. */
function chunkSlotMax(x: WasmExports, kernel: string, ptr: number, len: number): number {
  const max = x.slotMax(ptr, len);
  const min = x.slotMin();
  if (min < 0) throw new RangeError(`${kernel}: slot ids must be ≥ 0, got ${min}`);
  return max;
}

class WasmKernels implements Kernels {
  readonly impl = 'wasm' as const;
  readonly #x: WasmExports;
  readonly #arena: Arena;

  constructor(exports: WasmExports) {
    this.#x = exports;
    this.#arena = new Arena(exports.memory, exports.heapBase());
  }

  validate(input: ValidateInput, limits: ValidationLimits): Uint32Array {
    const n = input.eventMs.length;
    const { latitude: lat, longitude: lon, statusCode: st, anomalyFlag: fl, eventMs: ev } = input;
    checkLengths('validate', n, { latitude: lat, longitude: lon, statusCode: st, anomalyFlag: fl });
    checkMetrics('validate', n, input.metrics);
    const out = new Uint32Array(n);
    if (n === 0) return out;
    const a = this.#arena;
    a.reset();
    const c = Math.min(CHUNK, n + (n & 1)); // even: the kernel does two rows per step
    const pEv = a.alloc(c * 8), pMet = a.alloc(5 * c * 8), pLat = a.alloc(c * 8), pLon = a.alloc(c * 8);
    const pSt = a.alloc(c * 8), pFl = a.alloc(c * 8), pOut = a.alloc(c * 4), pLim = a.alloc(14 * 8);
    const lim = a.f64(pLim, 14);
    for (let m = 0; m < 5; m++) {
      lim[2 * m] = limits.ranges[m][0];
      lim[2 * m + 1] = limits.ranges[m][1];
    }
    lim.set([input.nowMs + limits.maxFutureMs, limits.minEventMs, limits.collapseVoltage, limits.collapseVibration], 10);
    const vEv = a.f64(pEv, c), vMet = a.f64(pMet, 5 * c), vLat = a.f64(pLat, c), vLon = a.f64(pLon, c);
    const vSt = a.f64(pSt, c), vFl = a.f64(pFl, c), vOut = a.u32(pOut, c);
    for (let s = 0; s < n; s += c) {
      const e = Math.min(n, s + c);
      vEv.set(ev.subarray(s, e));
      for (let m = 0; m < 5; m++) vMet.set(input.metrics[m].subarray(s, e), m * c);
      vLat.set(lat.subarray(s, e));
      vLon.set(lon.subarray(s, e));
      vSt.set(st.subarray(s, e));
      vFl.set(fl.subarray(s, e));
      this.#x.validate(e - s, pEv, pMet, c * 8, pLat, pLon, pSt, pFl, pOut, pLim);
      out.set(vOut.subarray(0, e - s), s);
    }
    return out;
  }

  score(input: ScoreInput, state: ScoreState, t: ScoreThresholds): ScoreOutput {
    const n = input.slot.length;
    checkLengths('score', n, { anomalyFlag: input.anomalyFlag });
    checkMetrics('score', n, input.metrics);
    const score = new Float64Array(n);
    const reasons = new Uint32Array(n);
    const priority = new Uint8Array(n);
    if (n === 0) return { score, reasons, priority };
    const x = this.#x;
    const a = this.#arena;
    a.reset();
    const c = Math.min(CHUNK, n);
    const pSlot = a.alloc(c * 4), pMet = a.alloc(5 * c * 8), pFlag = a.alloc(c * 8), pPar = a.alloc(15 * 8);
    const pScore = a.alloc(c * 8), pReasons = a.alloc(c * 4), pPrio = a.alloc(c);
    const par = a.f64(pPar, 15);
    par.set([t.low, t.medium, t.high, state.alpha, state.warmup]);
    for (let m = 0; m < 5; m++) {
      par[5 + 2 * m] = input.physical[m][0];
      par[6 + 2 * m] = input.physical[m][1];
    }
    let slots = state.slots;
    let pState = a.alloc(slots * SLOT_STRIDE * 8);
    a.f64(pState, slots * SLOT_STRIDE).set(state.data);
    for (let s = 0; s < n; s += c) {
      const e = Math.min(n, s + c);
      a.i32(pSlot, c).set(input.slot.subarray(s, e));
      const max = chunkSlotMax(x, 'score', pSlot, e - s);
      if (max >= slots) {
        // A new sensor: hand the state back to the JS object, grow it there, copy it in again.
        state.data.set(a.f64(pState, slots * SLOT_STRIDE));
        state.ensure(max + 1);
        slots = state.slots;
        pState = a.alloc(slots * SLOT_STRIDE * 8);
        a.f64(pState, slots * SLOT_STRIDE).set(state.data);
      }
      const vMet = a.f64(pMet, 5 * c);
      for (let m = 0; m < 5; m++) vMet.set(input.metrics[m].subarray(s, e), m * c);
      a.f64(pFlag, c).set(input.anomalyFlag.subarray(s, e));
      x.score(e - s, pSlot, pMet, c * 8, pFlag, pState, pPar, pScore, pReasons, pPrio);
      score.set(a.f64(pScore, e - s), s);
      reasons.set(a.u32(pReasons, e - s), s);
      priority.set(a.u8(pPrio, e - s), s);
    }
    state.data.set(a.f64(pState, slots * SLOT_STRIDE));
    return { score, reasons, priority };
  }

  aggregate(input: AggregateInput, windowMs: number): WindowPartial[] {
    if (!(windowMs > 0 && Number.isFinite(windowMs))) throw new RangeError(`aggregate: windowMs must be a positive number, got ${windowMs}`);
    const n = input.id.length;
    const { eventMs: ev, slot, score, isAnomaly, id } = input;
    checkLengths('aggregate', n, { eventMs: ev, slot, score, isAnomaly });
    checkMetrics('aggregate', n, input.metrics);
    if (n === 0) return [];
    const x = this.#x;
    const a = this.#arena;
    a.reset();
    const c = Math.min(CHUNK, n);
    const pId = a.alloc(c * 8), pEv = a.alloc(c * 8), pSlot = a.alloc(c * 4), pMet = a.alloc(5 * c * 8);
    const pScore = a.alloc(c * 8), pAnom = a.alloc(c);
    let slots = 0;
    let pCache = a.alloc(0);
    let cap = 1024;
    let pIndex = a.alloc(cap * 4);
    // Records start on a cache line: each then spans exactly 4 lines.
    let pRecs = alignRecs(a.alloc((cap / 2) * REC_BYTES + 48));
    a.u8(pIndex, cap * 4).fill(0);
    let used = 0;
    for (let s = 0; s < n; s += c) {
      const e = Math.min(n, s + c);
      a.i32(pSlot, c).set(slot.subarray(s, e));
      const max = chunkSlotMax(x, 'aggregate', pSlot, e - s);
      if (max >= slots) {
        const grown = Math.max(max + 1, slots * 2);
        const p = a.alloc(grown * 4);
        const cache = a.i32(p, grown);
        cache.set(a.i32(pCache, slots));
        cache.fill(0, slots);
        pCache = p;
        slots = grown;
      }
      a.f64(pId, c).set(id.subarray(s, e));
      a.f64(pEv, c).set(ev.subarray(s, e));
      const vMet = a.f64(pMet, 5 * c);
      for (let m = 0; m < 5; m++) vMet.set(input.metrics[m].subarray(s, e), m * c);
      a.f64(pScore, c).set(score.subarray(s, e));
      a.u8(pAnom, c).set(isAnomaly.subarray(s, e));
      let start = 0;
      for (;;) {
        start = x.aggregate(e - s, start, pId, pEv, pSlot, pMet, c * 8, pScore, pAnom, windowMs, pCache, pIndex, cap, pRecs, cap / 2, used);
        used = x.aggRecords();
        if (start === e - s) break;
        // Full: double the index and the records, keep record numbers (the slot cache stays valid).
        cap *= 2;
        const nIndex = a.alloc(cap * 4);
        const nRecs = alignRecs(a.alloc((cap / 2) * REC_BYTES + 48));
        const bytes = a.u8(0, a.capacity);
        bytes.copyWithin(nRecs, pRecs, pRecs + used * REC_BYTES);
        bytes.fill(0, nIndex, nIndex + cap * 4);
        x.aggRehash(nRecs, used, nIndex, cap);
        pIndex = nIndex;
        pRecs = nRecs;
      }
    }
    return readPartials(a.f64(pRecs, used * REC_F64), used);
  }

  fuzz(input: FuzzInput, radiusM: number): FuzzOutput {
    if (!(radiusM >= 0 && radiusM < Infinity)) throw new RangeError(`fuzz: radiusM must be a finite number ≥ 0, got ${radiusM}`);
    const n = input.slot.length;
    const { latitude: lat, longitude: lon, slot, seeds } = input;
    checkLengths('fuzz', n, { latitude: lat, longitude: lon });
    const out = { latitude: new Float64Array(n), longitude: new Float64Array(n), distanceM: new Float64Array(n), fuzzed: new Uint8Array(n) };
    if (n === 0) return out;
    const x = this.#x;
    const a = this.#arena;
    a.reset();
    const slots = seeds.length >> 1;
    const c = Math.min(CHUNK, n);
    const pLat = a.alloc(c * 8), pLon = a.alloc(c * 8), pSlot = a.alloc(c * 4);
    const pOLat = a.alloc(c * 8), pOLon = a.alloc(c * 8), pODist = a.alloc(c * 8), pOF = a.alloc(c);
    const pSeeds = a.alloc(slots * 16), pPre = a.alloc(slots * 32), pCache = a.alloc(slots * 40);
    a.f64(pSeeds, 2 * slots).set(seeds.subarray(0, 2 * slots));
    a.f64(pCache, 5 * slots).fill(NaN);
    x.fuzzPrepare(slots, pSeeds, pPre, radiusM);
    const vLat = a.f64(pLat, c), vLon = a.f64(pLon, c), vSlot = a.i32(pSlot, c);
    const vOLat = a.f64(pOLat, c), vOLon = a.f64(pOLon, c), vODist = a.f64(pODist, c), vOF = a.u8(pOF, c);
    for (let s = 0; s < n; s += c) {
      const e = Math.min(n, s + c);
      const len = e - s;
      vSlot.set(slot.subarray(s, e));
      const max = chunkSlotMax(x, 'fuzz', pSlot, len);
      if (max >= slots) throw new RangeError(`fuzz: slot ${max} has no seeds (seeds cover ${slots} slots)`);
      vLat.set(lat.subarray(s, e));
      vLon.set(lon.subarray(s, e));
      x.fuzz(len, pLat, pLon, pSlot, pPre, pCache, pOLat, pOLon, pODist, pOF);
      out.latitude.set(vOLat.subarray(0, len), s);
      out.longitude.set(vOLon.subarray(0, len), s);
      out.distanceM.set(vODist.subarray(0, len), s);
      out.fuzzed.set(vOF.subarray(0, len), s);
    }
    return out;
  }
}

/** Rounds an arena address (16-byte aligned) up to a 64-byte cache line. */
function alignRecs(ptr: number): number {
  return Math.ceil(ptr / 64) * 64;
}

/** Turns `count` records (REC_F64 f64 each, layout in assembly/aggregate.ts) into WindowPartial objects. */
function readPartials(r: Float64Array, count: number): WindowPartial[] {
  const out: WindowPartial[] = new Array(count);
  for (let k = 0; k < count; k++) {
    const b = k * REC_F64;
    const metrics = [];
    for (let m = 0; m < 4; m++) {
      metrics.push({ n: r[b + 12 + m], mean: r[b + 16 + m], m2: r[b + 20 + m], min: r[b + 24 + m], max: r[b + 28 + m] });
    }
    metrics.push({ n: r[b + 7], mean: r[b + 8], m2: r[b + 9], min: r[b + 10], max: r[b + 11] });
    out[k] = {
      slot: r[b],
      windowStartMs: r[b + 1],
      count: r[b + 2],
      firstId: r[b + 3],
      lastId: r[b + 4],
      anomalyCount: r[b + 5],
      maxScore: r[b + 6],
      metrics,
    };
  }
  return out;
}
