import type { ColumnarBatch } from '../batch.ts';
import { type JsonWriter, fragment } from '../encode/json-writer.ts';
import { perSensorSegment } from '../encode/sensor-segments.ts';
import { READING_COLUMNS, SENSOR_SEGMENT, type ColumnName, type NumericColumn, type TextColumn } from '../source/schema.ts';

/**
 * Typed columns (contract §5, `TYPED_COLUMNS` in src/schema/columns.ts), as every stage after
 * ingestion writes them: `timestamp` as ISO-8601 UTC with milliseconds (from the event time
 * SQLite parsed), numbers as numbers, `status_code` as an integer, `anomaly_flag` and `synced`
 * as booleans. A value that cannot be typed — NULL, text in a REAL column, a BLOB, ±Infinity,
 * 2 in a 0/1 flag — is `null` here; `_validation` says why (see validation.ts).
 */

/** Options of {@link typedColumnsWriter}. */
export interface TypedColumnsOptions {
  /**
   * Coordinates to write instead of the batch's `latitude`/`longitude` (enriched writes fuzzed
   * ones), per row; NaN → null. Default: the batch's own.
   */
  readonly gps?: { readonly latitude: Float64Array; readonly longitude: Float64Array };
  /** Also write the batch's coordinates as `original_latitude`/`original_longitude` after `longitude`. Default false. */
  readonly originalGps?: boolean;
  /** Write null for a contract column the batch lacks (the table has no such column) instead of throwing. Default false. */
  readonly absentAsNull?: boolean;
  /** What opens the record before the id's value. Default `{"id":` (an alert writes its `alert_id` first, then `,"id":`). */
  readonly open?: Uint8Array;
}

const BOOLEAN_COLUMNS = new Set(['anomaly_flag', 'synced']);
const INTEGER_COLUMNS = new Set(['status_code']);

/**
 * Builds the writer of a batch's typed columns: `write(w, row)` writes the record's opening
 * `{"id":…,"timestamp":…,…,"sensor_type":…` (no closing brace), in the contract's column order,
 * as bytes (src/encode/json-writer.ts). Dictionary values are encoded once per batch with their
 * key, not once per row; no per-row strings.
 */
export function typedColumnsWriter(batch: ColumnarBatch, opts: TypedColumnsOptions = {}): (w: JsonWriter, row: number) => void {
  /** Per column, in output order: the parts that write it. */
  const entries: Array<{ name: ColumnName; parts: Array<(w: JsonWriter, row: number) => void> }> = [];
  let parts: Array<(w: JsonWriter, row: number) => void> = [];
  const numberPart = (key: Uint8Array, nul: Uint8Array, values: Float64Array) => (w: JsonWriter, r: number) => {
    const v = values[r];
    if (v - v !== 0) return w.raw(nul);
    w.raw(key);
    w.number(v);
  };
  for (const { name, kind } of READING_COLUMNS) {
    if (name === 'id') continue;
    entries.push({ name, parts: (parts = []) });
    const key = fragment(`,"${name}":`);
    const nul = fragment(`,"${name}":null`);
    if (name === 'timestamp') {
      const ev = batch.eventMs;
      const iso = isoWriter();
      parts.push((w, r) => {
        const ms = ev[r];
        if (!isoRange(ms)) return w.raw(nul);
        w.raw(key);
        iso(w, ms);
      });
    } else if (opts.absentAsNull && !batch.columns.includes(name)) {
      parts.push((w) => w.raw(nul));
      if (name === 'longitude' && opts.originalGps) {
        const none = fragment(',"original_latitude":null,"original_longitude":null');
        parts.push((w) => w.raw(none));
      }
    } else if (kind === 'text') {
      const col = batch.text[name as TextColumn];
      if (!col) throw new RangeError(`typed encoding needs column "${name}", which was not read (read: ${batch.columns.join(', ')})`);
      // A BLOB in a TEXT column has code -1 (its value sits in batch.irregular): null here.
      const frags = col.values.map((v) => fragment(`,"${name}":${JSON.stringify(v)}`));
      const codes = col.codes;
      parts.push((w, r) => w.raw(codes[r] < 0 ? nul : frags[codes[r]]));
    } else {
      const gps = name === 'latitude' ? opts.gps?.latitude : name === 'longitude' ? opts.gps?.longitude : undefined;
      const col = batch.numeric[name as NumericColumn];
      if (!col) throw new RangeError(`typed encoding needs column "${name}", which was not read (read: ${batch.columns.join(', ')})`);
      if (BOOLEAN_COLUMNS.has(name)) {
        const yes = fragment(`,"${name}":true`);
        const no = fragment(`,"${name}":false`);
        parts.push((w, r) => w.raw(col[r] === 1 ? yes : col[r] === 0 ? no : nul));
      } else if (INTEGER_COLUMNS.has(name)) {
        parts.push((w, r) => {
          const v = col[r];
          if (!Number.isInteger(v)) return w.raw(nul);
          w.raw(key);
          w.number(v);
        });
      } else parts.push(numberPart(key, nul, gps ?? col));
      if (name === 'longitude' && opts.originalGps) {
        const lat = batch.numeric.latitude;
        const latKey = fragment(',"original_latitude":');
        const latNul = fragment(',"original_latitude":null');
        parts.push(lat ? numberPart(latKey, latNul, lat) : (w) => w.raw(latNul));
        parts.push(numberPart(fragment(',"original_longitude":'), fragment(',"original_longitude":null'), col));
      }
    }
  }
  const all = sensorSegments(batch, entries, opts.gps);
  const ids = batch.id;
  const open = opts.open ?? fragment('{"id":');
  const n = all.length;
  return (w, r) => {
    w.raw(open);
    w.number(ids[r]);
    for (let i = 0; i < n; i++) all[i](w, r);
  };
}

