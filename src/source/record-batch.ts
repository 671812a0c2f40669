import Database from 'better-sqlite3';
import { dictCode, type ColumnarBatch, type DictColumn, type StoredValue } from '../batch.ts';
import { PipelineError } from '../errors.ts';
import { READING_COLUMNS, type ColumnName, type NumericColumn, type TextColumn } from './schema.ts';

/**
 * Ingestion records (contract §5: every source column as stored, plus `_pipeline`) decoded back
 * into the rows the live reader saw, and those rows into a {@link ColumnarBatch} built exactly as
 * `SensorReader` (src/source/reader.ts) builds one: same columns in table order, same NaN and
 * `irregular` entries, same dictionaries, same `eventMs`, same `rawBytes`.
 *
 * Inverting the ingestion encoding (src/stages/ingestion.ts, src/sink/jsonl.ts):
 * - a JSON number is the stored number; `null` is NULL; `{"$base64": …}` is a BLOB;
 * - in an INTEGER/REAL column the strings "Infinity"/"-Infinity" are the non-finite REALs
 *   (`jsonNumber`). The encoding writes a TEXT 'Infinity' stored in a REAL column the same way,
 *   so that one case cannot be told apart: it decodes as the REAL (as Spark reads it too). "NaN"
 *   stays text: SQLite stores a NaN REAL as NULL, so a "NaN" can only have been text;
 * - any other string is text, kept as stored (in a numeric column: NaN plus `irregular`).
 */

/** Columns of the table, in order, with their declared kind. */
const KINDS = READING_COLUMNS.map((c) => c.kind);
const NAMES = READING_COLUMNS.map((c) => c.name);
const INDEX = new Map<ColumnName, number>(NAMES.map((n, i) => [n, i]));

/** One source row as better-sqlite3 returned it to the live reader. */
export interface LakeRow {
  /** `sensor_readings.id`. */
  readonly id: number;
  /**
   * The contract's 27 columns in table order (`values[0]` is the id); `undefined` where the
   * record has no such member (the table lacked the column when the row was ingested).
   */
  readonly values: readonly (StoredValue | undefined)[];
  /** Columns outside the contract that the record holds (ingestion keeps every column), as stored. */
  readonly extra: ReadonlyMap<string, StoredValue> | null;
  /** Event time, epoch ms, parsed as the reader's SQL parses `timestamp`; NaN when it does not parse. */
  readonly eventMs: number;
}

/** What one ingestion object held besides its rows. */
export interface DecodedRecords {
  /** Rows in ascending id order (an object's lines are not always: its fallback rows come last). */
  readonly rows: LakeRow[];
  /** `_pipeline.node_id` of the records (the node id, not its key form); null when absent. */
  readonly nodeId: string | null;
  /** Newest `_pipeline.processed_at` of the records, epoch ms; NaN when absent. */
  readonly processedMs: number;
}

/** Members ingestion writes itself into every record: never source columns. */
const WRITTEN = new Set(['_pipeline', '_rescued_data']);

/**
 * Decodes the text of an ingestion object (JSON Lines). `where` names the object in errors.
 * Throws a PipelineError (`LAKE_RECORD_INVALID`) naming the object and line of anything that is
 * not an ingestion record: a line that is not JSON or not an object, no integer `id`, a value of
 * no stored type, `_pipeline.type` other than ingestion.
 */
