import { goodRow, type TestRow } from './sensor-db.ts';

/**
 * Rows whose values change from batch to batch in the ways a worker's reader, stage or encoder
 * could get wrong where the main thread's does not (state carried between the batches a worker
 * reads, a value lost crossing threads): NULLs after values, text in REAL and INTEGER columns, odd
 * and missing timestamps, new sensors and firmware, extreme numbers and -0.
 */
export function hostileRows(n: number): TestRow[] {
  const rows: TestRow[] = [];
  for (let i = 1; i <= n; i++) {
    const r: TestRow = { ...goodRow(i, `2025-08-15T${String(10 + Math.floor(i / 2500)).padStart(2, '0')}`) };
    const band = Math.floor(i / 700) % 4; // differs between consecutive batches of 700
    r.sensor_id = `S${(i * 7 + band) % 23}`;
    r.temperature = band === 1 && i % 3 === 0 ? null : 15 + ((i * 37) % 400) / 16;
    if (i % 11 === band) r.humidity = 'n/a';
    if (i % 13 === 0) r.timestamp = band === 2 ? null : '2025-08-15 10:00:00';
    if (i % 17 === 0) r.timestamp = 'yesterday';
    if (band === 3) r.firmware_version = `2.${i % 5}.0`;
    if (i % 19 === band) r.model = null;
    if (i % 23 === 0) r.pressure = band % 2 ? 1e308 : -0;
    if (i % 29 === 0) r.status_code = band === 0 ? 'E42' : 7;
    if (i % 31 === 0) r.latitude = null;
    rows.push(r);
  }
  return rows;
}