/**
 * The parts of `entries` with each run of sensor-describing columns (firmware … sensor_type,
 * SENSOR_SEGMENT) written as one fragment cached per sensor (src/encode/sensor-segments.ts), as
 * ingestion does: their typed bytes depend only on the values the cache compares. Coordinates
 * written from elsewhere (`gps`: fuzzed or withheld, the originals after them or not) are
 * compared too: a fuzzed position is a fixed offset per sensor, so it repeats with the sensor,
 * and printing its 17 significant digits per row (`String(v)`) was ≈ 0.5 µs a row of enriched.
 */
function sensorSegments(
  batch: ColumnarBatch,
  entries: ReadonlyArray<{ name: ColumnName; parts: Array<(w: JsonWriter, row: number) => void> }>,
  gps: TypedColumnsOptions['gps'],
): Array<(w: JsonWriter, row: number) => void> {
  const cacheable = (name: ColumnName) => SEGMENT.has(name) && batch.columns.includes(name);
  const out: Array<(w: JsonWriter, row: number) => void> = [];
  for (let i = 0; i < entries.length; ) {
    if (!cacheable(entries[i].name)) {
      out.push(...entries[i].parts);
      i++;
      continue;
    }
    let j = i;
    while (j < entries.length && cacheable(entries[j].name)) j++;
    const run = entries.slice(i, j);
    const inner = run.flatMap((e) => e.parts);
    const encode = (w: JsonWriter, r: number) => {
      for (const p of inner) p(w, r);
    };
    const names = run.map((e) => e.name);
    // The run writes `gps` instead of the batch's coordinates: its bytes depend on those values as well.
    const alsoCompared = gps && (names.includes('latitude') || names.includes('longitude')) ? [gps.latitude, gps.longitude] : [];
    out.push(run.length >= 2 ? perSensorSegment(batch, names as Array<TextColumn | NumericColumn>, encode, alsoCompared) : encode);
    i = j;
  }
  return out;
}

const SEGMENT = new Set<ColumnName>(SENSOR_SEGMENT);

/** JSON text of a typed number: finite → the number, anything else (NaN = NULL/irregular, ±Infinity) → null. */
export function finite(v: number): string {
  return v - v === 0 ? String(v) : 'null';
}

/** Earliest and latest instants with a four-digit year (0000-01-01 … 9999-12-31), epoch ms. */
const MIN_ISO_MS = -62167219200000;
const MAX_ISO_MS = 253402300799999;
const DAY_MS = 86_400_000;

/** True for an instant `isoWriter` can write (a four-digit year; not NaN). */
export function isoRange(ms: number): boolean {
  return ms >= MIN_ISO_MS && ms <= MAX_ISO_MS;
}

/**
 * A writer of epoch ms `ms` (in {@link isoRange}) as the JSON string `"YYYY-MM-DDTHH:MM:SS.mmmZ"`,
 * byte for byte what `JSON.stringify(new Date(ms).toISOString())` gives, straight into the
 * buffer: the date part of the last day seen is cached as bytes, the time of day is digits (no
 * string or Date per row). A fractional ms is floored.
 */
export function isoWriter(): (w: JsonWriter, ms: number) => void {
  let day = NaN;
  let prefix = fragment('');
  return (w, ms) => {
    const t = Math.floor(ms);
    const d = Math.floor(t / DAY_MS);
    if (d !== day) {
      day = d;
      prefix = fragment('"' + new Date(d * DAY_MS).toISOString().slice(0, 11));
    }
    let rest = t - d * DAY_MS;
    const h = (rest / 3_600_000) | 0;
    rest -= h * 3_600_000;
    const m = (rest / 60_000) | 0;
    rest -= m * 60_000;
    const s = (rest / 1000) | 0;
    w.raw(prefix);
    w.isoTimeOfDay(h, m, s, rest - s * 1000);
    w.byte(34);
  };
}
