/**
 * The checker's view of a node's sensor database: the rows it must find in the lake, read
 * read-only with its own query (only the columns the proofs need), never through edgelake.
 */
import Database from 'better-sqlite3';
import { parseEventMs } from './event-time.ts';

/** The five metrics of the contract (§1), in the order aggregated records list them. */
export const METRIC_NAMES = ['temperature', 'humidity', 'pressure', 'vibration', 'voltage'] as const;
/** One of the five metrics. */
export type MetricName = (typeof METRIC_NAMES)[number];

/** One source row as the checker needs it. */
export interface SourceRow {
  readonly id: number;
  /** The stored `timestamp` value as is (text normally; anything a bad writer stored). */
  readonly timestamp: unknown;
  /** Parsed event time, epoch ms, or null when the timestamp is not parseable. */
  readonly eventMs: number | null;
  /** `sensor_id` as text (null when NULL), the way windows group it. */
  readonly sensorId: string | null;
  /** Metric values in METRIC_NAMES order; null for NULL, text or a non-finite number (excluded from statistics). */
  readonly metrics: ReadonlyArray<number | null>;
}

/** Reads every row of `sensor_readings` of `dbPath` in id order (read-only; safe while writers run, WAL). */
export function readSourceRows(dbPath: string): SourceRow[] {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 10000');
    const stmt = db.prepare(`SELECT id, timestamp, sensor_id, ${METRIC_NAMES.map((m) => `"${m}"`).join(', ')} FROM sensor_readings ORDER BY id`).raw(true);
    const rows: SourceRow[] = [];
    for (const r of stmt.iterate() as IterableIterator<unknown[]>) {
      const sensor = r[2];
      rows.push({
        id: Number(r[0]),
        timestamp: r[1],
        eventMs: parseEventMs(r[1]),
        sensorId: sensor === null || sensor === undefined ? null : typeof sensor === 'string' ? sensor : String(sensor),
        metrics: r.slice(3).map((v) => (typeof v === 'number' && Number.isFinite(v) ? v : null)),
      });
    }
    return rows;
  } finally {
    db.close();
  }
}
