import type Database from 'better-sqlite3';
import { eventTimes } from '../source/record-batch.ts';
import { BEFORE_FIRST_ID } from '../state/store.ts';

/** How far the lake is behind the sensor database. */
export interface Lag {
  /** Newest id minus the checkpoint's id (ids are the cursor; a gap in them counts as rows; from the smallest id when nothing landed yet). 0 when caught up. */
  readonly rows: number;
  /**
   * Event time of the newest row minus that of the checkpoint's row (of the first row when
   * nothing landed yet), seconds, ≥ 0; 0 when caught up; null when a timestamp is missing or
   * unparseable (a bad sensor clock is not a lag).
   */
  readonly seconds: number | null;
}

/**
 * Measures the checkpoint lag on the run's own connection to the sensor database: the newest id
 * and two timestamps looked up by primary key, a few microseconds. Timestamps are parsed by the
 * reader's own rules (`eventTimes`), so the lag is in the same event time as the records.
 */
export class LagProbe {
  readonly #max: Database.Statement;
  readonly #min: Database.Statement;
  readonly #at: Database.Statement | null;
  readonly #after: Database.Statement | null;

  constructor(db: Database.Database) {
    this.#max = db.prepare('SELECT max(id) FROM sensor_readings').pluck();
    this.#min = db.prepare('SELECT min(id) FROM sensor_readings').pluck();
    const hasTs = (db.prepare("SELECT count(*) FROM pragma_table_info('sensor_readings') WHERE name = 'timestamp'").pluck().get() as number) > 0;
    // A table without a timestamp column (ingestion reads any table) has a lag in rows only.
    this.#at = hasTs ? db.prepare('SELECT timestamp FROM sensor_readings WHERE id = ?').pluck() : null;
    this.#after = hasTs ? db.prepare('SELECT timestamp FROM sensor_readings WHERE id > ? ORDER BY id LIMIT 1').pluck() : null;
  }

  /** The lag behind a checkpoint at `checkpointId` (BEFORE_FIRST_ID: nothing landed yet). */
  measure(checkpointId: number): Lag {
    const max = this.#max.get() as number | bigint | null;
    if (max === null) return { rows: 0, seconds: 0 };
    const newest = Number(max);
    if (newest <= checkpointId) return { rows: 0, seconds: 0 };
    const rows = checkpointId === BEFORE_FIRST_ID ? newest - Number(this.#min.get() as number | bigint) + 1 : newest - checkpointId;
    if (!this.#at || !this.#after) return { rows, seconds: null };
    const from = checkpointId === BEFORE_FIRST_ID ? undefined : this.#at.get(checkpointId);
    const start = from ?? this.#after.get(checkpointId);
    const [startMs, newestMs] = eventTimes([text(start), text(this.#at.get(newest))]);
    const seconds = Number.isFinite(startMs) && Number.isFinite(newestMs) ? Math.max(0, newestMs - startMs) / 1000 : null;
    return { rows, seconds };
  }
}

function text(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}
