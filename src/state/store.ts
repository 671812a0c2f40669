import type Database from 'better-sqlite3';
import { z } from 'zod';
import { ConfigError, PipelineError } from '../errors.ts';
import { PIPELINE_TYPES, type PipelineType } from './pipeline-types.ts';

/**
 * The checkpoint of a cursor that has read nothing yet: below every id edgelake reads (ids are
 * read in [-(2^53 - 1), 2^53 - 1], zero and negative ids included, like any other).
 */
export const BEFORE_FIRST_ID = Number.MIN_SAFE_INTEGER;

/**
 * The state edgelake keeps beside the sensor data (contract §2): the active pipeline type,
 * one execution row per uploaded batch, the checkpoints, and a pending-batch intent.
 *
 * Exactly-once works like a write-ahead log: before uploading, the batch's id range is
 * recorded as *pending*; after every object is durable, one transaction advances the
 * checkpoint, records the execution and clears the intent. A run that finds an intent
 * replays exactly that range with the type recorded in it, so a crash anywhere produces
 * the same keys again instead of new, overlapping ones.
 */
export class StateStore {
  readonly #db: Database.Database;
  readonly #stmts: ReturnType<typeof prepare>;

  constructor(db: Database.Database) {
    this.#db = db;
    unlessLocked('creating the state tables', () => migrate(db));
    this.#stmts = prepare(db);
  }

  /** The newest active pipeline type; `ingestion` when none was ever set. */
  activeType(): PipelineType {
    const row = this.#stmts.active.get() as { pipeline_type: string } | undefined;
    const t = row?.pipeline_type;
    return t && (PIPELINE_TYPES as readonly string[]).includes(t) ? (t as PipelineType) : 'ingestion';
  }

  /** The active config row, or null when none was set. */
  activeConfig(): ConfigRow | null {
    return (this.#stmts.active.get() as ConfigRow | undefined) ?? null;
  }

  /** Atomically deactivates every config row and inserts the new active one. */
  setType(type: PipelineType, by: string, nowIso = new Date().toISOString()): ConfigRow {
    return this.#db.transaction(() => {
      this.#stmts.deactivate.run();
      const id = Number(this.#stmts.insertConfig.run(type, nowIso, by).lastInsertRowid);
      return { id, pipeline_type: type, created_at: nowIso, created_by: by, is_active: 1 };
    }).immediate();
  }

  /** Type switches, newest first. */
  configHistory(limit: number): ConfigRow[] {
    return this.#stmts.configHistory.all(limit) as ConfigRow[];
  }

  /** Executions, newest first. */
  executions(limit: number): ExecutionRow[] {
    return this.#stmts.executions.all(limit) as ExecutionRow[];
  }

