import type { ColumnarBatch } from '../batch.ts';
import type { NumericColumn, TextColumn } from '../source/schema.ts';
import { JsonWriter } from './json-writer.ts';

/**
 * Most columns of a reading describe its sensor, not the moment: firmware, model, serial,
 * location, coordinates, height, … repeat on every row of a sensor. A segment of such columns is
 * encoded once per sensor and copied as one fragment for every row whose values are the same as
 * that sensor's last row (a few integer comparisons), instead of a dozen fragments and numbers
 * per row. A row that differs (a firmware update, a moved sensor) is encoded afresh and becomes
 * the sensor's new segment, so the output is exactly what encoding every column would give.
 */

/** One column of a segment: its values as the batch holds them. */
type Probe = { readonly codes: Int32Array } | { readonly values: Float64Array };

/**
 * Wraps `encode` (which writes the segment's columns of a row) with a per-sensor cache keyed by
 * the row's values of `columns`, and of `alsoCompared` (per-row values `encode` writes that are
 * not the batch's own, such as fuzzed coordinates). Returns `encode` itself when caching cannot
 * apply to this batch: no sensor_id, a segment column holding values of another type (its bytes
 * then depend on more than the column's typed value), or fewer than two rows per sensor.
 */
export function perSensorSegment(
  batch: ColumnarBatch,
  columns: ReadonlyArray<TextColumn | NumericColumn>,
  encode: (w: JsonWriter, row: number) => void,
  alsoCompared: readonly Float64Array[] = [],
): (w: JsonWriter, row: number) => void {
  const sensor = batch.text.sensor_id;
  if (!sensor || columns.length < 2 || columns.some((c) => batch.irregular.has(c))) return encode;
  // Under two rows a sensor (a head poll's handful, a few alerts), nearly every row would miss the
  // cache and pay for a second encoding and a copy: writing the columns is cheaper.
  if (batch.length < 2 * sensor.values.length) return encode;
  const probes: Probe[] = [];
  for (const c of columns) {
    const text = batch.text[c as TextColumn];
    const num = batch.numeric[c as NumericColumn];
    if (text) probes.push({ codes: text.codes });
    else if (num) probes.push({ values: num });
    else return encode;
  }
  const codeCols = probes.filter((p): p is { codes: Int32Array } => 'codes' in p).map((p) => p.codes);
  const numCols = [...probes.filter((p): p is { values: Float64Array } => 'values' in p).map((p) => p.values), ...alsoCompared];
  /** Per sensor code: the row the cached segment was encoded from, and its bytes. */
  const lastRow = new Int32Array(sensor.values.length).fill(-1);
  const bytes: Array<Uint8Array | undefined> = new Array(sensor.values.length);
  const scratch: Buffer[] = [];
  const w2 = new JsonWriter((c) => scratch.push(c), 1 << 12);
  const same = (a: number, b: number): boolean => {
    for (let i = 0; i < codeCols.length; i++) if (codeCols[i][a] !== codeCols[i][b]) return false;
    for (let i = 0; i < numCols.length; i++) {
      const x = numCols[i][a];
      const y = numCols[i][b];
      // Same double (NaN = NULL included): the bytes written for it are the same.
      if (x !== y && (x === x || y === y)) return false;
    }
    return true;
  };
  const codes = sensor.codes;
  return (w, r) => {
    const s = codes[r];
    if (s < 0) return encode(w, r);
    const prev = lastRow[s];
    if (prev >= 0 && same(prev, r)) return w.raw(bytes[s]!);
    encode(w2, r);
    w2.flush();
    const b = scratch.length === 1 ? scratch[0] : Buffer.concat(scratch);
    scratch.length = 0;
    bytes[s] = b;
    lastRow[s] = r;
    w.raw(b);
  };
}
