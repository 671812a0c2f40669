import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { cpus, freemem, loadavg, totalmem, availableParallelism } from 'node:os';
import { delimiter, join } from 'node:path';
import type { NodeIdentity } from './identity.ts';

/** Where the node is (contract §5 `node_snapshot.location`); null fields were not configured. */
export interface NodeLocation {
  readonly city: string | null;
  readonly country: string | null;
  readonly region: string | null;
  readonly datacenter: string | null;
}

/** What the node looked like when it processed a batch (`_bacalhau_metadata.node_snapshot`). */
export interface NodeSnapshot {
  /** From the identity file's `node_type`, else `NODE_TYPE`; null when neither is set. */
  readonly node_type: string | null;
  /** Logical CPU cores: the identity file's `cpu_cores`, else the host's. */
  readonly cpu_cores: number;
  /** CPU model name; null when the host does not report one. */
  readonly cpu_model: string | null;
  /** Total memory, GB (10^9 bytes), two decimals: the identity file's `memory_gb`, else the host's. */
  readonly memory_gb: number;
  /** Free memory when taken, GB (10^9 bytes), two decimals. */
  readonly memory_free_gb: number;
  /** The identity file's `gpu_count`, else NVIDIA GPUs seen (`/proc/driver/nvidia/gpus`, else `nvidia-smi -L`); 0 when none or undetectable. */
  readonly gpu_count: number;
  /** 1, 5 and 15 minute load averages, two decimals. */
  readonly load_average: number[];
  /** Declared capabilities (identity file, `NODE_CAPABILITIES`) then detected ones (`wasm`, `wasm-simd`, `gpu`). */
  readonly capabilities: string[];
  readonly location: NodeLocation;
  /** When it was taken, ISO-8601 UTC with ms. */
  readonly taken_at: string;
}

/** Options of {@link NodeSnapshotter}. */
export interface SnapshotOptions {
  /** The node identity file, if any (`--node-identity`). */
  readonly identity?: NodeIdentity | null;
  /** Environment for `NODE_*` variables. Default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
  /** Oldest a snapshot may be before it is taken again, ms. Default 60 000. */
  readonly maxAgeMs?: number;
}

/** Default of `SnapshotOptions.maxAgeMs`: a minute, so follow mode sees load and memory move. */
export const SNAPSHOT_MAX_AGE_MS = 60_000;

/**
 * Takes node snapshots from the real machine, at most once per `maxAgeMs`: a batch reuses the
 * last one (same object, same JSON text) until it is older than that. Taking one never fails;
 * whatever cannot be found out is 0, null or absent.
 */
export class NodeSnapshotter {
  readonly #identity: NodeIdentity | null;
  readonly #env: NodeJS.ProcessEnv;
  readonly #maxAgeMs: number;
  #takenMs = -Infinity;
  #snapshot: NodeSnapshot | null = null;
  #json = '';

  constructor(opts: SnapshotOptions = {}) {
    this.#identity = opts.identity ?? null;
    this.#env = opts.env ?? process.env;
    this.#maxAgeMs = opts.maxAgeMs ?? SNAPSHOT_MAX_AGE_MS;
  }

  /** The current snapshot, taken again when the last one is older than `maxAgeMs`. */
  current(nowMs = Date.now()): NodeSnapshot {
    if (!this.#snapshot || nowMs - this.#takenMs >= this.#maxAgeMs) {
      this.#snapshot = takeSnapshot(this.#identity, this.#env, nowMs);
      this.#json = JSON.stringify(this.#snapshot);
      this.#takenMs = nowMs;
    }
    return this.#snapshot;
  }

  /** `JSON.stringify(current(nowMs))`, computed once per snapshot. */
  json(nowMs = Date.now()): string {
    this.current(nowMs);
    return this.#json;
  }
}

/** Takes one snapshot now (see {@link NodeSnapshot} for where each field comes from). */
export function takeSnapshot(identity: NodeIdentity | null, env: NodeJS.ProcessEnv = process.env, nowMs = Date.now()): NodeSnapshot {
  const cpuList = safe(() => cpus(), []);
  const gpus = identity?.gpu_count ?? gpuCount(env);
  const declared = [...(identity?.capabilities ?? []), ...(env.NODE_CAPABILITIES ?? '').split(',')].map((c) => c.trim()).filter(Boolean);
  const detected = ['wasm', ...(wasmSimd() ? ['wasm-simd'] : []), ...(gpus > 0 ? ['gpu'] : [])];
  const loc = identity?.location;
  return {
    node_type: identity?.node_type ?? pick(env.NODE_TYPE),
    cpu_cores: identity?.cpu_cores ?? (cpuList.length || safe(() => availableParallelism(), 1)),
    cpu_model: pick(cpuList[0]?.model),
    memory_gb: identity?.memory_gb ?? gb(safe(() => totalmem(), 0)),
    memory_free_gb: gb(safe(() => freemem(), 0)),
    gpu_count: gpus,
    load_average: safe(() => loadavg(), [0, 0, 0]).map((x) => Math.round(x * 100) / 100),
    capabilities: [...new Set([...declared, ...detected])],
    location: {
      city: loc?.city ?? pick(env.NODE_CITY),
      country: loc?.country ?? pick(env.NODE_COUNTRY),
      region: loc?.region ?? pick(env.NODE_REGION),
      datacenter: loc?.datacenter ?? pick(env.NODE_DATACENTER),
    },
    taken_at: new Date(nowMs).toISOString(),
  };
}

let gpusCached: number | undefined;

/**
 * NVIDIA GPUs of the host: the entries of `/proc/driver/nvidia/gpus`, else the `GPU n:` lines of
 * `nvidia-smi -L` when that tool is on PATH, else 0. Found once per process (hardware does not
 * change under a running job); any failure counts as no GPU.
 */
export function gpuCount(env: NodeJS.ProcessEnv = process.env): number {
  if (gpusCached !== undefined) return gpusCached;
  gpusCached = safe(() => {
    const proc = '/proc/driver/nvidia/gpus';
    if (existsSync(proc)) return readdirSync(proc).length;
    const smi = (env.PATH ?? '').split(delimiter).map((d) => join(d, 'nvidia-smi')).find((p) => p && existsSync(p));
    if (!smi) return 0;
    const out = execFileSync(smi, ['-L'], { encoding: 'utf8', timeout: 3000, stdio: ['ignore', 'pipe', 'ignore'] });
    return out.split('\n').filter((l) => /^GPU \d+/.test(l)).length;
  }, 0);
  return gpusCached;
}

// The smallest module using a v128 instruction (i8x16.splat … from wasm-feature-detect).
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);
let simdCached: boolean | undefined;

/** True when this runtime's WebAssembly accepts SIMD (v128) code, which the kernels use. */
export function wasmSimd(): boolean {
  // The tsconfig has no DOM lib, so WebAssembly is reached through globalThis with its one method typed.
  const wasm = (globalThis as unknown as { WebAssembly?: { validate(bytes: Uint8Array): boolean } }).WebAssembly;
  return (simdCached ??= safe(() => wasm?.validate(SIMD_PROBE) ?? false, false));
}

function gb(bytes: number): number {
  return Math.round(bytes / 1e7) / 100;
}

function pick(v: string | null | undefined): string | null {
  const t = v?.trim();
  return t ? t : null;
}

function safe<T>(f: () => T, fallback: T): T {
  try {
    return f();
  } catch {
    return fallback;
  }
}
