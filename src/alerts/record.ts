import { READING_COLUMNS } from '../source/schema.ts';

/** A sensor_readings row as better-sqlite3 returns it. */
export type SourceRow = Readonly<Record<string, unknown>>;

/** What the detector decided about one reading. */
export interface Detection {
  readonly id: number;
  /** Event time, epoch ms; NaN when the timestamp was missing or unparseable. */
  readonly eventMs: number;
  readonly score: number;
  readonly priority: 'low' | 'medium' | 'high';
  readonly reasons: readonly string[];
}

const BOOLEAN = new Set(['anomaly_flag', 'synced']);
const INTEGER = new Set(['status_code']);

/**
 * One alert record (contract §5, `AlertRecord`) as JSON text: `alert_id` (`{node}-{id}`, the
 * idempotency key), the reading's typed columns (as validated records type them: numbers or null,
 * 0/1 flags as booleans, `timestamp` as ISO UTC), then score, priority, reasons, event time,
 * detection time and latency. `stamp` is the `_pipeline` member.
 */
export function encodeAlert(row: SourceRow, d: Detection, keyNode: string, detectedMs: number, stamp: string): string {
  let s = `{"alert_id":${JSON.stringify(`${keyNode}-${d.id}`)},"id":${d.id}`;
  for (const { name, kind } of READING_COLUMNS) {
    if (name === 'id') continue;
    const v = row[name];
    let j: string;
    if (name === 'timestamp') j = Number.isFinite(d.eventMs) ? `"${new Date(d.eventMs).toISOString()}"` : 'null';
    else if (kind === 'text') j = typeof v === 'string' ? JSON.stringify(v) : 'null';
    else if (typeof v !== 'number' || !Number.isFinite(v)) j = 'null';
    else if (BOOLEAN.has(name)) j = v === 1 ? 'true' : v === 0 ? 'false' : 'null';
    else if (INTEGER.has(name)) j = Number.isInteger(v) ? String(v) : 'null';
    else j = String(v);
    s += `,"${name}":${j}`;
  }
  const eventMs = Number.isFinite(d.eventMs) ? d.eventMs : detectedMs;
  s += `,"anomaly_score":${Number.isFinite(d.score) ? d.score : 0},"alert_priority":"${d.priority}","reasons":${JSON.stringify(d.reasons)}`;
  s += `,"event_time":"${new Date(eventMs).toISOString()}","detected_at":"${new Date(detectedMs).toISOString()}","latency_ms":${detectedMs - eventMs},${stamp}}`;
  return s;
}
