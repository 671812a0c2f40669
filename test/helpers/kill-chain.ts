/**
 * Kill chains: one database and one lake, `run --once` started again and again, each start
 * killed at a different place — a named crash point (`EDGELAKE_CRASH_AT=<point>:<n>`, src/faults.ts)
 * or a SIGKILL from outside a moment after the run made progress — then one plain rerun to the
 * end. Every restart begins where the last one died (often with a pending batch to replay), so
 * one chain tests crashes inside replays, too. Shared by test/kill.test.ts and bench/kill.ts.
 */
import { existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { CRASH_POINTS, type CrashPoint } from '../../src/faults.ts';
import { simulate } from '../../src/simulate/index.ts';
import { READING_COLUMNS, SENSOR_READINGS_DDL } from '../../src/source/schema.ts';
import type { PipelineType } from '../../src/state/pipeline-types.ts';
import { describeResult, type CliResult } from './cli.ts';
import { spawnBuilt } from './built-cli.ts';

/**
 * The source of a kill chain at `db`: `rows` simulated readings (12 sensors, ~1 reading per
 * sensor per second, fixed seed), re-inserted so that every `lateEvery`-th row gets an id about
 * 4 minutes of readings later than its timestamp. With the default 1-minute lateness those rows
 * reach already emitted windows, so the aggregated stage writes corrections while being killed.
 */
export async function killSource(db: string, rows: number, lateEvery = 53): Promise<void> {
  const sim = `${db}.sim`;
  await simulate({ db: sim, rows, sensors: 12, startMs: Date.UTC(2025, 7, 15), seed: 11 });
  const cols = READING_COLUMNS.map((c) => `"${c.name}"`).filter((c) => c !== '"id"').join(', ');
  const h = new Database(db);
  try {
    h.pragma('journal_mode = WAL');
    h.exec(SENSOR_READINGS_DDL);
    h.prepare('ATTACH DATABASE ? AS sim').run(sim);
    h.exec(`INSERT INTO sensor_readings (${cols}) SELECT ${cols} FROM sim.sensor_readings ORDER BY CASE WHEN id % ${lateEvery} = 0 THEN id + 3000 ELSE id END, id`);
    h.exec('DETACH DATABASE sim');
  } finally {
    h.close();
  }
  for (const suffix of ['', '-wal', '-shm']) rmSync(sim + suffix, { force: true });
}

/** Where one start of the chain dies: at the n-th pass of a crash point, or by SIGKILL `timerMs` after its first commit. */
export type KillPoint = { readonly crash: CrashPoint; readonly nth: number } | { readonly timerMs: number };

/** Readable form of a kill point (`batch-uploaded:2`, `timer+40ms`). */
export function describeKill(k: KillPoint): string {
  return 'crash' in k ? `${k.crash}:${k.nth}` : `timer+${k.timerMs}ms`;
}

/**
 * A reproducible schedule of `count` kill points from `seed`: the four crash points in turn with
 * n in 1..3 (1..6 for object-written, which every data, metrics and alert object passes), and
 * every `timerEvery`-th point a timer kill 0–60 ms after the start's first commit (small: a fast
 * stage lands thousands of rows in 60 ms, and the chain must not run out of work).
 */
export function killSchedule(count: number, seed: number, timerEvery = 6): KillPoint[] {
  let s = seed >>> 0 || 1;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const out: KillPoint[] = [];
  for (let i = 0; i < count; i++) {
    if (i % timerEvery === timerEvery - 1) out.push({ timerMs: Math.floor(rnd() * 60) });
    else {
      const crash = CRASH_POINTS[i % CRASH_POINTS.length];
      out.push({ crash, nth: 1 + Math.floor(rnd() * (crash === 'object-written' ? 6 : 3)) });
    }
  }
  return out;
}

/** Options of {@link runKillChain}. */
export interface KillChainOptions {
  /** Sensor database (also the state database). */
  readonly db: string;
  /** Lake folder. */
  readonly lake: string;
  /** The stage every start runs (`--type`). */
  readonly stage: PipelineType;
  /** `--batch-size`: small batches give many commits to die between. */
  readonly batchSize: number;
  readonly kills: readonly KillPoint[];
  /** `--node-id`. Default `killer`. */
  readonly nodeId?: string;
  /** Run the alert router beside the stage (the default of `run`); false adds `--no-alerts`. Default true. */
  readonly alerts?: boolean;
}

/** One start of the chain and the state it left. */
export interface KillStep {
  readonly kill: string;
  /** `killed`, or `finished` when the run completed before the kill point came. */
  readonly outcome: 'killed' | 'finished';
  /** Live checkpoint after the step. */
  readonly checkpoint: number;
  /** Last id of the pending batch left behind, or null. */
  readonly pending: number | null;
  readonly ms: number;
}

/** What a chain did. */
export interface KillChainResult {
  readonly steps: KillStep[];
  /** Starts that died by SIGKILL. */
  readonly killed: number;
  /** The final plain rerun. */
  readonly final: CliResult;
  readonly finalMs: number;
}

/** The live checkpoint and its pending intent (0 and null before the first run created the state). */
export function liveCursor(db: string): { lastId: number; pending: { afterId: number; lastId: number; type: string } | null } {
  if (!existsSync(db)) return { lastId: 0, pending: null };
  const h = new Database(db, { readonly: true, fileMustExist: true });
  try {
    h.pragma('busy_timeout = 10000');
    const row = h.prepare("SELECT last_id, pending FROM edgelake_checkpoints WHERE cursor = 'live'").get() as { last_id: number; pending: string | null } | undefined;
    // A cursor that has read nothing sits below every id (BEFORE_FIRST_ID): for these tables, whose ids start at 1, that is 0.
    const fromStart = (id: number) => (id === Number.MIN_SAFE_INTEGER ? 0 : id);
    const lastId = row === undefined ? 0 : fromStart(row.last_id);
    const pending = row?.pending ? JSON.parse(row.pending) : null;
    if (pending) pending.afterId = fromStart(pending.afterId);
    return { lastId, pending };
  } catch (err) {
    if (/no such table/.test((err as Error).message)) return { lastId: 0, pending: null };
    throw err;
  } finally {
    h.close();
  }
}

/**
 * The timer kill runs in a worker thread with its own event loop: the test process may be busy
 * (another chain verifying its lake, a simulation) and would fire late, after a fast stage had
 * finished everything. The worker polls the live checkpoint on one read-only connection, and
 * `delayMs` after the run's first commit SIGKILLs it. Plain CommonJS, no tsx: it must start fast.
 */
const TIMER_KILLER = `
const { workerData: w } = require('node:worker_threads');
const Database = require(w.sqlite);
const nap = new Int32Array(new SharedArrayBuffer(4));
const sleep = (ms) => Atomics.wait(nap, 0, 0, ms);
const alive = () => { try { process.kill(w.pid, 0); return true; } catch { return false; } };
let h = null;
let stmt = null;
const committed = () => {
  try {
    h ??= new Database(w.db, { readonly: true, fileMustExist: true });
    stmt ??= h.prepare("SELECT last_id FROM edgelake_checkpoints WHERE cursor = 'live'").pluck();
    return Number(stmt.get() ?? 0);
  } catch {
    return 0; // no state tables before the first run created them
  }
};
while (alive()) {
  if (committed() > w.before) {
    sleep(w.delayMs);
    if (alive()) process.kill(w.pid, 'SIGKILL');
    break;
  }
  sleep(2);
}
if (h) h.close();
`;

const SQLITE_MODULE = createRequire(import.meta.url).resolve('better-sqlite3');

/** Starts the timer killer for `pid`; resolves when it is done (fired, or the child was gone). */
function timerKill(db: string, pid: number, before: number, delayMs: number): Promise<void> {
  const worker = new Worker(TIMER_KILLER, { eval: true, execArgv: [], workerData: { db, pid, before, delayMs, sqlite: SQLITE_MODULE } });
  return new Promise((resolve, reject) => {
    worker.once('error', reject);
    worker.once('exit', () => resolve());
  });
}

/**
 * Runs the chain: each kill point in turn (a start that ends otherwise than by SIGKILL or exit 0
 * throws), checking after every death that the checkpoint never went back and that a pending
 * intent starts right after it; then one rerun without faults, which must exit 0.
 */
export async function runKillChain(opts: KillChainOptions): Promise<KillChainResult> {
  const args = ['run', '--once', '--db', opts.db, '--lake', opts.lake, '--type', opts.stage, '--batch-size', String(opts.batchSize)];
  args.push('--node-id', opts.nodeId ?? 'killer', '--no-progress');
  if (opts.alerts === false) args.push('--no-alerts');
  const steps: KillStep[] = [];
  let before = liveCursor(opts.db).lastId;
  for (const k of opts.kills) {
    const t0 = performance.now();
    const env = { EDGELAKE_CRASH_AT: 'crash' in k ? `${k.crash}:${k.nth}` : undefined };
    const run = spawnBuilt(args, { env, timeoutMs: 60_000 });
    const killer = 'timerMs' in k ? timerKill(opts.db, run.child.pid!, before, k.timerMs) : null;
    const r = await run.exited;
    await killer;
    if (r.signal !== 'SIGKILL' && r.code !== 0) throw new Error(`start ${steps.length + 1} (${describeKill(k)}) failed: ${describeResult(r)}`);
    const cur = liveCursor(opts.db);
    const step: KillStep = {
      kill: describeKill(k),
      outcome: r.signal === 'SIGKILL' ? 'killed' : 'finished',
      checkpoint: cur.lastId,
      pending: cur.pending?.lastId ?? null,
      ms: Math.round(performance.now() - t0),
    };
    steps.push(step);
    const where = `after start ${steps.length} (${step.kill})`;
    if (cur.lastId < before) throw new Error(`${where}: the checkpoint went back from ${before} to ${cur.lastId}`);
    if (cur.pending && (cur.pending.afterId !== cur.lastId || cur.pending.type !== opts.stage)) {
      throw new Error(`${where}: pending intent ${JSON.stringify(cur.pending)} does not start at the checkpoint ${cur.lastId} of stage ${opts.stage}`);
    }
    before = cur.lastId;
  }
  const t0 = performance.now();
  const final = await spawnBuilt(args, { env: { EDGELAKE_CRASH_AT: undefined }, timeoutMs: 120_000 }).exited;
  const finalMs = Math.round(performance.now() - t0);
  if (final.code !== 0) throw new Error(`the final rerun failed: ${describeResult(final)}`);
  return { steps, killed: steps.filter((s) => s.outcome === 'killed').length, final, finalMs };
}

/** The steps on one line (`point→cp N+pending≤M ms | …`), for t.diagnostic and the benchmark's log. */
export function describeChain(r: KillChainResult): string {
  return r.steps.map((s) => `${s.kill}→${s.outcome === 'killed' ? '' : 'FINISHED '}cp ${s.checkpoint}${s.pending ? `+pending≤${s.pending}` : ''} ${s.ms}ms`).join(' | ');
}
