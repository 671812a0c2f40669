import type Database from 'better-sqlite3';
import { redact } from '../redact.ts';
import { unlessLocked } from '../state/store.ts';

/**
 * The alert path's tables in edgelake's private file (src/state/private.ts): every detected
 * alert once (by `alert_id`), one delivery row per alert and receiver until it is delivered, the
 * detector's cursor and state, and the intent of the emergency upload in flight.
 *
 * Exactly once without waiting for anyone: an alert is inserted with its deliveries in one
 * fsynced transaction the moment it is detected, and from then on it is durable — webhooks are
 * fed from here at once, the emergency bucket gets it through its own intent → put → commit, and
 * neither waits for the other. The detector's state is saved less often (a snapshot at most
 * every second); a crash re-detects from the snapshot, deterministically, the same alerts with
 * the same ids, which the UNIQUE `alert_id` ignores. Rows are pruned only once the snapshot is
 * past them, so a re-detection can never bring back an alert already uploaded or delivered.
 *
 * Only two writes wait for the disk (the file is `synchronous = FULL`): recording alerts, before
 * any webhook may see them, and the emergency intent, before its upload starts. The others —
 * deliveries done or failed, the emergency commit, the detector snapshot — commit without an
 * fsync ({@link AlertOutbox#relaxed}): losing one to a power cut only repeats work with the same
 * ids (a POST the receiver gets again by the same `alert_id`, the intent's upload onto the same
 * keys, a re-detection), and the next fsynced commit makes them durable too (WAL frames are
 * synced in order). On the head of a busy table that halves the fsyncs on the main thread, whose
 * stalls were the alerts' latency tail.
 */

/** The detector's saved position: rows up to `lastId` were scored into `state` (JSON). */
export interface DetectorSnapshot {
  readonly lastId: number;
  readonly state: string | null;
}

/** One detected alert, as stored. */
export interface StoredAlert {
  readonly alertId: string;
  readonly readingId: number;
  /** Event time, epoch ms; NaN when the reading had none. */
  readonly eventMs: number;
  readonly detectedMs: number;
  /** The alert record, JSON text. */
  readonly body: string;
}

/** One delivery waiting for a receiver. */
export interface QueuedDelivery {
  readonly seq: number;
  readonly alertId: string;
  readonly body: string;
  readonly attempts: number;
}

/** Alerts not yet in the emergency bucket, in detection order. */
export interface EmergencyChunk {
  readonly toSeq: number;
  readonly alerts: ReadonlyArray<StoredAlert & { readonly seq: number }>;
}

const CURSOR = 'alerts';
/**
 * Alerts this process recorded and has not yet seen uploaded, kept in memory for the emergency
 * chunk at most: beyond it (a long outage of the lake) the chunk reads its bodies from the file.
 */
const RECENT_MAX = 20_000;
/** `PRAGMA synchronous` reads NORMAL as 1 (FULL is 2). */
const SYNCHRONOUS_NORMAL = 1;

/** SQLite tables of the alert path; all methods are synchronous. Receivers are named by `redactUrl`. */
export class AlertOutbox {
  readonly #db: Database.Database;
  readonly #s: ReturnType<typeof prepare>;
  #relaxedWrites = 0;
  /**
   * The alerts this process recorded, by seq, until they are marked uploaded: the emergency chunk
   * takes their bodies from here instead of reading ~1 KB a row back out of the file it has just
   * written (a tenth of an aggregated run's alert path). The file stays the truth: a chunk whose
   * seqs are not all here (written by an earlier run, or past RECENT_MAX) is read from it whole.
   */
  readonly #recent = new Map<number, StoredAlert>();

  constructor(db: Database.Database) {
    this.#db = db;
    this.#s = prepare(db);
  }

  /** The detector snapshot, created at `startId` (with no state) when missing. */
  snapshot(startId: number): DetectorSnapshot {
    return unlessLocked('reading the alert cursor', () => {
      this.#s.ensure.run(CURSOR, startId, new Date().toISOString());
      const r = this.#s.cursor.get(CURSOR) as { last_id: number; state: string | null };
      return { lastId: r.last_id, state: r.state };
    });
  }