export function decodeIngestionLines(text: string, where: string): DecodedRecords {
  const rows: { id: number; values: (StoredValue | undefined)[]; extra: Map<string, StoredValue> | null; ts: string | null }[] = [];
  let nodeId: string | null = null;
  let processedMs = NaN;
  let lineNo = 0;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end);
    start = end + 1;
    lineNo++;
    if (line.trim() === '') continue;
    const bad = (why: string) => new PipelineError('LAKE_RECORD_INVALID', `${where} line ${lineNo}: ${why}; not an edgelake ingestion record`);
    let rec: unknown;
    try {
      rec = JSON.parse(line);
    } catch (err) {
      throw bad(`not JSON (${(err as Error).message})`);
    }
    if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) throw bad('not a JSON object');
    const r = rec as Record<string, unknown>;
    const values: (StoredValue | undefined)[] = new Array(NAMES.length).fill(undefined);
    let extra: Map<string, StoredValue> | null = null;
    for (const name of Object.keys(r)) {
      if (WRITTEN.has(name)) continue;
      const c = INDEX.get(name as ColumnName);
      const holds = () => bad(`column ${JSON.stringify(name)} holds ${String(JSON.stringify(r[name])).slice(0, 80)}`);
      if (c === undefined) (extra ??= new Map()).set(name, storedOf(r[name], false, holds));
      else values[c] = storedOf(r[name], KINDS[c] !== 'text', holds);
    }
    const id = values[0];
    if (typeof id !== 'number' || !Number.isSafeInteger(id)) throw bad(`id ${JSON.stringify(r.id)} is not an integer`);
    const p = r._pipeline as Record<string, unknown> | undefined;
    if (p && typeof p === 'object') {
      if (p.type !== undefined && p.type !== 'ingestion') throw bad(`_pipeline.type is ${JSON.stringify(p.type)}, expected "ingestion"`);
      if (typeof p.node_id === 'string') nodeId ??= p.node_id;
      const at = typeof p.processed_at === 'string' ? Date.parse(p.processed_at) : NaN;
      if (at === at && !(at <= processedMs)) processedMs = at;
    }
    rows.push({ id, values, extra, ts: typeof values[1] === 'string' ? values[1] : null });
  }
  rows.sort((a, b) => a.id - b.id);
  const times = eventTimes(rows.map((r) => r.ts));
  return { rows: rows.map((r, i) => ({ id: r.id, values: r.values, extra: r.extra, eventMs: times[i] })), nodeId, processedMs };
}

/**
 * The stored value a JSON value of an ingestion record stands for (see the file comment). A
 * column outside the contract has no declared type, so "Infinity" there stays text.
 */
export function storedOf(v: unknown, numericColumn: boolean, bad: () => Error): StoredValue {
  if (v === null || typeof v === 'number') return v;
  if (typeof v === 'string') {
    if (numericColumn && (v === 'Infinity' || v === '-Infinity')) return Number(v);
    return v;
  }
  if (typeof v === 'object' && !Array.isArray(v)) {
    const keys = Object.keys(v);
    const b64 = (v as { $base64?: unknown }).$base64;
    if (keys.length === 1 && typeof b64 === 'string') return Buffer.from(b64, 'base64');
  }
  throw bad();
}

/** The extra columns of these rows, in the order they first appear (the table's: ingestion writes them in it). */
export function extraColumnsOf(rows: readonly LakeRow[]): string[] {
  const seen = new Set<string>();
  for (const r of rows) if (r.extra) for (const k of r.extra.keys()) seen.add(k);
  return [...seen];
}

/** Options of {@link buildBatch}: the reader's (`ReaderOptions` without the database). */
export interface BuildOptions {
  /** The contract's columns to keep (`id` always; `timestamp` whenever the rows have it). Default: all 27. */
  readonly columns?: readonly ColumnName[];
  /** Columns outside the contract to keep, as stored (ingestion keeps every column). Default none. */
  readonly extras?: readonly string[];
  /** Keep the timestamp text as stored. Default true. */
  readonly keepTimestampText?: boolean;
}

/**
 * Builds the batch `SensorReader.read` would return for these rows (ascending ids), with the
 * same projection options. Mirrors the reader's Filler value by value, byte count by byte count.
 * A contract column none of the rows has is left out, as the reader leaves out a column its table
 * lacks; a row without a column some other row has holds NULL there (a column added later).
 */
