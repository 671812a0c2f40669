import Database from 'better-sqlite3';
import { closeSync, openSync } from 'node:fs';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError, PipelineError } from '../errors.ts';

/**
 * One `run` per state at a time (contract §2). The claim is an exclusive SQLite lock on a small
 * file beside the state database (`<state>.lock`), taken with `locking_mode = EXCLUSIVE` and
 * `BEGIN EXCLUSIVE` and then simply kept: SQLite holds it until the connection closes, and the
 * operating system drops it when the process dies, however it dies (SIGKILL, OOM, power).
 *
 * Why this and not the alternatives: a lease row renewed by the holder needs a clock and a
 * timeout, so a killed holder blocks its successor for a lease period and a paused one (a stopped
 * container, a long GC) can lose its lease while it still uploads; `flock` has no binding in
 * Node without a native addon. SQLite's own file lock needs neither, works across processes and
 * between connections of one process, and is the lock the state itself already relies on. It is
 * a separate file so that holding it never blocks the sensor writers or `pipeline set`, which
 * use the state database. A broken lock (someone deleted the file under a holder) is still caught
 * by the checkpoint's compare-and-swap (StateStore.commitBatch).
 *
 * Who holds it is written beside it as a settings row of the state (the lock file itself cannot
 * be read while it is held), so a refused run can name the holder.
 */

/** Who holds a state: written by the holder once it has the lock. */
export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  /** ISO time the holder took the lock. */
  readonly since: string;
  /** The holder's command, without flags' values. */
  readonly command: string;
}

/** Where the holder is recorded: the state's settings (see StateStore.getSetting). */
export interface HolderStore {
  getSetting(name: string): string | null;
  setSetting(name: string, value: string): void;
}

/** Name of the settings row that names the holder. */
export const HOLDER_SETTING = 'run_holder';

/** Options of {@link RunLock.acquire}. */
export interface RunLockOptions {
  /** Absolute path of the state database; the lock is `<statePath>.lock`. */
  readonly statePath: string;
  /** Where the holder is recorded and read from. */
  readonly holders: HolderStore;
  /** How long to wait for a holder to finish, ms (`--wait-lock`). Default 0: refuse at once. */
  readonly waitMs?: number;
  /** Aborting stops the wait (a SIGTERM while waiting). */
  readonly signal?: AbortSignal;
  /** Told once when the run starts waiting. */
  readonly onWait?: (holder: LockHolder | null) => void;
  /** The command to record, e.g. `run --once`. Default `run`. */
  readonly command?: string;
}

/** Poll interval while waiting for a holder, ms. */
const WAIT_POLL_MS = 200;

/** An exclusive claim on a state; release() (or the process's death) gives it up. */
export class RunLock {
  readonly path: string;
  readonly #db: Database.Database;

  private constructor(path: string, db: Database.Database) {
    this.path = path;
    this.#db = db;
  }

  /**
   * Takes the claim, waiting up to `waitMs` for a holder to finish. Rejects with a ConfigError
   * (exit 2) that names the holder and how long this run waited, or a PipelineError when the lock
   * file cannot be created.
   */
  static async acquire(opts: RunLockOptions): Promise<RunLock> {
    const path = `${opts.statePath}.lock`;
    const waitMs = opts.waitMs ?? 0;
    const t0 = performance.now();
    let told = false;
    for (;;) {
      const lock = RunLock.#tryTake(path);
      if (lock) {
        const holder: LockHolder = { pid: process.pid, host: hostname(), since: new Date().toISOString(), command: opts.command ?? 'run' };
        try {
          opts.holders.setSetting(HOLDER_SETTING, JSON.stringify(holder));
        } catch {
          // Naming the holder is a courtesy to a refused run; the claim itself is the lock.
        }
        return lock;
      }
      const waited = performance.now() - t0;
      const holder = readHolder(opts.holders);
      if (waited >= waitMs || opts.signal?.aborted) {
        throw new ConfigError(
          'STATE_LOCKED',
          `another edgelake run holds the state ${opts.statePath}${holder ? ` (${describeHolder(holder)})` : ''}; ` +
            `waited ${(waited / 1000).toFixed(1)} s. Only one run per state may upload: stop the other run, or pass --wait-lock DURATION to wait for it (e.g. --wait-lock 10m)`,
        );
      }
      if (!told) {
        told = true;
        opts.onWait?.(holder);
      }
      await sleep(Math.min(WAIT_POLL_MS, waitMs - waited), undefined, { signal: opts.signal }).catch(() => {});
    }
  }

  /** The lock, or null when another connection holds it. */
  static #tryTake(path: string): RunLock | null {
    let db: Database.Database | undefined;
    try {
      createIfMissing(path);
      db = new Database(path, { timeout: 0 });
      db.pragma('locking_mode = EXCLUSIVE');
      // A write transaction takes the EXCLUSIVE lock, which EXCLUSIVE locking mode keeps after COMMIT.
      db.exec('BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS edgelake_run_lock (taken_at TEXT); DELETE FROM edgelake_run_lock; INSERT INTO edgelake_run_lock VALUES (datetime()); COMMIT');
      return new RunLock(path, db);
    } catch (err) {
      db?.close();
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'string' && /^SQLITE_(BUSY|LOCKED)/.test(code)) return null;
      throw new PipelineError('STATE_LOCK_FAILED', `cannot create the run lock ${path}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Gives the claim up. */
  release(): void {
    if (this.#db.open) this.#db.close();
  }
}

/** The recorded holder, or null when none is recorded or the row is unreadable. */
export function readHolder(holders: HolderStore): LockHolder | null {
  try {
    const text = holders.getSetting(HOLDER_SETTING);
    const h = text ? (JSON.parse(text) as Partial<LockHolder>) : null;
    return h && typeof h.pid === 'number' && typeof h.host === 'string' ? (h as LockHolder) : null;
  } catch {
    return null;
  }
}

/** `pid 123 on host edge-7 since 2026-12-01T08:00:00.000Z (run --once)`. */
export function describeHolder(h: LockHolder): string {
  return `pid ${h.pid} on host ${h.host} since ${h.since}${h.command ? ` (${h.command})` : ''}`;
}

/** An empty file is a valid database; created 0600 like the state, never truncating a held one. */
function createIfMissing(path: string): void {
  try {
    closeSync(openSync(path, 'wx', 0o600));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}
