import { createHash } from 'node:crypto';
import { redact } from '../log.ts';
import type Database from 'better-sqlite3';

/**
 * The alert path's state in the state database: its own read cursor (with a write-ahead intent,
 * like the main checkpoint) and the webhook outbox. Committing a poll advances the cursor, stores
 * the detector's state and queues that poll's webhook deliveries in one transaction, so a crash
 * anywhere either replays the poll (same alerts, same keys) or finds its deliveries queued.
 */

/** The alert cursor. */
export interface AlertCursor {
  lastId: number;
  /** Write-ahead intent: the poll being uploaded covers ids (lastId, pendingLastId]. */
  pendingLastId: number | null;
  /** Start time of the pending poll (epoch ms): the partition fallback for rows without event time. */
  pendingStartedMs: number | null;
  /** Detector state (JSON) after lastId. */
  state: string | null;
}

/** One queued delivery. */
export interface QueuedAlert {
  seq: number;
  alertId: string;
  /** The alert record, JSON text. */
  body: string;
  attempts: number;
}

const KEY_PATTERN = / sha256:[0-9a-f]{16}$/;

/**
 * How the outbox names a webhook: the URL without userinfo or token-like query parameters, plus
 * a hash of the whole URL to tell apart receivers that differ only in those. A URL's credentials
 * never reach the state database (its file, WAL or free pages); the URL itself lives in memory.
 */
export function webhookKey(url: string): string {
  return `${redact(url, {})} sha256:${createHash('sha256').update(url).digest('hex').slice(0, 16)}`;
}

/** SQLite tables of the alert path; all methods are synchronous. Webhooks are stored as {@link webhookKey}. */
export class AlertOutbox {
  readonly #db: Database.Database;
  readonly #s: ReturnType<typeof prepare>;

  constructor(db: Database.Database) {
    this.#db = db;
    db.exec(`
      CREATE TABLE IF NOT EXISTS edgelake_alert_cursor (
        name TEXT PRIMARY KEY, last_id INTEGER NOT NULL, pending_last_id INTEGER, pending_started_ms INTEGER,
        state TEXT, updated_at TEXT NOT NULL
      );
      CREATE TABLE IF NOT EXISTS edgelake_alert_outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, webhook TEXT NOT NULL, alert_id TEXT NOT NULL, body TEXT NOT NULL,
        created_ms INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT,
        UNIQUE (webhook, alert_id)
      );`);
    this.#s = prepare(db);
    this.#rekeyStoredUrls();
  }

