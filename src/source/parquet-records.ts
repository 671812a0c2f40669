import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { StoredValue } from '../batch.ts';
import { PipelineError, messageOf } from '../errors.ts';
import { RESCUED_DATA_COLUMN } from '../schema/ddl.ts';
import { eventTimes, storedOf, type DecodedRecords } from './record-batch.ts';
import { READING_COLUMNS } from './schema.ts';

/**
 * Ingestion objects in Parquet (`run --format parquet`, src/encode/parquet/readings.ts) decoded
 * into the rows their JSON Lines twins decode to (src/source/record-batch.ts), read by DuckDB,
 * which the runtime already carries for `edgelake query`.
 *
 * Inverting the Parquet ingestion encoding:
 * - a typed column's value is the stored value (BIGINT as a number, DOUBLE with ±Infinity, STRING);
 *   NULL is NULL;
 * - `_rescued_data` is a JSON object of what fitted no typed column, each member exactly as the
 *   JSON Lines record holds it (text in a REAL column, a BLOB as `{"$base64": …}`, a fraction in
 *   an INTEGER column, the table's extra columns): a member replaces its column's null and is
 *   decoded by the JSON Lines rules themselves (`storedOf`), so both formats agree by construction;
 * - any other column of the file is an extra column, as in a JSON Lines record.
 * What Parquet cannot say: a contract column the table lacked is a column of NULLs (the schema is
 * the DDL's), and an extra column that is NULL in every row of an object is not there at all.
 */

/** The stamp ingestion writes into every record (node id, processing time), not a source column. */
const PIPELINE = '_pipeline';
const KINDS = new Map<string, string>(READING_COLUMNS.map((c) => [c.name, c.kind]));
const INDEX = new Map<string, number>(READING_COLUMNS.map((c, i) => [c.name, i]));

/** Characters DuckDB's file functions read as a glob: such a path is read through a private copy. */
const GLOB = /[*?[\]{}]/;

/** Where the bytes of a Parquet object are: a local file, or a body fetched from S3. */
export type ParquetInput = { readonly path: string } | { readonly body: Uint8Array };

let connection: Promise<DuckDBConnection> | null = null;
/** DuckDB runs one statement per connection at a time: reads queue here. */
let queue: Promise<unknown> = Promise.resolve();

function duck(): Promise<DuckDBConnection> {
  connection ??= import('@duckdb/node-api').then(async ({ DuckDBInstance }) => {
    // In memory, nothing persisted; DuckDB's threads stop with the process.
    const instance = await DuckDBInstance.create(':memory:');
    return instance.connect();
  });
  return connection;
}

/**
 * Decodes one Parquet ingestion object; `where` names it in errors. A file DuckDB cannot read
 * (not Parquet, truncated, a corrupt page) and a record that is not an ingestion record reject
 * with a PipelineError (`LAKE_RECORD_INVALID`) naming `where`. A body is written to a private
 * temporary file (DuckDB reads files), removed afterwards whatever happens.
 */
export function decodeIngestionParquet(input: ParquetInput, where: string): Promise<DecodedRecords> {
  const run = queue.then(() => decode(input, where));
  queue = run.catch(() => {});
  return run;
}