  /**
   * The checkpoint named `cursor` (the live cursor is `live`), or null when there is none. A row
   * whose intent or stage state cannot be read is a ConfigError (exit 2) naming the table, the
   * column and the repair, never a stack trace.
   */
  checkpoint(cursor: string): Checkpoint | null {
    const row = unlessLocked(`reading checkpoint "${cursor}"`, () => this.#stmts.checkpoint.get(cursor) as CheckpointRow | undefined);
    if (!row) return null;
    const damaged = (column: string, why: string): never => {
      throw new ConfigError(
        'STATE_DAMAGED',
        `the state table edgelake_checkpoints, cursor "${cursor}", has an unreadable ${column} (${why}). ` +
          `Run \`edgelake state reset --db <sensor db> [--state-db <state db>] --cursor ${cursor}\`: it removes the damaged row, and the next run ` +
          `recovers the position from the lake's manifest of this node (or, without one, starts this cursor afresh)`,
      );
    };
    if (typeof row.last_id !== 'number' || !Number.isSafeInteger(row.last_id)) damaged('last_id', `${JSON.stringify(row.last_id)} is not an id`);
    let pending: PendingBatch | null = null;
    if (row.pending !== null) {
      let json: unknown;
      try {
        json = JSON.parse(row.pending);
      } catch (err) {
        damaged('pending', `not JSON: ${(err as Error).message}`);
      }
      const r = PendingBatchSchema.safeParse(json);
      if (!r.success) damaged('pending', r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '));
      pending = r.data as PendingBatch;
    }
    if (row.stage_state !== null) {
      try {
        JSON.parse(row.stage_state);
      } catch (err) {
        damaged('stage_state', `not JSON: ${(err as Error).message}`);
      }
    }
    return { lastId: row.last_id, sourceIdentity: row.source_identity, stageState: row.stage_state, pending };
  }

  /** Creates the checkpoint row if missing (at `lastId`, with `stageState`), recording the source's identity; true when it was created. */
  ensureCheckpoint(cursor: string, lastId: number, sourceIdentity: string, stageState: string | null = null): boolean {
    return unlessLocked(`creating checkpoint "${cursor}"`, () => this.#stmts.ensureCheckpoint.run(cursor, lastId, sourceIdentity, stageState, new Date().toISOString()).changes === 1);
  }

  /**
   * Records the intent to upload `pending` (the write-ahead step): a compare-and-swap on the
   * checkpoint being where the batch starts, with no other intent recorded. A run that finds the
   * checkpoint moved under it (another process on the same state, despite the run lock) fails
   * with CHECKPOINT_MOVED instead of uploading the same rows again.
   */
  beginBatch(cursor: string, pending: PendingBatch): void {
    unlessLocked(`recording the intent of batch ${pending.batchId}`, () => {
      if (this.#stmts.setPending.run(JSON.stringify(pending), cursor, pending.afterId).changes !== 1) this.#moved(cursor, pending.afterId, `recording batch ${pending.batchId}`);
    });
  }

  /**
   * The commit step: in one transaction, advance the checkpoint from `afterId` to `lastId` (with
   * the source anchor of that row), store the stage's carried state, clear the intent and record
   * the execution. A compare-and-swap on `afterId`: if another process moved the checkpoint, the
   * transaction changes nothing and fails with CHECKPOINT_MOVED.
   */
  commitBatch(cursor: string, afterId: number, lastId: number, sourceIdentity: string, stageState: string | null, exec: ExecutionInput): void {
    unlessLocked(`committing batch ${exec.batch_id}`, () =>
      this.#db.transaction(() => {
        const changed = this.#stmts.advance.run(lastId, sourceIdentity, stageState, new Date().toISOString(), cursor, afterId).changes;
        if (changed !== 1) this.#moved(cursor, afterId, `committing batch ${exec.batch_id}`);
        this.#stmts.insertExecution.run(exec);
      }).immediate(),
    );
  }

  #moved(cursor: string, expected: number, what: string): never {
    const row = this.#stmts.checkpoint.get(cursor) as CheckpointRow | undefined;
    throw new PipelineError(
      'CHECKPOINT_MOVED',
      row
        ? `${what}: checkpoint "${cursor}" is at id ${row.last_id}${row.pending ? ' with another intent recorded' : ''}, not at ${expected} where this run left it: another process is running on this state; stopping without uploading (nothing is lost)`
        : `${what}: checkpoint "${cursor}" disappeared while running (was the state table dropped?); stopping without uploading (nothing is lost)`,
    );
  }

  /** Moves a checkpoint after the source was replaced (ids restarted), keeping a record of why. */
  resetCheckpoint(cursor: string, lastId: number, sourceIdentity: string): void {
    unlessLocked(`resetting checkpoint "${cursor}"`, () => this.#stmts.reset.run(lastId, sourceIdentity, new Date().toISOString(), cursor));
  }

  /** Removes a checkpoint row (`edgelake state reset`); true when there was one. */
  deleteCheckpoint(cursor: string): boolean {
    return unlessLocked(`removing checkpoint "${cursor}"`, () => this.#stmts.deleteCheckpoint.run(cursor).changes === 1);
  }

  /** A small key/value store for node-local settings (never uploaded). */
  getSetting(name: string): string | null {
    return unlessLocked(`reading setting ${name}`, () => (this.#stmts.getSetting.get(name) as { value: string } | undefined)?.value ?? null);
  }

  setSetting(name: string, value: string): void {
    unlessLocked(`writing setting ${name}`, () => this.#stmts.setSetting.run(name, value));
  }

  setSettingIfAbsent(name: string, value: string): string {
    unlessLocked(`writing setting ${name}`, () => this.#stmts.setSettingIfAbsent.run(name, value));
    return this.getSetting(name)!;
  }

  /** Removes a setting. */
  deleteSetting(name: string): void {
    unlessLocked(`removing setting ${name}`, () => this.#stmts.deleteSetting.run(name));
  }
}

/**
 * Runs a step of the state protocol, turning SQLite's transient faults into PipelineErrors, which
 * follow mode retries with backoff (and `--once` reports as exit 1) instead of an unexpected
 * crash: a sensor process holding the database's write lock longer than busy_timeout
 * (SQLITE_BUSY), a full disk (SQLITE_FULL) or an I/O error. The transaction did not commit, so
 * the checkpoint is unchanged. A state database that is not writable at all is a ConfigError.
 */
export function unlessLocked<T>(what: string, step: () => T): T {
  try {
    return step();
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code !== 'string' || !code.startsWith('SQLITE_')) throw err;
    if (/^SQLITE_(BUSY|LOCKED)/.test(code)) {
      throw new PipelineError('STATE_DB_LOCKED', `${what} failed: the state database is locked by another process (${code}); the checkpoint is unchanged, nothing is lost`, {
        cause: err,
      });
    }
    if (/^SQLITE_(FULL|IOERR)/.test(code)) {
      throw new PipelineError(
        'STATE_DB_FULL',
        `${what} failed: the state database cannot be written (${code}${code === 'SQLITE_FULL' ? ': its disk is full' : ''}); the checkpoint is unchanged, nothing is lost`,
        { cause: err },
      );
    }
    if (/^SQLITE_(READONLY|CANTOPEN|PERM|AUTH)/.test(code)) {
      throw new ConfigError('STATE_DB_READONLY', `${what} failed: the state database is not writable (${code}); give --state-db a writable file (the sensor database may stay read-only)`, { cause: err });
    }
    if (/^SQLITE_(CORRUPT|NOTADB)/.test(code)) {
      throw new ConfigError('STATE_DB_CORRUPT', `${what} failed: the state database is damaged (${code}: ${(err as Error).message}); move it aside and run again (the next run recovers the position from the lake's manifest)`, { cause: err });
    }
    throw err;
  }
}

/** The shape of a recorded intent (`edgelake_checkpoints.pending`), checked when it is read back. */
const PendingBatchSchema = z.object({
  type: z.enum(PIPELINE_TYPES),
  batchId: z.string().min(1),
  afterId: z.number().int(),
  lastId: z.number().int(),
  limit: z.number().int().min(0),
  startedMs: z.number().finite(),
  keyNode: z.string().min(1).optional(),
  kind: z.enum(['batch', 'flush']).optional(),
});

/** A row of `pipeline_config`. */
export interface ConfigRow {
  id: number;
  pipeline_type: string;
  created_at: string;
  created_by: string;
  is_active: number;
}

/** The intent recorded before a batch is uploaded. */
export interface PendingBatch {
  type: PipelineType;
  batchId: string;
  afterId: number;
  lastId: number;
  /** The batch size it was read with (a replay reads with at least this limit, so it gets the same rows). */
  limit: number;
  /** Processing time of the first attempt (epoch ms): the partition fallback, so a replay reuses it. */
  startedMs: number;
  /** The node part of the batch's keys when it was recorded: its replay writes under it, whatever the node is called now. Absent in intents of older versions. */
  keyNode?: string;
  /** `flush`: the final flush of a stateful stage's open windows (afterId = lastId); default `batch`. */
  kind?: 'batch' | 'flush';
}

export interface Checkpoint {
  lastId: number;
  sourceIdentity: string | null;
  stageState: string | null;
  pending: PendingBatch | null;
}

interface CheckpointRow {
  last_id: number;
  source_identity: string | null;
  stage_state: string | null;
  pending: string | null;
}

/** What `commitBatch` records about a batch. */
export interface ExecutionInput {
  pipeline_type: string;
  batch_id: string;
  cursor: string;
  node_id: string;
  job_id: string | null;
  first_id: number;
  last_id: number;
  records_in: number;
  records_out: number;
  invalid_count: number | null;
  raw_bytes: number;
  bytes_written: number;
  objects_written: number;
  started_at: string;
  finished_at: string;
  duration_ms: number;
  latency_ms: number | null;
  details: string | null;
}

export type ExecutionRow = ExecutionInput & { id: number };

function migrate(db: Database.Database): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS pipeline_config (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      pipeline_type TEXT NOT NULL,
      created_at TEXT NOT NULL,
      created_by TEXT NOT NULL,
      is_active INTEGER NOT NULL DEFAULT 1
    );
    CREATE TABLE IF NOT EXISTS pipeline_executions (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      pipeline_type TEXT NOT NULL,
      batch_id TEXT NOT NULL,
      cursor TEXT NOT NULL,
      node_id TEXT NOT NULL,
      job_id TEXT,
      first_id INTEGER NOT NULL,
      last_id INTEGER NOT NULL,
      records_in INTEGER NOT NULL,
      records_out INTEGER NOT NULL,
      invalid_count INTEGER,
      raw_bytes INTEGER NOT NULL,
      bytes_written INTEGER NOT NULL,
      objects_written INTEGER NOT NULL,
      started_at TEXT NOT NULL,
      finished_at TEXT NOT NULL,
      duration_ms REAL NOT NULL,
      latency_ms REAL,
      details TEXT
    );
    CREATE TABLE IF NOT EXISTS edgelake_checkpoints (
      cursor TEXT PRIMARY KEY,
      last_id INTEGER NOT NULL,
      source_identity TEXT,
      stage_state TEXT,
      pending TEXT,
      updated_at TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS edgelake_settings (
      name TEXT PRIMARY KEY,
      value TEXT NOT NULL
    );
  `);
}

function prepare(db: Database.Database) {
  return {
    active: db.prepare(
      'SELECT id, pipeline_type, created_at, created_by, is_active FROM pipeline_config WHERE is_active = 1 ORDER BY id DESC LIMIT 1',
    ),
    deactivate: db.prepare('UPDATE pipeline_config SET is_active = 0 WHERE is_active != 0'),
    insertConfig: db.prepare('INSERT INTO pipeline_config (pipeline_type, created_at, created_by, is_active) VALUES (?, ?, ?, 1)'),
    configHistory: db.prepare('SELECT id, pipeline_type, created_at, created_by, is_active FROM pipeline_config ORDER BY id DESC LIMIT ?'),
    executions: db.prepare('SELECT * FROM pipeline_executions ORDER BY id DESC LIMIT ?'),
    checkpoint: db.prepare('SELECT last_id, source_identity, stage_state, pending FROM edgelake_checkpoints WHERE cursor = ?'),
    ensureCheckpoint: db.prepare(
      'INSERT INTO edgelake_checkpoints (cursor, last_id, source_identity, stage_state, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(cursor) DO NOTHING',
    ),
    setPending: db.prepare('UPDATE edgelake_checkpoints SET pending = ? WHERE cursor = ? AND last_id = ? AND pending IS NULL'),
    advance: db.prepare(
      'UPDATE edgelake_checkpoints SET last_id = ?, source_identity = ?, stage_state = ?, pending = NULL, updated_at = ? WHERE cursor = ? AND last_id = ?',
    ),
    deleteCheckpoint: db.prepare('DELETE FROM edgelake_checkpoints WHERE cursor = ?'),
    reset: db.prepare(
      'UPDATE edgelake_checkpoints SET last_id = ?, source_identity = ?, stage_state = NULL, pending = NULL, updated_at = ? WHERE cursor = ?',
    ),
    insertExecution: db.prepare(`INSERT INTO pipeline_executions
      (pipeline_type, batch_id, cursor, node_id, job_id, first_id, last_id, records_in, records_out, invalid_count, raw_bytes,
       bytes_written, objects_written, started_at, finished_at, duration_ms, latency_ms, details)
      VALUES (@pipeline_type, @batch_id, @cursor, @node_id, @job_id, @first_id, @last_id, @records_in, @records_out, @invalid_count,
       @raw_bytes, @bytes_written, @objects_written, @started_at, @finished_at, @duration_ms, @latency_ms, @details)`),
    getSetting: db.prepare('SELECT value FROM edgelake_settings WHERE name = ?'),
    setSetting: db.prepare('INSERT INTO edgelake_settings (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value'),
    setSettingIfAbsent: db.prepare('INSERT INTO edgelake_settings (name, value) VALUES (?, ?) ON CONFLICT(name) DO NOTHING'),
    deleteSetting: db.prepare('DELETE FROM edgelake_settings WHERE name = ?'),
  };
}