export function buildBatch(rows: readonly LakeRow[], opts: BuildOptions = {}): ColumnarBatch {
  const present = new Set<ColumnName>(['id']);
  for (const r of rows) for (let c = 1; c < NAMES.length; c++) if (r.values[c] !== undefined) present.add(NAMES[c]);
  const wanted = new Set<ColumnName>(opts.columns ?? NAMES);
  wanted.add('id');
  if (present.has('timestamp')) wanted.add('timestamp');
  const columns = NAMES.filter((n) => wanted.has(n) && present.has(n));
  const at = columns.map((n) => INDEX.get(n)!);
  const kinds = at.map((i) => KINDS[i]);
  const keepTs = (opts.keepTimestampText ?? true) && columns.includes('timestamp');
  const n = rows.length;
  const id = new Float64Array(n);
  const eventMs = new Float64Array(n);
  const timestampText: (string | null)[] | null = keepTs ? [] : null;
  const numeric: Partial<Record<NumericColumn, Float64Array>> = {};
  const text: Partial<Record<TextColumn, DictColumn>> = {};
  const irregular = new Map<ColumnName, Map<number, StoredValue>>();
  const odd = (name: ColumnName, row: number, v: StoredValue) => {
    let m = irregular.get(name);
    if (!m) irregular.set(name, (m = new Map()));
    m.set(row, typeof v === 'bigint' ? Number(v) : v);
  };
  let rawBytes = 0;
  const extra = new Map<string, StoredValue[]>();
  for (const name of opts.extras ?? []) {
    const out: StoredValue[] = new Array(n);
    for (let r = 0; r < n; r++) {
      const v = rows[r].extra?.get(name) ?? null;
      out[r] = v;
      rawBytes += v === null ? 0 : typeof v === 'string' ? v.length : v instanceof Uint8Array ? v.byteLength : 8;
    }
    extra.set(name, out);
  }
  for (let c = 0; c < columns.length; c++) {
    const name = columns[c];
    const src = at[c];
    if (kinds[c] === 'text') {
      const isTs = name === 'timestamp';
      const codes = new Int32Array(n);
      const dict = new Map<string, number>();
      const values: string[] = [];
      for (let r = 0; r < n; r++) {
        const v = rows[r].values[src] ?? null;
        if (typeof v === 'string') {
          rawBytes += v.length;
          if (isTs) {
            if (keepTs) timestampText!.push(v);
            continue;
          }
          codes[r] = dictCode(dict, values, v);
        } else {
          if (isTs) {
            if (keepTs) timestampText!.push(null);
          } else codes[r] = -1;
          if (v !== null) {
            odd(name, r, v);
            rawBytes += 8;
          }
        }
      }
      if (!isTs) text[name as TextColumn] = { codes, values };
    } else {
      const out = name === 'id' ? id : new Float64Array(n);
      for (let r = 0; r < n; r++) {
        const v = rows[r].values[src] ?? null;
        rawBytes += 8;
        if (typeof v === 'number') out[r] = v;
        else {
          out[r] = NaN;
          if (v !== null) {
            odd(name, r, v);
            if (typeof v === 'string') rawBytes += v.length - 8;
          }
        }
      }
      if (name !== 'id') numeric[name as NumericColumn] = out;
    }
  }
  const hasTs = columns.includes('timestamp');
  for (let r = 0; r < n; r++) eventMs[r] = hasTs ? rows[r].eventMs : NaN;
  return { length: n, columns, extra, id, eventMs, timestampText, numeric, text, irregular, rawBytes };
}

/** Timestamps parsed per statement call; the statement has this many result columns. */
const PARSE_CHUNK = 200;
let parser: { db: Database.Database; stmt: Database.Statement } | null = null;

/**
 * Event times of timestamp texts, epoch ms (NaN for null or unparseable), computed by SQLite
 * with the reader's own expression — only real calendar dates, offsets honoured, the `subsec`
 * precision — so the result is the reader's by construction, not by imitation. Each text is
 * bound as a parameter, as the stored value was to the reader's query.
 */
export function eventTimes(texts: readonly (string | null)[]): Float64Array {
  const out = new Float64Array(texts.length).fill(NaN);
  const strings: number[] = [];
  for (let i = 0; i < texts.length; i++) if (texts[i] !== null) strings.push(i);
  if (strings.length === 0) return out;
  if (!parser) {
    const db = new Database(':memory:');
    // The CASE of SensorReader's page query (src/source/reader.ts), over one parameter `v`.
    const expr = `(SELECT CASE WHEN typeof(v) = 'text' AND v GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*'
         AND (substr(v, 9, 2) < '29' OR date(substr(v, 1, 10)) = substr(v, 1, 10))
       THEN unixepoch(v, 'subsec') END FROM (SELECT ? AS v))`;
    const cols = Array.from({ length: PARSE_CHUNK }, () => expr).join(',\n');
    parser = { db, stmt: db.prepare(`SELECT ${cols}`).raw() };
  }
  const args: (string | null)[] = new Array(PARSE_CHUNK);
  for (let s = 0; s < strings.length; s += PARSE_CHUNK) {
    const m = Math.min(PARSE_CHUNK, strings.length - s);
    for (let k = 0; k < PARSE_CHUNK; k++) args[k] = k < m ? texts[strings[s + k]] : null;
    const secs = parser.stmt.get(...args) as (number | null)[];
    for (let k = 0; k < m; k++) {
      const v = secs[k];
      out[strings[s + k]] = typeof v === 'number' ? Math.round(v * 1000) : NaN;
    }
  }
  return out;
}
