import Database from 'better-sqlite3';
import { closeSync, existsSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { createHash } from 'node:crypto';
import { ConfigError } from '../errors.ts';
import { BUSY_TIMEOUT_MS } from '../source/open.ts';
import { redactUrl } from '../redact.ts';
import { unlessLocked } from './store.ts';

/**
 * edgelake's private file (contract §2, issue 11): the secrets and the alert path's state, in a
 * SQLite file of edgelake's own, created 0600 beside the state (`<state>.private`), never in the
 * sensor database that every sensor process and reader opens. It holds the generated GPS fuzzing
 * key, the alert cursor and detector state, the alerts and their webhook deliveries (receivers
 * named by `redactUrl`: scheme, host, port and a hash, never the URL), and the emergency upload intent.
 *
 * `synchronous = FULL`: an alert is durable once its commit returns, so webhooks can be fed from
 * here at once, whatever the lake is doing.
 *
 * On first open, what older versions kept in the state database moves here once — the fuzzing
 * key, the alert cursor and queued deliveries — and the old rows are deleted with SQLite's
 * `secure_delete` (freed pages overwritten), then the WAL is checkpointed so no old copy stays
 * in it either.
 */

/**
 * Page cache of the private file, KiB. Alerts stream through it — appended at one end of their
 * b-tree, pruned at the other once uploaded (~1 KB each, ~15 MB per million aggregated rows) — so
 * SQLite's 16 MB default fills with pages that are never read again, in the main thread's arena;
 * the b-trees' inner pages, all an append or prune revisits, fit in this.
 */
export const PRIVATE_CACHE_KIB = 1024;

/** The private file of the state at `statePath`. */
export function privatePathOf(statePath: string): string {
  return `${statePath}.private`;
}

/** Opens (creating 0600 when missing) the private file at `path` and migrates secrets out of `stateDb` once. */
export function openPrivateDb(path: string, stateDb: Database.Database | null, webhooks: readonly string[] = []): Database.Database {
  if (!existsSync(dirname(path))) throw new ConfigError('PRIVATE_DIR_MISSING', `edgelake's private file ${path} (--private-db, default <state db>.private): folder ${dirname(path)} does not exist`);
  let db: Database.Database;
  try {
    // Created empty with mode 0600 before SQLite opens it: SQLite gives -wal/-shm the database's mode.
    if (!existsSync(path)) createPrivate(path);
    db = new Database(path);
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    // Statement journals and sorts of this small file stay in memory: no temp files beside the secrets.
    db.pragma('temp_store = MEMORY');
    db.pragma(`cache_size = -${PRIVATE_CACHE_KIB}`);
  } catch (err) {
    throw new ConfigError('PRIVATE_DB_UNREADABLE', `edgelake's private file ${path} cannot be opened: ${(err as Error).message}`, { cause: err });
  }
  unlessLocked('creating the private tables', () => db.exec(SCHEMA));
  if (stateDb) unlessLocked('moving secrets out of the state database', () => migrate(stateDb, db, webhooks));
  return db;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS alert_cursor (
    name TEXT PRIMARY KEY, last_id INTEGER NOT NULL, state TEXT, updated_at TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS alerts (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, alert_id TEXT NOT NULL UNIQUE, reading_id INTEGER NOT NULL,
    event_ms REAL, detected_ms INTEGER NOT NULL, body TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS deliveries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, receiver TEXT NOT NULL, alert_seq INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, UNIQUE (receiver, alert_seq)
  );
  CREATE INDEX IF NOT EXISTS deliveries_alert ON deliveries (alert_seq);
  -- Alerts reach the emergency bucket in seq order, so one high-water mark says which are there
  -- (a flag per alert would rewrite every alert's page once more).
  CREATE TABLE IF NOT EXISTS emergency_uploaded (id INTEGER PRIMARY KEY CHECK (id = 1), to_seq INTEGER NOT NULL);
  INSERT INTO emergency_uploaded (id, to_seq) VALUES (1, 0) ON CONFLICT(id) DO NOTHING;
  CREATE TABLE IF NOT EXISTS emergency_intent (
    id INTEGER PRIMARY KEY CHECK (id = 1), to_seq INTEGER NOT NULL, started_ms INTEGER NOT NULL
  );`;

/** Name of the generated fuzzing key in `settings` (here and, in older versions, in the state's edgelake_settings). */
export const FUZZ_KEY_SETTING = 'gps_fuzz_key';

/**
 * Moves what older versions kept in the state database: the fuzzing key (edgelake_settings), the
 * alert cursor (edgelake_alert_cursor) and the deliveries still queued for the configured
 * webhooks (edgelake_alert_outbox, keyed `<redacted url> sha256:<16 hex of the url>`), then
 * deletes the old rows and tables for good.
 */
function migrate(stateDb: Database.Database, db: Database.Database, webhooks: readonly string[]): void {
  const has = (t: string) => stateDb.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(t) !== undefined;
  const oldKey = has('edgelake_settings') ? (stateDb.prepare('SELECT value FROM edgelake_settings WHERE name = ?').pluck().get(FUZZ_KEY_SETTING) as string | undefined) : undefined;
  const oldCursor = has('edgelake_alert_cursor');
  const oldOutbox = has('edgelake_alert_outbox');
  if (oldKey === undefined && !oldCursor && !oldOutbox) return;
  db.transaction(() => {
    if (oldKey !== undefined) db.prepare('INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT(name) DO NOTHING').run(FUZZ_KEY_SETTING, oldKey);
    if (oldCursor) {
      const c = stateDb.prepare("SELECT last_id, state FROM edgelake_alert_cursor WHERE name = 'alerts'").get() as { last_id: number; state: string | null } | undefined;
      if (c) db.prepare("INSERT INTO alert_cursor (name, last_id, state, updated_at) VALUES ('alerts', ?, ?, ?) ON CONFLICT(name) DO NOTHING").run(c.last_id, c.state, new Date().toISOString());
    }
    if (oldOutbox) {
      const rows = stateDb.prepare('SELECT webhook, alert_id, body, created_ms FROM edgelake_alert_outbox ORDER BY seq').all() as Array<{ webhook: string; alert_id: string; body: string; created_ms: number }>;
      const byHash = new Map(webhooks.map((url) => [createHash('sha256').update(url).digest('hex').slice(0, 16), url]));
      const addAlert = db.prepare('INSERT INTO alerts (alert_id, reading_id, event_ms, detected_ms, body) VALUES (?, ?, NULL, ?, ?) ON CONFLICT(alert_id) DO NOTHING');
      // The old router had put every queued alert into the emergency bucket before queueing it: they count as uploaded.
      const pendingBefore = db.prepare('SELECT count(*) FROM alerts WHERE seq > (SELECT to_seq FROM emergency_uploaded)').pluck().get() as number;
      const seqOf = db.prepare('SELECT seq FROM alerts WHERE alert_id = ?').pluck();
      const addDelivery = db.prepare('INSERT INTO deliveries (receiver, alert_seq) VALUES (?, ?) ON CONFLICT DO NOTHING');
      for (const r of rows) {
        const url = byHash.get(/ sha256:([0-9a-f]{16})$/.exec(r.webhook)?.[1] ?? '');
        if (!url) continue; // a receiver no longer configured: its queue is dropped with the old table
        const readingId = Number(/-(-?\d+)$/.exec(r.alert_id)?.[1] ?? 0);
        addAlert.run(r.alert_id, readingId, r.created_ms, r.body);
        addDelivery.run(redactUrl(url), seqOf.get(r.alert_id));
      }
      if (pendingBefore === 0) db.prepare('UPDATE emergency_uploaded SET to_seq = (SELECT coalesce(max(seq), 0) FROM alerts) WHERE id = 1').run();
    }
  })();
  stateDb.pragma('secure_delete = ON');
  stateDb.transaction(() => {
    if (oldKey !== undefined) stateDb.prepare('DELETE FROM edgelake_settings WHERE name = ?').run(FUZZ_KEY_SETTING);
    if (oldOutbox) stateDb.exec('DELETE FROM edgelake_alert_outbox; DROP TABLE edgelake_alert_outbox');
    if (oldCursor) stateDb.exec('DELETE FROM edgelake_alert_cursor; DROP TABLE edgelake_alert_cursor');
  })();
  // The old pages are zeroed in the database; the WAL may still hold copies until it is checkpointed.
  try {
    stateDb.pragma('wal_checkpoint(TRUNCATE)');
  } catch {
    // Not in WAL mode, or busy: the next checkpoint overwrites them.
  }
}

/** Creates an empty file readable by its owner only; another process creating it first is fine. */
function createPrivate(path: string): void {
  try {
    closeSync(openSync(path, 'wx', 0o600));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

/** The private file's settings (the generated fuzzing key), in the shape `resolveFuzzKey` takes. */
export class PrivateSettings {
  readonly #get: Database.Statement;
  readonly #setIfAbsent: Database.Statement;

  constructor(db: Database.Database) {
    this.#get = db.prepare('SELECT value FROM settings WHERE name = ?').pluck();
    this.#setIfAbsent = db.prepare('INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT(name) DO NOTHING');
  }

  getSetting(name: string): string | null {
    return unlessLocked(`reading private setting ${name}`, () => (this.#get.get(name) as string | undefined) ?? null);
  }

  setSettingIfAbsent(name: string, value: string): string {
    unlessLocked(`writing private setting ${name}`, () => this.#setIfAbsent.run(name, value));
    return this.getSetting(name)!;
  }
}