async function decode(input: ParquetInput, where: string): Promise<DecodedRecords> {
  let dir: string | null = null;
  try {
    let path: string;
    if ('path' in input && !GLOB.test(input.path)) path = input.path;
    else {
      const body = 'body' in input ? input.body : await readFile(input.path);
      dir = await mkdtemp(join(tmpdir(), 'edgelake-parquet-'));
      path = join(dir, 'object.parquet');
      await writeFile(path, body, { mode: 0o600 });
    }
    let file: FileColumns;
    try {
      file = await readColumns(await duck(), path);
    } catch (err) {
      // DuckDB names the file it read: a private copy's path says nothing to the reader of the message.
      const why = firstLine(messageOf(err)).replaceAll(`'${path}'`, 'the object').replaceAll(path, 'the object');
      throw new PipelineError('LAKE_RECORD_INVALID', `${where} is not a readable Parquet file (${why}); not an edgelake ingestion object`, { cause: err });
    }
    return recordsOf(file, where);
  } finally {
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}

/** DuckDB's messages quote the query below their first line; the first line says what is wrong. */
function firstLine(s: string): string {
  return s.split('\n', 1)[0];
}

/** A file's columns as JS values, `_pipeline` as its three members the decoder needs. */
interface FileColumns {
  readonly names: readonly string[];
  readonly columns: readonly unknown[][];
  /** `_pipeline.type`, `.node_id`, `.processed_at` (epoch ms) per row; null where the file has no such member. */
  readonly pipeline: { readonly type: unknown[] | null; readonly node: unknown[] | null; readonly at: unknown[] | null };
}

/**
 * Reads every column of a file. `_pipeline` is reduced in SQL to the members used (a struct
 * turned into JS objects costs more than all other columns together), and values are taken from
 * DuckDB's vectors one by one: `getColumnsJS` converts about three times slower.
 */
async function readColumns(con: DuckDBConnection, path: string): Promise<FileColumns> {
  const describe = await con.prepare('DESCRIBE SELECT * FROM read_parquet($1, hive_partitioning = false)');
  describe.bindVarchar(1, path);
  const schema = (await describe.runAndReadAll()).getRows().map((r) => ({ name: String(r[0]), type: String(r[1]) }));
  const names = schema.filter((c) => c.name !== PIPELINE).map((c) => c.name);
  const select = names.map((n) => `"${n.replaceAll('"', '""')}"`);
  const pipelineType = schema.find((c) => c.name === PIPELINE)?.type ?? '';
  const has = (field: string) => pipelineType.startsWith('STRUCT(') && new RegExp(`[(,] ?"?${field}"? `).test(pipelineType);
  const members = [
    has('type') ? `${PIPELINE}."type"` : null,
    has('node_id') ? `${PIPELINE}.node_id` : null,
    has('processed_at') ? `epoch_ms(try_cast(${PIPELINE}.processed_at AS TIMESTAMPTZ))` : null,
  ];
  for (const m of members) if (m) select.push(m);
  const stmt = await con.prepare(`SELECT ${select.join(', ')} FROM read_parquet($1, hive_partitioning = false)`);
  stmt.bindVarchar(1, path);
  const result = await stmt.run();
  const columns: unknown[][] = select.map(() => []);
  for (let k = 0; k < result.chunkCount; k++) {
    const chunk = result.getChunk(k);
    for (let c = 0; c < select.length; c++) {
      const vector = chunk.getColumnVector(c);
      const out = columns[c];
      for (let r = 0, m = chunk.rowCount; r < m; r++) out.push(vector.getItem(r));
    }
  }
  let next = names.length;
  const member = (i: number) => (members[i] ? columns[next++] : null);
  const pipeline = { type: member(0), node: member(1), at: member(2) };
  return { names, columns: columns.slice(0, names.length), pipeline };
}

/** The rows of a file's columns (see the file comment). */
function recordsOf({ names, columns, pipeline }: FileColumns, where: string): DecodedRecords {
  const n = columns.length ? columns[0].length : 0;
  const idAt = names.indexOf('id');
  if (idAt < 0) throw new PipelineError('LAKE_RECORD_INVALID', `${where} has no id column; not an edgelake ingestion object`);
  const rescuedAt = names.indexOf(RESCUED_DATA_COLUMN);
  const ids = columns[idAt];
  let nodeId: string | null = null;
  let processedMs = NaN;
  const rows: { id: number; values: (StoredValue | undefined)[]; extra: Map<string, StoredValue> | null; ts: string | null }[] = new Array(n);
  for (let r = 0; r < n; r++) {
    const rawId = ids[r];
    const bad = (why: string) =>
      new PipelineError('LAKE_RECORD_INVALID', `${where} row ${r + 1}${typeof rawId === 'bigint' ? ` (id ${rawId})` : ''}: ${why}; not an edgelake ingestion record`);
    // undefined: the file has no such column (as a JSON Lines record without the member).
    const values: (StoredValue | undefined)[] = new Array(READING_COLUMNS.length).fill(undefined);
    let extra: Map<string, StoredValue> | null = null;
    for (let c = 0; c < names.length; c++) {
      if (c === rescuedAt) continue;
      const name = names[c];
      const v = plainValue(columns[c][r], () => bad(`column ${JSON.stringify(name)} holds a value of no stored type (${describe(columns[c][r])})`));
      const at = INDEX.get(name);
      if (at === undefined) (extra ??= new Map()).set(name, v);
      else values[at] = v;
    }
    if (rescuedAt >= 0 && columns[rescuedAt][r] !== null) {
      const text = columns[rescuedAt][r];
      let rescued: unknown;
      try {
        rescued = typeof text === 'string' ? JSON.parse(text) : undefined;
      } catch (err) {
        throw bad(`${RESCUED_DATA_COLUMN} is not JSON (${(err as Error).message})`);
      }
      if (rescued === null || typeof rescued !== 'object' || Array.isArray(rescued)) throw bad(`${RESCUED_DATA_COLUMN} is not a JSON object`);
      for (const [name, member] of Object.entries(rescued as Record<string, unknown>)) {
        const holds = () => bad(`${RESCUED_DATA_COLUMN} member ${JSON.stringify(name)} holds ${String(JSON.stringify(member)).slice(0, 80)}`);
        const at = INDEX.get(name);
        if (at === undefined) (extra ??= new Map()).set(name, storedOf(member, false, holds));
        else values[at] = storedOf(member, KINDS.get(name) !== 'text', holds);
      }
    }
    const id = values[0];
    if (typeof id !== 'number' || !Number.isSafeInteger(id)) throw bad(`id ${describe(rawId)} is not an integer`);
    const type = pipeline.type?.[r] ?? null;
    if (type !== null && type !== 'ingestion') throw bad(`_pipeline.type is ${JSON.stringify(type)}, expected "ingestion"`);
    const node = pipeline.node?.[r];
    if (typeof node === 'string') nodeId ??= node;
    const at = typeof pipeline.at?.[r] === 'bigint' ? Number(pipeline.at[r]) : NaN;
    if (at === at && !(at <= processedMs)) processedMs = at;
    rows[r] = { id, values, extra, ts: typeof values[1] === 'string' ? values[1] : null };
  }
  rows.sort((a, b) => a.id - b.id);
  const times = eventTimes(rows.map((x) => x.ts));
  return { rows: rows.map((x, i) => ({ id: x.id, values: x.values, extra: x.extra, eventMs: times[i] })), nodeId, processedMs };
}

/** A DuckDB value as a stored SQLite value: integers as numbers (as the live reader has them), BLOBs as Buffers. */
function plainValue(v: unknown, bad: () => Error): StoredValue {
  if (v === null || typeof v === 'number' || typeof v === 'string') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Uint8Array) return Buffer.from(v);
  // A BLOB column's value (DuckDBBlobValue).
  if (typeof v === 'object' && v !== null && (v as { bytes?: unknown }).bytes instanceof Uint8Array) return Buffer.from((v as { bytes: Uint8Array }).bytes);
  throw bad();
}

function describe(v: unknown): string {
  if (v instanceof Date) return `timestamp ${v.toISOString()}`;
  if (typeof v === 'bigint') return String(v);
  return `${typeof v} ${String(JSON.stringify(v) ?? v).slice(0, 60)}`;
}
