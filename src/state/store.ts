import type Database from 'better-sqlite3';
import { PipelineError } from '../errors.ts';
import { PIPELINE_TYPES, type PipelineType } from './pipeline-types.ts';

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
    migrate(db);
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

  /** The checkpoint named `cursor` (the live cursor is `live`), or null. */
  checkpoint(cursor: string): Checkpoint | null {
    const row = this.#stmts.checkpoint.get(cursor) as CheckpointRow | undefined;
    if (!row) return null;
    return {
      lastId: row.last_id,
      sourceIdentity: row.source_identity,
      stageState: row.stage_state,
      pending: row.pending ? (JSON.parse(row.pending) as PendingBatch) : null,
    };
  }

  /** Creates the checkpoint row if missing (at `lastId`), recording the source's identity. */
  ensureCheckpoint(cursor: string, lastId: number, sourceIdentity: string): void {
    this.#stmts.ensureCheckpoint.run(cursor, lastId, sourceIdentity, new Date().toISOString());
  }

  /** Records the intent to upload `pending` (the write-ahead step). */
  beginBatch(cursor: string, pending: PendingBatch): void {
    unlessLocked(`recording the intent of batch ${pending.batchId}`, () => this.#stmts.setPending.run(JSON.stringify(pending), cursor));
  }

  /**
   * The commit step: in one transaction, advance the checkpoint to `lastId` (with the source
   * anchor of that row), store the stage's carried state, clear the intent and record the execution.
   */
  commitBatch(cursor: string, lastId: number, sourceIdentity: string, stageState: string | null, exec: ExecutionInput): void {
    unlessLocked(`committing batch ${exec.batch_id}`, () =>
      this.#db.transaction(() => {
        const changed = this.#stmts.advance.run(lastId, sourceIdentity, stageState, new Date().toISOString(), cursor).changes;
        if (changed !== 1) throw new Error(`checkpoint "${cursor}" is missing`);
        this.#stmts.insertExecution.run(exec);
      }).immediate(),
    );
  }

  /** Moves a checkpoint after the source was replaced (ids restarted), keeping a record of why. */
  resetCheckpoint(cursor: string, lastId: number, sourceIdentity: string): void {
    this.#stmts.reset.run(lastId, sourceIdentity, new Date().toISOString(), cursor);
  }

  /** A small key/value store for node-local secrets and settings (never uploaded). */
  getSetting(name: string): string | null {
    return ((this.#stmts.getSetting.get(name) as { value: string } | undefined)?.value ?? null);
  }

  setSetting(name: string, value: string): void {
    this.#stmts.setSetting.run(name, value);
  }

  setSettingIfAbsent(name: string, value: string): string {
    this.#stmts.setSettingIfAbsent.run(name, value);
    return this.getSetting(name)!;
  }
}

/**
 * Runs a write of the batch protocol. A sensor process holding the database's write lock for
 * longer than busy_timeout makes SQLite fail with SQLITE_BUSY; that is a transient fault, so it
 * becomes a PipelineError, which follow mode retries with backoff (and `--once` reports as exit 1)
 * instead of an unexpected crash. Nothing was written, so the checkpoint is unchanged.
 */
function unlessLocked(what: string, write: () => unknown): void {
  try {
    write();
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code !== 'string' || !/^SQLITE_(BUSY|LOCKED)/.test(code)) throw err;
    throw new PipelineError('STATE_DB_LOCKED', `${what} failed: the state database is locked by another process (${code}); the checkpoint is unchanged, nothing is lost`, {
      cause: err,
    });
  }
}

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
      'INSERT INTO edgelake_checkpoints (cursor, last_id, source_identity, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(cursor) DO NOTHING',
    ),
    setPending: db.prepare('UPDATE edgelake_checkpoints SET pending = ? WHERE cursor = ?'),
    advance: db.prepare(
      'UPDATE edgelake_checkpoints SET last_id = ?, source_identity = ?, stage_state = ?, pending = NULL, updated_at = ? WHERE cursor = ?',
    ),
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
  };
}
