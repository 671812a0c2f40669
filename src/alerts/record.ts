import type { ColumnarBatch } from '../batch.ts';
import { JsonWriter, fragment } from '../encode/json-writer.ts';
import type { BatchCoordinates } from '../privacy/coordinates.ts';
import { isoRange, isoWriter, typedColumnsWriter } from '../stages/typed.ts';

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

/** One alert to encode: the detection, its row in the batch of alerted rows, and its id. */
export interface AlertToEncode {
  readonly row: number;
  readonly detection: Omit<Detection, 'row'>;
  readonly alertId: string;
}

/** The `_pipeline` members of alert records: for readings with event time, and the fallback variant for those without. */
export interface AlertStamps {
  readonly event: string;
  readonly fallback: string;
}

/** Bytes per chunk of the writer: a poll's or a batch's alerts (≈ 0.7 KiB each) fit in a few. */
const CHUNK_BYTES = 1 << 18;

/**
 * The alert records (contract §5, `AlertRecord`) of `alerts`, whose rows are in `rows` (a batch
 * of the alerted readings with every contract column the table has), as JSON text, in order:
 * `alert_id` (`{node key}-{id}`, the idempotency key), the reading's typed columns as the
 * validated stage writes them — with `latitude`/`longitude` as the coordinate policy decided
 * (fuzzed under enriched, null otherwise; the originals only when kept), and `_privacy` when
 * fuzzed — then score, priority, reasons, event time, detection time, latency and `_pipeline`.
 *
 * All of them go through one byte writer (a writer and a string per alert cost ≈ 50 µs each);
 * only the final bodies become strings, because the outbox stores text.
 */
export function encodeAlerts(rows: ColumnarBatch, coords: BatchCoordinates, alerts: readonly AlertToEncode[], detectedMs: number, stamps: AlertStamps): string[] {
  if (alerts.length === 0) return [];
  const columns = typedColumnsWriter(rows, { gps: coords.gps, originalGps: coords.originalGps, absentAsNull: true, open: OPEN_AFTER_ALERT_ID });
  const privacy = coords.writePrivacy;
  const iso = isoWriter();
  const detectedAt = fragment(`,"detected_at":"${new Date(detectedMs).toISOString()}","latency_ms":`);
  const event = fragment(`,${stamps.event}}`);
  const fallback = fragment(`,${stamps.fallback}}`);
  const chunks: Buffer[] = [];
  const w = new JsonWriter((c) => chunks.push(c), CHUNK_BYTES);
  const ends = new Array<number>(alerts.length);
  for (let k = 0; k < alerts.length; k++) {
    const { row, detection: d, alertId } = alerts[k];
    const hasEventTime = Number.isFinite(d.eventMs);
    const eventMs = hasEventTime ? d.eventMs : detectedMs;
    w.raw(ALERT_ID);
    w.string(alertId);
    columns(w, row);
    if (privacy) privacy(w, row);
    w.raw(SCORE);
    w.number(Number.isFinite(d.score) ? d.score : 0);
    w.raw(PRIORITY[d.priority]);
    w.ascii(JSON.stringify(d.reasons));
    w.raw(EVENT_TIME);
    // Date#toISOString for an instant beyond year 9999 (the writer's four-digit years stop there).
    if (isoRange(eventMs)) iso(w, eventMs);
    else w.string(new Date(eventMs).toISOString());
    w.raw(detectedAt);
    w.number(detectedMs - eventMs);
    w.raw(hasEventTime ? event : fallback);
    ends[k] = w.bytes;
  }
  w.flush();
  const text = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
  const out = new Array<string>(alerts.length);
  let start = 0;
  for (let k = 0; k < alerts.length; k++) {
    out[k] = text.toString('utf8', start, ends[k]);
    start = ends[k];
  }
  return out;
}

/** The alert id of reading `readingId` on node key `keyNode`: the idempotency key of the alert everywhere (outbox, webhooks, emergency bucket). */
export function alertIdOf(keyNode: string, readingId: number): string {
  return `${keyNode}-${readingId}`;
}

/** A detection without its row index: what crosses to a worker that looks the row up by id. */
export type DetectionById = Omit<Detection, 'row'>;

/**
 * The alerts of `detections` whose readings are in `rows` (any order; looked up by id, so a
 * reading that vanished meanwhile is left out), with ids `{keyNode}-{reading id}`, and their
 * bodies in detection order. The one place alert ids and bodies are made, on the main thread or
 * in a worker alike, so both write the same bytes.
 */
export function encodeDetections(
  rows: ColumnarBatch,
  coords: BatchCoordinates,
  detections: readonly DetectionById[],
  keyNode: string,
  detectedMs: number,
  stamps: AlertStamps,
): { readonly alerts: ReadonlyArray<{ readonly detection: DetectionById; readonly alertId: string }>; readonly bodies: string[] } {
  const at = new Map<number, number>();
  for (let i = 0; i < rows.length; i++) at.set(rows.id[i], i);
  const toEncode: AlertToEncode[] = [];
  for (const d of detections) {
    const row = at.get(d.id);
    if (row !== undefined) toEncode.push({ row, detection: d, alertId: alertIdOf(keyNode, d.id) });
  }
  return { alerts: toEncode, bodies: encodeAlerts(rows, coords, toEncode, detectedMs, stamps) };
}

const ALERT_ID = fragment('{"alert_id":');
const OPEN_AFTER_ALERT_ID = fragment(',"id":');
const SCORE = fragment(',"anomaly_score":');
const PRIORITY: Record<Detection['priority'], Uint8Array> = {
  low: fragment(',"alert_priority":"low","reasons":'),
  medium: fragment(',"alert_priority":"medium","reasons":'),
  high: fragment(',"alert_priority":"high","reasons":'),
};
const EVENT_TIME = fragment(',"event_time":');