  /** Saves the detector snapshot, then prunes what is fully handled below it (no fsync: see the file comment). */
  saveSnapshot(lastId: number, state: string | null): void {
    this.#relaxed('saving the alert cursor', () =>
      this.#db.transaction(() => {
        this.#s.save.run(lastId, state, new Date().toISOString(), CURSOR);
        this.#s.prune.run(lastId);
      })(),
    );
  }

  /**
   * Runs `step` (a write whose loss to a power cut only repeats work, see the file comment) with
   * its commit not waiting for the disk: `synchronous = NORMAL` for the step, FULL again after.
   */
  #relaxed<T>(what: string, step: () => T): T {
    // Through db.pragma each time: SQLite applies a `PRAGMA synchronous` when the statement is
    // prepared, so a statement prepared once and run again does not set the level on its first run.
    this.#db.pragma('synchronous = NORMAL');
    if (this.#db.pragma('synchronous', { simple: true }) === SYNCHRONOUS_NORMAL) this.#relaxedWrites++;
    try {
      return unlessLocked(what, step);
    } finally {
      this.#db.pragma('synchronous = FULL');
    }
  }

  /**
   * Before a write that must be on disk before anything acts on it (recording alerts, the
   * emergency intent): the file is fully synchronous, whatever a relaxed write that failed to
   * restore it left behind. A few µs against the fsync it guarantees.
   */
  #durable(): void {
    this.#db.pragma('synchronous = FULL');
  }

  /** Writes so far that committed without waiting for the disk (synchronous = NORMAL in effect). */
  get relaxedWrites(): number {
    return this.#relaxedWrites;
  }

  /**
   * Records detected alerts and, for each one not seen before, a delivery per receiver; then
   * trims each receiver's queue to `limit` by dropping its oldest deliveries. One transaction.
   * Returns how many alerts were new (and which), and the deliveries dropped per receiver (and
   * per priority of their alerts, for metrics).
   */
  record(
    alerts: readonly StoredAlert[],
    receivers: readonly string[],
    limit: number,
  ): { fresh: number; added: StoredAlert[]; dropped: Map<string, number>; droppedByPriority: Map<string, Map<string, number>> } {
    const dropped = new Map<string, number>();
    const droppedByPriority = new Map<string, Map<string, number>>();
    const added: StoredAlert[] = [];
    const seqs: number[] = [];
    let fresh = 0;
    this.#durable();
    unlessLocked(`recording ${alerts.length} alerts`, () =>
      this.#db.transaction(() => {
        for (const a of alerts) {
          const info = this.#s.insertAlert.run(a.alertId, a.readingId, Number.isFinite(a.eventMs) ? a.eventMs : null, a.detectedMs, a.body);
          if (info.changes === 0) continue; // already recorded: a re-detection after a restart
          fresh++;
          added.push(a);
          seqs.push(Number(info.lastInsertRowid));
          for (const r of receivers) this.#s.insertDelivery.run(r, info.lastInsertRowid);
        }
        if (fresh === 0) return;
        for (const r of receivers) {
          const over = (this.#s.count.get(r) as number) - limit;
          if (over > 0) {
            const byPriority = this.#s.trimmedPriorities.all(r, over) as Array<{ priority: string | null; n: number }>;
            droppedByPriority.set(r, new Map(byPriority.map((p) => [p.priority ?? 'unknown', p.n])));
            this.#s.trim.run(r, over);
            dropped.set(r, over);
          }
        }
      }).immediate(),
    );
    // Only once committed: a transaction that threw left nothing in the file, so nothing here either.
    for (let i = 0; i < added.length && this.#recent.size < RECENT_MAX; i++) {
      const a = added[i];
      // As a row of the file reads back: no event time is NaN, whatever the caller passed.
      this.#recent.set(seqs[i], Number.isFinite(a.eventMs) ? a : { ...a, eventMs: NaN });
    }
    return { fresh, added, dropped, droppedByPriority };
  }

  /** Forgets every alert and delivery (a replaced source database starts from its first id). */
  reset(startId: number): void {
    this.#recent.clear();
    unlessLocked('resetting the alert path', () =>
      this.#db.transaction(() => {
        this.#s.save.run(startId, null, new Date().toISOString(), CURSOR);
      })(),
    );
  }

  /** Up to `limit` deliveries queued for `receiver`, oldest first. */
  queued(receiver: string, limit: number): QueuedDelivery[] {
    return unlessLocked('reading the webhook queue', () => this.#s.queued.all(receiver, limit) as QueuedDelivery[]);
  }

  /** Deliveries queued for `receiver`. */
  size(receiver: string): number {
    return unlessLocked('reading the webhook queue', () => this.#s.count.get(receiver) as number);
  }

  /** Removes delivered deliveries (no fsync: see the file comment). */
  delivered(seqs: readonly number[]): void {
    this.#relaxed('recording delivered alerts', () =>
      this.#db.transaction(() => {
        for (const s of seqs) this.#s.remove.run(s);
      })(),
    );
  }

  /** Records a failed attempt on each delivery (for diagnostics; the retry schedule is per receiver). */
  failed(seqs: readonly number[], error: string): void {
    const text = redact(error);
    this.#relaxed('recording failed deliveries', () =>
      this.#db.transaction(() => {
        for (const s of seqs) this.#s.fail.run(text, s);
      })(),
    );
  }

  /** The emergency upload recorded as in flight, or null. */
  emergencyIntent(): { toSeq: number; startedMs: number } | null {
    const r = unlessLocked('reading the emergency intent', () => this.#s.intent.get() as { to_seq: number; started_ms: number } | undefined);
    return r ? { toSeq: r.to_seq, startedMs: r.started_ms } : null;
  }

  /** Alerts not yet uploaded with seq ≤ `toSeq` (all of them when `toSeq` is null, at most `limit`). */
  emergencyChunk(limit: number, toSeq: number | null): EmergencyChunk | null {
    const cached = this.#recent.size > 0 ? this.#cachedChunk(limit, toSeq) : null;
    if (cached) return cached;
    const rows = unlessLocked('reading the emergency queue', () =>
      (toSeq === null ? this.#s.pendingAlerts.all(limit) : this.#s.pendingAlertsUpTo.all(toSeq)) as Array<{ seq: number; alert_id: string; reading_id: number; event_ms: number | null; detected_ms: number; body: string }>,
    );
    if (rows.length === 0) return null;
    return {
      toSeq: rows[rows.length - 1].seq,
      alerts: rows.map((r) => ({ seq: r.seq, alertId: r.alert_id, readingId: r.reading_id, eventMs: r.event_ms ?? NaN, detectedMs: r.detected_ms, body: r.body })),
    };
  }

  /** The chunk {@link emergencyChunk} reads, from {@link #recent}: its seqs come from the file, its bodies from memory; null when one is missing. */
  #cachedChunk(limit: number, toSeq: number | null): EmergencyChunk | null {
    const seqs = unlessLocked('reading the emergency queue', () => (toSeq === null ? this.#s.pendingSeqs.all(limit) : this.#s.pendingSeqsUpTo.all(toSeq)) as number[]);
    if (seqs.length === 0) return null;
    const alerts: Array<StoredAlert & { seq: number }> = [];
    for (const seq of seqs) {
      const a = this.#recent.get(seq);
      if (a === undefined) return null;
      alerts.push({ seq, alertId: a.alertId, readingId: a.readingId, eventMs: a.eventMs, detectedMs: a.detectedMs, body: a.body });
    }
    return { toSeq: seqs[seqs.length - 1], alerts };
  }

  /** Records the intent to upload the alerts up to `toSeq` (the write-ahead step). */
  beginEmergency(toSeq: number, startedMs: number): void {
    this.#durable();
    unlessLocked('recording the emergency intent', () => this.#s.begin.run(toSeq, startedMs));
  }

  /** After the upload: marks the alerts up to `toSeq` uploaded and clears the intent, in one transaction (no fsync: a lost commit replays the intent onto the same keys). */
  commitEmergency(toSeq: number): void {
    this.#relaxed('committing the emergency upload', () =>
      this.#db.transaction(() => {
        this.#s.markUploaded.run(toSeq);
        this.#s.clearIntent.run();
      }).immediate(),
    );
    // Seqs grow in insertion order, so the uploaded ones are the map's first entries.
    for (const seq of this.#recent.keys()) {
      if (seq > toSeq) break;
      this.#recent.delete(seq);
    }
  }

  /** Alerts not yet in the emergency bucket. */
  emergencyBacklog(): number {
    return unlessLocked('reading the emergency queue', () => this.#s.backlog.get() as number);
  }
}

function prepare(db: Database.Database) {
  return {
    ensure: db.prepare('INSERT INTO alert_cursor (name, last_id, updated_at) VALUES (?, ?, ?) ON CONFLICT(name) DO NOTHING'),
    cursor: db.prepare('SELECT last_id, state FROM alert_cursor WHERE name = ?'),
    save: db.prepare('UPDATE alert_cursor SET last_id = ?, state = ?, updated_at = ? WHERE name = ?'),
    prune: db.prepare(
      'DELETE FROM alerts WHERE seq <= (SELECT to_seq FROM emergency_uploaded) AND reading_id <= ? AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.alert_seq = alerts.seq)',
    ),
    insertAlert: db.prepare('INSERT INTO alerts (alert_id, reading_id, event_ms, detected_ms, body) VALUES (?, ?, ?, ?, ?) ON CONFLICT(alert_id) DO NOTHING'),
    insertDelivery: db.prepare('INSERT INTO deliveries (receiver, alert_seq) VALUES (?, ?) ON CONFLICT DO NOTHING'),
    count: db.prepare('SELECT count(*) FROM deliveries WHERE receiver = ?').pluck(),
    trimmedPriorities: db.prepare(
      "SELECT json_extract(a.body, '$.alert_priority') AS priority, count(*) AS n FROM (SELECT alert_seq FROM deliveries WHERE receiver = ? ORDER BY seq LIMIT ?) d JOIN alerts a ON a.seq = d.alert_seq GROUP BY priority",
    ),
    trim: db.prepare('DELETE FROM deliveries WHERE seq IN (SELECT seq FROM deliveries WHERE receiver = ? ORDER BY seq LIMIT ?)'),
    queued: db.prepare('SELECT d.seq AS seq, a.alert_id AS alertId, a.body AS body, d.attempts AS attempts FROM deliveries d JOIN alerts a ON a.seq = d.alert_seq WHERE d.receiver = ? ORDER BY d.seq LIMIT ?'),
    remove: db.prepare('DELETE FROM deliveries WHERE seq = ?'),
    fail: db.prepare('UPDATE deliveries SET attempts = attempts + 1, last_error = ? WHERE seq = ?'),
    intent: db.prepare('SELECT to_seq, started_ms FROM emergency_intent WHERE id = 1'),
    begin: db.prepare('INSERT INTO emergency_intent (id, to_seq, started_ms) VALUES (1, ?, ?) ON CONFLICT(id) DO UPDATE SET to_seq = excluded.to_seq, started_ms = excluded.started_ms'),
    clearIntent: db.prepare('DELETE FROM emergency_intent WHERE id = 1'),
    pendingAlerts: db.prepare('SELECT seq, alert_id, reading_id, event_ms, detected_ms, body FROM alerts WHERE seq > (SELECT to_seq FROM emergency_uploaded) ORDER BY seq LIMIT ?'),
    pendingSeqs: db.prepare('SELECT seq FROM alerts WHERE seq > (SELECT to_seq FROM emergency_uploaded) ORDER BY seq LIMIT ?').pluck(),
    pendingSeqsUpTo: db.prepare('SELECT seq FROM alerts WHERE seq > (SELECT to_seq FROM emergency_uploaded) AND seq <= ? ORDER BY seq').pluck(),
    pendingAlertsUpTo: db.prepare('SELECT seq, alert_id, reading_id, event_ms, detected_ms, body FROM alerts WHERE seq > (SELECT to_seq FROM emergency_uploaded) AND seq <= ? ORDER BY seq'),
    markUploaded: db.prepare('UPDATE emergency_uploaded SET to_seq = max(to_seq, ?) WHERE id = 1'),
    backlog: db.prepare('SELECT count(*) FROM alerts WHERE seq > (SELECT to_seq FROM emergency_uploaded)').pluck(),
  };
}
