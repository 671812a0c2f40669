import { ConfigError } from '../errors.ts';
import { TABLE_SCHEMA } from '../schema/datasets.ts';
import { sqlLiteral, type QueryParam } from '../schema/dialect.ts';
import { QUERY_PARAMS } from '../schema/queries.ts';

/**
 * Databricks SQL as the generated files hold it (databricks/*.sql, the datasets of
 * edgelake.lvdash.json), turned into DuckDB SQL over the local `sensor_data.<table>` views:
 * `IDENTIFIER(:catalog || '.' || :schema || '.<table>')` becomes the view, `:keyword` parameter
 * markers become literals (given values or the defaults of QUERY_PARAMS), and the dialect's
 * function differences (`percentile`, `current_timestamp()`, `explode`) are mapped. For every
 * query of queries.ts the result equals its own DuckDB rendering, so the dashboard's SQL is what
 * runs locally.
 */

/** The table references the Databricks rendering writes (dialect.ts `DATABRICKS.table`). */
const TABLE_REF = /IDENTIFIER\(\s*:catalog\s*\|\|\s*'\.'\s*\|\|\s*:schema\s*\|\|\s*'\.([A-Za-z_][A-Za-z0-9_]*)'\s*\)/gi;

/** Literals, quoted identifiers and comments: never rewritten. */
const OPAQUE = /'(?:[^']|'')*'|`[^`]*`|--[^\n]*/g;

const FUNCTIONS: readonly [RegExp, string][] = [
  [/\bpercentile\s*\(/gi, 'quantile_cont('],
  [/\bcurrent_timestamp\s*\(\s*\)/gi, 'CAST(now() AS TIMESTAMP)'],
  [/\bexplode\s*\(/gi, 'unnest('],
];

const MARKER = /(?<![:\w]):([A-Za-z_][A-Za-z0-9_]*)/g;

/** True when `sql` uses the Databricks table references or parameter markers of the generated files. */
export function isDatabricksSql(sql: string): boolean {
  TABLE_REF.lastIndex = 0;
  if (TABLE_REF.test(sql)) return true;
  return codeParts(sql).some((part) => part.code && [...part.text.matchAll(MARKER)].some((m) => QUERY_PARAMS.some((p) => p.keyword === m[1])));
}

/**
 * The DuckDB form of Databricks SQL. `values` sets parameters by keyword (absent: their default);
 * an unknown marker, or a value that does not fit its parameter's type, is a ConfigError naming it.
 */
export function adaptDatabricksSql(sql: string, values: Readonly<Record<string, string | number>> = {}): string {
  for (const k of Object.keys(values)) {
    if (!QUERY_PARAMS.some((p) => p.keyword === k)) throw new ConfigError('BAD_OPTION', unknownParam(k));
  }
  const tablesDone = sql.replace(TABLE_REF, (_m, table: string) => `${TABLE_SCHEMA}.${table}`);
  return codeParts(tablesDone)
    .map((part) => {
      if (!part.code) return part.text;
      let text = part.text;
      for (const [re, to] of FUNCTIONS) text = text.replace(re, to);
      return text.replace(MARKER, (_m, keyword: string) => {
        const p = QUERY_PARAMS.find((x) => x.keyword === keyword);
        if (!p) throw new ConfigError('BAD_OPTION', unknownParam(keyword));
        return literal(p, values[keyword] ?? p.default);
      });
    })
    .join('');
}

function literal(p: QueryParam, value: string | number): string {
  try {
    return sqlLiteral(p, value);
  } catch (err) {
    throw new ConfigError('BAD_OPTION', (err as Error).message);
  }
}

function unknownParam(keyword: string): string {
  return `:${keyword} is not a query parameter; known: ${QUERY_PARAMS.map((p) => p.keyword).join(', ')}`;
}

/** `sql` cut into code and opaque parts (literals, quoted identifiers, comments), in order. */
function codeParts(sql: string): { text: string; code: boolean }[] {
  const parts: { text: string; code: boolean }[] = [];
  let at = 0;
  for (const m of sql.matchAll(OPAQUE)) {
    if (m.index > at) parts.push({ text: sql.slice(at, m.index), code: true });
    parts.push({ text: m[0], code: false });
    at = m.index + m[0].length;
  }
  if (at < sql.length) parts.push({ text: sql.slice(at), code: true });
  return parts;
}
