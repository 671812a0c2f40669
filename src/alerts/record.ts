import type { ColumnarBatch } from '../batch.ts';
import type { BatchCoordinates } from '../privacy/coordinates.ts';
import { typedColumnsEncoder } from '../stages/typed.ts';

/** What the detector decided about one reading. */
export interface Detection {
  readonly id: number;
  /** Its row index in the batch it was detected in. */
  readonly row: number;
  /** Event time, epoch ms; NaN when the timestamp was missing or unparseable. */
  readonly eventMs: number;
  readonly score: number;
  readonly priority: 'low' | 'medium' | 'high';
  readonly reasons: readonly string[];
}

/**
 * The encoder of alert records (contract §5, `AlertRecord`) over `rows`, a batch holding exactly
 * the alerted readings (in detection order) with every contract column the table has:
 * `alert_id` (`{node key}-{id}`, the idempotency key), the reading's typed columns as the
 * validated stage writes them — with `latitude`/`longitude` as the coordinate policy decided
 * (fuzzed under enriched, null otherwise; the originals only when kept), and `_privacy` when
 * fuzzed — then score, priority, reasons, event time, detection time and latency. `stamp` is
 * the `_pipeline` member (its fallback variant for readings without event time).
 */
export function alertEncoder(rows: ColumnarBatch, coords: BatchCoordinates): (i: number, d: Detection, alertId: string, detectedMs: number, stamp: string) => string {
  const columns = typedColumnsEncoder(rows, { gps: coords.gps, originalGps: coords.originalGps, absentAsNull: true });
  const privacy = coords.privacy;
  return (i, d, alertId, detectedMs, stamp) => {
    const eventMs = Number.isFinite(d.eventMs) ? d.eventMs : detectedMs;
    let s = `{"alert_id":${JSON.stringify(alertId)},` + columns(i).slice(1);
    if (privacy) s += privacy(i);
    s += `,"anomaly_score":${Number.isFinite(d.score) ? d.score : 0},"alert_priority":"${d.priority}","reasons":${JSON.stringify(d.reasons)}`;
    s += `,"event_time":"${new Date(eventMs).toISOString()}","detected_at":"${new Date(detectedMs).toISOString()}","latency_ms":${detectedMs - eventMs},${stamp}}`;
    return s;
  };
}