  /**
   * Rows written by an edgelake that stored whole webhook URLs (with their credentials) are
   * rewritten to {@link webhookKey}; the old text may linger in free pages until reused, so the
   * rewrite also asks SQLite to overwrite what it frees.
   */
  #rekeyStoredUrls(): void {
    const raw = (this.#db.prepare('SELECT DISTINCT webhook FROM edgelake_alert_outbox').pluck().all() as string[]).filter((w) => !KEY_PATTERN.test(w));
    if (raw.length === 0) return;
    const rekey = this.#db.prepare('UPDATE OR IGNORE edgelake_alert_outbox SET webhook = ? WHERE webhook = ?');
    const drop = this.#db.prepare('DELETE FROM edgelake_alert_outbox WHERE webhook = ?');
    this.#db.pragma('secure_delete = ON');
    this.#db.transaction(() => {
      for (const url of raw) {
        rekey.run(webhookKey(url), url);
        drop.run(url); // duplicates of alerts already queued under the key
      }
    })();
  }

  /** The cursor `name`, created at `startId` when missing. */
  cursor(name: string, startId: number): AlertCursor {
    this.#s.ensure.run(name, startId, new Date().toISOString());
    const r = this.#s.cursor.get(name) as { last_id: number; pending_last_id: number | null; pending_started_ms: number | null; state: string | null };
    return { lastId: r.last_id, pendingLastId: r.pending_last_id, pendingStartedMs: r.pending_started_ms, state: r.state };
  }

  /** Records the write-ahead intent before a poll's objects are uploaded. */
  begin(name: string, pendingLastId: number, startedMs: number): void {
    this.#s.begin.run(pendingLastId, startedMs, name);
  }

  /** Moves the cursor back (a replaced source database), dropping detector state and intent. */
  reset(name: string, lastId: number): void {
    this.#s.advance.run(lastId, null, new Date().toISOString(), name);
  }

  /**
   * One transaction: advance the cursor to `lastId` with `state`, clear the intent, queue
   * `alerts` for every webhook (a replayed alert id is ignored), then trim each webhook's queue
   * to `limit` by dropping the oldest. Returns the number dropped per webhook.
   */
  commit(name: string, lastId: number, state: string | null, webhooks: readonly string[], alerts: readonly { alertId: string; body: string }[], limit: number): Map<string, number> {
    const dropped = new Map<string, number>();
    this.#db
      .transaction(() => {
        this.#s.advance.run(lastId, state, new Date().toISOString(), name);
        const now = Date.now();
        for (const url of webhooks) {
          if (alerts.length === 0) continue;
          const key = webhookKey(url);
          for (const a of alerts) this.#s.insert.run(key, a.alertId, a.body, now);
          const over = (this.#s.count.get(key) as number) - limit;
          if (over > 0) {
            this.#s.trim.run(key, over);
            dropped.set(url, over);
          }
        }
      })
      .immediate();
    return dropped;
  }

  /** Up to `limit` queued alerts of `webhook`, oldest first. */
  queued(webhook: string, limit: number): QueuedAlert[] {
    return this.#s.queued.all(webhookKey(webhook), limit) as QueuedAlert[];
  }

  /** Alerts queued for `webhook`. */
  size(webhook: string): number {
    return this.#s.count.get(webhookKey(webhook)) as number;
  }

  /** Removes delivered alerts. */
  delivered(seqs: readonly number[]): void {
    this.#db.transaction(() => {
      for (const s of seqs) this.#s.remove.run(s);
    })();
  }

  /** Records a failed attempt on each alert (for diagnostics; the retry schedule is per webhook). */
  failed(seqs: readonly number[], error: string): void {
    this.#db.transaction(() => {
      for (const s of seqs) this.#s.fail.run(redact(error), s);
    })();
  }
}

function prepare(db: Database.Database) {
  return {
    ensure: db.prepare('INSERT INTO edgelake_alert_cursor (name, last_id, updated_at) VALUES (?, ?, ?) ON CONFLICT(name) DO NOTHING'),
    cursor: db.prepare('SELECT last_id, pending_last_id, pending_started_ms, state FROM edgelake_alert_cursor WHERE name = ?'),
    begin: db.prepare('UPDATE edgelake_alert_cursor SET pending_last_id = ?, pending_started_ms = ? WHERE name = ?'),
    advance: db.prepare(
      'UPDATE edgelake_alert_cursor SET last_id = ?, state = ?, pending_last_id = NULL, pending_started_ms = NULL, updated_at = ? WHERE name = ?',
    ),
    insert: db.prepare('INSERT INTO edgelake_alert_outbox (webhook, alert_id, body, created_ms) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING'),
    count: db.prepare('SELECT count(*) FROM edgelake_alert_outbox WHERE webhook = ?').pluck(),
    trim: db.prepare('DELETE FROM edgelake_alert_outbox WHERE seq IN (SELECT seq FROM edgelake_alert_outbox WHERE webhook = ? ORDER BY seq LIMIT ?)'),
    queued: db.prepare('SELECT seq, alert_id AS alertId, body, attempts FROM edgelake_alert_outbox WHERE webhook = ? ORDER BY seq LIMIT ?'),
    remove: db.prepare('DELETE FROM edgelake_alert_outbox WHERE seq = ?'),
    fail: db.prepare('UPDATE edgelake_alert_outbox SET attempts = attempts + 1, last_error = ? WHERE seq = ?'),
  };
}
