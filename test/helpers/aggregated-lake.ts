/**
 * Exactly-once proof for the aggregated stage, whose records are windows, not rows: every
 * (sensor, window) must end up described by one latest statement (the first emission, or its
 * newest correction) that equals a recomputation from the source rows, each statement must be
 * written once, and the windows together must count every source row once.
 */
import { METRICS } from '../../src/source/schema.ts';
import { readLake } from './lake.ts';
import { query } from './sensor-db.ts';

/** The aggregated bucket with the default prefix and region. */
export const AGGREGATED_BUCKET = 'expanso-databricks-aggregated-us-west-2';

type Rec = Record<string, unknown>;

const WINDOW_KEY_RE = /^sensor_readings\/year=\d{4}\/month=\d\d\/day=\d\d\/hour=\d\d\/(.+)_(\d+)_(\d{12})-(\d{12})\.jsonl\.gz$/;

/**
 * Windows recomputed from `sensor_readings` of `db`: per `sensor_id|window_start ISO` the record
 * count, first/last id and per-metric count/min/max/avg/population stddev over numeric values.
 * Rows whose timestamp SQLite cannot parse belong to no window (as in the stage).
 */
export function recomputeWindows(db: string, windowMs = 300_000): Map<string, Rec> {
  const cols = METRICS.map((m) => `"${m}"`).join(', ');
  const rows = query<Rec & { id: number; ev: number | null }>(
    db,
    `SELECT id, sensor_id, ${cols}, unixepoch(timestamp, 'subsec') * 1000 AS ev FROM sensor_readings ORDER BY id`,
  );
  const groups = new Map<string, Rec[]>();
  for (const r of rows) {
    if (r.ev === null) continue;
    const start = Math.floor(Math.round(r.ev) / windowMs) * windowMs;
    const k = `${r.sensor_id}|${new Date(start).toISOString()}`;
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(r);
  }
  const out = new Map<string, Rec>();
  for (const [k, g] of groups) {
    let first = Infinity;
    let last = -Infinity;
    for (const r of g) {
      first = Math.min(first, r.id as number);
      last = Math.max(last, r.id as number);
    }
    const rec: Rec = { record_count: g.length, first_id: first, last_id: last };
    for (const m of METRICS) {
      const xs = g.map((r) => r[m]).filter((v): v is number => typeof v === 'number');
      const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
      rec[`${m}_count`] = xs.length;
      rec[`${m}_min`] = xs.length ? xs.reduce((a, b) => Math.min(a, b)) : null;
      rec[`${m}_max`] = xs.length ? xs.reduce((a, b) => Math.max(a, b)) : null;
      rec[`${m}_avg`] = xs.length ? mean : null;
      rec[`${m}_stddev`] = xs.length ? Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length) : null;
    }
    out.set(k, rec);
  }
  return out;
}

/** What {@link aggregatedProblems} found besides the problems: windows and corrections seen. */
export interface AggregatedCheck {
  /** Descriptions of the first problems (empty when the lake is complete and duplicate-free). */
  readonly problems: string[];
  /** Distinct (sensor, window) pairs in the lake. */
  readonly windows: number;
  /** Correction records (restatements) in the lake. */
  readonly corrections: number;
  /** Sum of record_count over the latest statement of each window. */
  readonly rows: number;
}

/**
 * Checks the aggregated bucket of `lake` against the source `db`: object keys agree with their
 * records (window start, first/last id), no statement of a window is written twice, the latest
 * statement of each (sensor, window) — the one with the most `late_rows` — equals the
 * recomputation, every recomputed window is present, and record counts sum to the source rows.
 */
export function aggregatedProblems(lake: string, db: string, opts: { bucket?: string; windowMs?: number } = {}): AggregatedCheck {
  const problems: string[] = [];
  const windowMs = opts.windowMs ?? 300_000;
  const latest = new Map<string, Rec>();
  const statements = new Map<string, string>();
  let corrections = 0;
  for (const o of readLake(lake, opts.bucket ?? AGGREGATED_BUCKET)) {
    const m = WINDOW_KEY_RE.exec(o.key);
    if (!m) {
      problems.push(`key does not follow {node}_{window_start_s}_{first}-{last}: ${o.key}`);
      continue;
    }
    const ids = o.records.flatMap((r) => [r.first_id as number, r.last_id as number]);
    if (Number(m[3]) !== Math.min(...ids) || Number(m[4]) !== Math.max(...ids)) problems.push(`${o.key}: key range differs from its records' ids ${Math.min(...ids)}-${Math.max(...ids)}`);
    for (const r of o.records) {
      if (Date.parse(r.window_start as string) / 1000 !== Number(m[2])) problems.push(`${o.key}: record of window ${r.window_start as string} in another window's object`);
      if (Date.parse(r.window_end as string) - Date.parse(r.window_start as string) !== windowMs) problems.push(`${o.key}: window ${r.window_start as string}–${r.window_end as string} is not ${windowMs} ms`);
      if (r.is_correction) corrections++;
      const k = `${r.sensor_id}|${r.window_start}`;
      // A window's statements differ by late_rows (0 for the first emission); the same pair twice is a duplicate.
      const sk = `${k}|${r.late_rows}`;
      const seenIn = statements.get(sk);
      if (seenIn !== undefined) problems.push(`window ${k} with late_rows ${r.late_rows} written twice: ${seenIn} and ${o.key}`);
      statements.set(sk, o.key);
      const prev = latest.get(k);
      if (!prev || (r.late_rows as number) > (prev.late_rows as number)) latest.set(k, r);
    }
  }
  const expected = recomputeWindows(db, windowMs);
  let rows = 0;
  for (const [k, r] of latest) {
    rows += r.record_count as number;
    const e = expected.get(k);
    if (!e) {
      problems.push(`window ${k} has no source rows`);
      continue;
    }
    for (const [f, v] of Object.entries(e)) {
      const got = r[f];
      const same =
        typeof v === 'number' && typeof got === 'number' && !Number.isInteger(v) ? Math.abs(got - v) <= 1e-9 * Math.max(1, Math.abs(v)) : got === v;
      if (!same) problems.push(`window ${k} ${f}: lake ${JSON.stringify(got)}, source ${JSON.stringify(v)}`);
    }
  }
  for (const k of expected.keys()) if (!latest.has(k)) problems.push(`window ${k} is missing from the lake`);
  const sourceRows = [...expected.values()].reduce((s, e) => s + (e.record_count as number), 0);
  if (rows !== sourceRows) problems.push(`record_count sums to ${rows} over the latest statements, the source has ${sourceRows} rows with an event time`);
  return { problems: problems.slice(0, 20), windows: latest.size, corrections, rows };
}
