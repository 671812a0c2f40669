/**
 * The local SQL engine of the preview: DuckDB over a lake folder, with the same
 * `sensor_data.<table>` names as Databricks (views from src/schema/duckdb.ts). DuckDB is a
 * native module of ~60 MB: it is imported only when a query engine is opened, so `run`,
 * `simulate` and `pipeline` never load it.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import type { DuckDBConnection, DuckDBInstance, DuckDBMaterializedResult } from '@duckdb/node-api';
import { ConfigError, PipelineError, messageOf } from '../errors.ts';
import type { LakeLocation } from '../schema/duckdb.ts';
import { FORMAT_EXTENSION } from '../sink/key.ts';
import { lakeViewsSql } from './views.ts';
import { renderedQueries, type RenderedQuery } from '../schema/queries.ts';
import { adaptDatabricksSql, isDatabricksSql } from './adapt.ts';

/** A JSON-safe cell value as the engine returns it (timestamps as `YYYY-MM-DD HH:MM:SS.sss` UTC text). */
export type Cell = null | boolean | number | string | Cell[] | { [key: string]: Cell };

/** One result row, by column name. */
export type Row = Record<string, Cell>;

/** A finished query: its columns in order, with DuckDB type names, and its rows. */
export interface QueryResult {
  readonly columns: readonly { readonly name: string; readonly type: string }[];
  readonly rows: readonly Row[];
}

/** A named query's result, for printing and for the dashboard. */
export interface NamedResult extends QueryResult {
  readonly name: string;
  readonly title: string;
  readonly sql: string;
}

/** DuckDB type ids whose JSON form is a decimal string; turned into numbers when exact enough. */
const NUMERIC_TEXT_TYPES = new Set([5, 9, 16, 19, 32]); // BIGINT, UBIGINT, HUGEINT, DECIMAL, UHUGEINT

/** True when `folder` holds at least one object (at any depth) ending in `extension`; default: of either format. */
export function hasObjects(folder: string, extension?: string): boolean {
  if (!existsSync(folder) || !statSync(folder).isDirectory()) return false;
  const ends = extension ? [extension] : Object.values(FORMAT_EXTENSION);
  return readdirSync(folder, { recursive: true }).some((p) => ends.some((e) => String(p).endsWith(e)));
}

/**
 * A DuckDB connection with the lake's views: a small facade (STYLE 7). Open it with
 * {@link openQueryEngine}; close it when done.
 */
export class QueryEngine {
  readonly #instance: DuckDBInstance;
  readonly #con: DuckDBConnection;
  /** The lake folder the views read. */
  readonly lake: string;
  #queries = 0;

  private constructor(instance: DuckDBInstance, con: DuckDBConnection, lake: string) {
    this.#instance = instance;
    this.#con = con;
    this.lake = lake;
  }

  /** @internal use {@link openQueryEngine}. */
  static async open(loc: LakeLocation): Promise<QueryEngine> {
    if (!existsSync(loc.lake) || !statSync(loc.lake).isDirectory()) {
      throw new ConfigError('LAKE_MISSING', `lake folder ${loc.lake} does not exist; point --lake at the folder given to edgelake run --lake`);
    }
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const instance = await DuckDBInstance.create(':memory:');
    const con = await instance.connect();
    const engine = new QueryEngine(instance, con, loc.lake);
    try {
      for (const sql of lakeViewsSql(loc, hasObjects)) await con.run(sql);
    } catch (err) {
      engine.close();
      throw new PipelineError('QUERY_SETUP_FAILED', `could not create the lake views over ${loc.lake}: ${messageOf(err)}`, { cause: err });
    }
    return engine;
  }

  /** Queries run so far. */
  get queries(): number {
    return this.#queries;
  }

  /**
   * Runs one SQL statement; rejects with PipelineError QUERY_FAILED carrying DuckDB's message.
   * Databricks SQL from the generated files (`IDENTIFIER(:catalog || …)` tables, `:name`
   * parameters) is adapted first (adapt.ts), with `params` by keyword or the defaults; a bad
   * parameter rejects with ConfigError BAD_OPTION.
   */
  async query(sql: string, params: Readonly<Record<string, string | number>> = {}): Promise<QueryResult> {
    let result: DuckDBMaterializedResult;
    const text = isDatabricksSql(sql) ? adaptDatabricksSql(sql, params) : sql;
    try {
      result = await this.#con.run(text);
    } catch (err) {
      throw new PipelineError('QUERY_FAILED', `query failed: ${messageOf(err)}`, { cause: err });
    }
    this.#queries++;
    const names = result.columnNames();
    const typeIds = result.columnTypes().map((t) => t.typeId as number);
    const columns = names.map((name, i) => ({ name, type: result.columnType(i).toString() }));
    const raw = (await result.getRowsJson()) as Cell[][];
    const rows = raw.map((cells) => {
      const row: Row = {};
      for (let i = 0; i < names.length; i++) row[names[i]] = NUMERIC_TEXT_TYPES.has(typeIds[i]) ? numeric(cells[i]) : cells[i];
      return row;
    });
    return { columns, rows };
  }

  /** Runs a query of `renderedQueries()` by name (its DuckDB rendering). */
  async named(q: RenderedQuery): Promise<NamedResult> {
    const r = await this.query(q.duckdbSql);
    return { name: q.name, title: q.title, sql: q.duckdbSql, ...r };
  }

  /** Releases the connection and the database (idempotent). */
  close(): void {
    try {
      this.#con.closeSync();
    } finally {
      this.#instance.closeSync();
    }
  }
}

/** Opens DuckDB in memory and creates a `sensor_data.<table>` view per dataset of the lake folder. */
export function openQueryEngine(loc: LakeLocation): Promise<QueryEngine> {
  return QueryEngine.open(loc);
}

/** The queries `edgelake query` knows by name: the five demo queries, then the dashboard's. */
export function knownQueries(kind?: 'demo' | 'dashboard'): RenderedQuery[] {
  return renderedQueries().filter((q) => kind === undefined || q.kind === kind);
}

/** Finds a query by name; ConfigError naming the valid names otherwise. */
export function queryByName(name: string): RenderedQuery {
  const all = knownQueries();
  const q = all.find((x) => x.name === name);
  if (!q) throw new ConfigError('BAD_OPTION', `--name "${name}" is not a known query; valid: ${all.map((x) => x.name).join(', ')}`);
  return q;
}

/** A decimal string from DuckDB as a number when it converts exactly enough; else kept as text. */
function numeric(v: Cell): Cell {
  if (typeof v !== 'string') return v;
  const n = Number(v);
  if (!Number.isFinite(n)) return v;
  // Integers past 2^53 would silently lose digits: keep them as text.
  if (/^-?\d+$/.test(v) && !Number.isSafeInteger(n)) return v;
  return n;
}
