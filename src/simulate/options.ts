import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError } from '../errors.ts';
import { CITIES, type City } from './cities.ts';
import type { InvalidKind } from './invalid.ts';
import type { Placement } from './sensors.ts';

/** Options of `simulate()` (CLI: `edgelake simulate`). Give `rows` (backfill) or `durationMs` (live), not both. */
export interface SimulateOptions {
  /** SQLite file to write; created if missing, its directory must exist. CLI `--db`. */
  db: string;
  /** Number of simulated sensors, integer ≥ 1. Default 10. CLI `--sensors`. */
  sensors?: number;
  /** Live mode: rows per second, all sensors together, > 0. Default 100. CLI `--rate`. */
  rate?: number;
  /** Backfill: write this many rows (integer ≥ 0) as fast as possible with historical timestamps. CLI `--rows`. */
  rows?: number;
  /** Live mode: write for this many ms at `rate` with current timestamps. Default 60 000 when `rows` is not given. CLI `--duration`. */
  durationMs?: number;
  /** Fraction of rows flagged as anomalies, in [0, 1]. Default 0.05. CLI `--anomaly-rate`. */
  anomalyRate?: number;
  /** Seed of the pseudo-random streams, an integer. Default 42. CLI `--seed`. */
  seed?: number;
  /**
   * Fraction of rows written bad, in [0, 1]: NULLs, text in REAL columns, out-of-range and
   * physically impossible values, bad timestamps, impossible GPS (src/simulate/invalid.ts), each
   * breaking one validation rule. Deterministic under `seed`. Default 0. CLI `--invalid-rate`.
   */
  invalidRate?: number;
  /**
   * Pin the sensors to these cities (4-letter codes such as `PARI`, or names such as `Paris`,
   * any case), dealt round-robin, each within `spreadKm` of its city centre: sensors around an
   * edge node. Default: every sensor in a different city of a shuffled list, at the centre. CLI `--city`.
   */
  cities?: readonly string[];
  /** With `cities`: km from the city centre a sensor may be, > 0. Default 5. CLI `--spread-km`. */
  spreadKm?: number;
  /** Backfill: ms of event time the rows spread over, ending now. Default rows/sensors seconds (each sensor reads ~1/s), at least 1 h. */
  spanMs?: number;
  /** Backfill: epoch ms of the first event (the span then starts here instead of ending now); makes a run byte-reproducible. */
  startMs?: number;
  /** Stops the run early; the rows already committed stay, and the summary is returned (no rejection). */
  signal?: AbortSignal;
  /** Called with the number of rows written so far, at most ~10 times per second and once at the end. */
  onProgress?: (written: number) => void;
}

/** What a `simulate()` run did. */
export interface SimulateSummary {
  rowsWritten: number;
  /** `sensor_readings.id` of the first row written (0 when none). */
  firstId: number;
  /** `sensor_readings.id` of the last row written (0 when none). */
  lastId: number;
  /** Wall-clock duration of the run, ms. */
  elapsedMs: number;
  rowsPerSecond: number;
  /** Rows written with anomaly_flag = 1. */
  anomalies: number;
  /** Rows written bad (see `SimulateOptions.invalidRate`). */
  invalid: number;
  /** Bad rows by kind (kinds never drawn are absent). */
  invalidByKind: Partial<Record<InvalidKind, number>>;
}

/** Defaults of SimulateOptions, in one place. */
export const SIMULATE_DEFAULTS = {
  sensors: 10,
  rate: 100,
  durationMs: 60_000,
  anomalyRate: 0.05,
  seed: 42,
  invalidRate: 0,
  spreadKm: 5,
  /** Minimum default backfill span, ms. */
  minSpanMs: 3_600_000,
} as const;

/** SimulateOptions with defaults applied and the mode decided. */
export type ResolvedSimulateOptions =
  | (Common & { mode: 'backfill'; rows: number; spanMs?: number; startMs?: number })
  | (Common & { mode: 'live'; rate: number; durationMs: number });
interface Common {
  db: string;
  sensors: number;
  anomalyRate: number;
  seed: number;
  invalidRate: number;
  placement?: Placement;
  signal?: AbortSignal;
  onProgress?: (written: number) => void;
}

const KNOWN = new Set([
  'db', 'sensors', 'rate', 'rows', 'durationMs', 'anomalyRate', 'seed', 'invalidRate', 'cities', 'spreadKm', 'spanMs', 'startMs', 'signal', 'onProgress',
]);

function bad(option: string, flag: string, rule: string, value: unknown): ConfigError {
  const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
  const name = flag ? `${option} (${flag})` : option;
  return new ConfigError('simulate_option', `simulate: ${name} ${rule}, got ${shown}`);
}

function check(value: number | undefined, option: string, flag: string, ok: (x: number) => boolean, rule: string): void {
  if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value) || !ok(value))) {
    throw bad(option, flag, rule, value);
  }
}

/** Validates `opts` and applies SIMULATE_DEFAULTS; throws ConfigError naming the option and its value. */
export function resolveSimulateOptions(opts: SimulateOptions): ResolvedSimulateOptions {
  for (const key of Object.keys(opts)) {
    if (!KNOWN.has(key)) throw new ConfigError('simulate_option', `simulate: unknown option "${key}" (valid: ${[...KNOWN].join(', ')})`);
  }
  if (typeof opts.db !== 'string' || opts.db === '') throw bad('db', '--db', 'must be a file path', opts.db);
  if (opts.db !== ':memory:') {
    const dir = dirname(resolve(opts.db));
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      throw new ConfigError('simulate_db', `simulate: directory of --db ${opts.db} does not exist: ${dir}`);
    }
  }
  check(opts.sensors, 'sensors', '--sensors', (x) => Number.isInteger(x) && x >= 1, 'must be an integer >= 1');
  check(opts.rate, 'rate', '--rate', (x) => x > 0, 'must be a number of rows per second > 0');
  check(opts.rows, 'rows', '--rows', (x) => Number.isInteger(x) && x >= 0, 'must be an integer >= 0');
  check(opts.durationMs, 'durationMs', '--duration', (x) => x >= 0, 'must be a duration >= 0 ms');
  check(opts.anomalyRate, 'anomalyRate', '--anomaly-rate', (x) => x >= 0 && x <= 1, 'must be between 0 and 1');
  check(opts.seed, 'seed', '--seed', Number.isInteger, 'must be an integer');
  check(opts.invalidRate, 'invalidRate', '--invalid-rate', (x) => x >= 0 && x <= 1, 'must be between 0 and 1');
  check(opts.spreadKm, 'spreadKm', '--spread-km', (x) => x > 0 && x <= 500, 'must be a distance in km > 0 and <= 500');
  if (opts.spreadKm !== undefined && opts.cities === undefined) {
    throw new ConfigError('simulate_option', `simulate: spreadKm (--spread-km ${opts.spreadKm}) needs cities (--city): it is the distance from the city centre`);
  }
  check(opts.spanMs, 'spanMs', '', (x) => x > 0, 'must be > 0 ms');
  check(opts.startMs, 'startMs', '', () => true, 'must be epoch milliseconds');
  if (opts.rows !== undefined && opts.durationMs !== undefined) {
    throw new ConfigError(
      'simulate_option',
      `simulate: give either rows (--rows ${opts.rows}) or durationMs (--duration ${opts.durationMs} ms), not both`,
    );
  }
  const common: Common = {
    db: opts.db,
    sensors: opts.sensors ?? SIMULATE_DEFAULTS.sensors,
    anomalyRate: opts.anomalyRate ?? SIMULATE_DEFAULTS.anomalyRate,
    seed: opts.seed ?? SIMULATE_DEFAULTS.seed,
    invalidRate: opts.invalidRate ?? SIMULATE_DEFAULTS.invalidRate,
    placement: opts.cities === undefined ? undefined : { cities: resolveCities(opts.cities), spreadKm: opts.spreadKm ?? SIMULATE_DEFAULTS.spreadKm },
    signal: opts.signal,
    onProgress: opts.onProgress,
  };
  if (opts.rows !== undefined) return { ...common, mode: 'backfill', rows: opts.rows, spanMs: opts.spanMs, startMs: opts.startMs };
  return {
    ...common,
    mode: 'live',
    rate: opts.rate ?? SIMULATE_DEFAULTS.rate,
    durationMs: opts.durationMs ?? SIMULATE_DEFAULTS.durationMs,
  };
}

/** The cities named by code or name (any case); ConfigError naming an unknown one and listing the codes. */
function resolveCities(names: readonly string[]): City[] {
  if (!Array.isArray(names) || names.length === 0) throw bad('cities', '--city', 'must name at least one city', names);
  return names.map((n) => {
    const key = typeof n === 'string' ? n.trim().toLowerCase() : '';
    const city = CITIES.find((c) => c.code.toLowerCase() === key || c.name.toLowerCase() === key);
    if (!city) {
      throw new ConfigError('simulate_option', `simulate: cities (--city) has unknown city ${JSON.stringify(n)}; known codes: ${CITIES.map((c) => c.code).join(', ')}`);
    }
    return city;
  });
}
