import type Database from 'better-sqlite3';
import { ConfigError } from '../errors.ts';
import { READING_COLUMNS, type ColumnName } from './schema.ts';

/**
 * The columns `sensor_readings` really has, read from the table itself: the contract's columns it
 * holds, and any others a writer added (ingestion keeps them too, contract §5: every column as
 * stored). A stage needs only its own columns; one that is missing or renamed is a ConfigError
 * naming it, not an SQL error in the middle of a batch.
 */
export interface TableColumns {
  /** The contract's columns present, in contract order. */
  readonly known: readonly ColumnName[];
  /** Columns the contract does not name, in table order. */
  readonly extra: readonly string[];
}

const KNOWN = new Set<string>(READING_COLUMNS.map((c) => c.name));

/** Names that ingestion writes itself: a table column of that name would be ambiguous in a record. */
const RESERVED = new Set(['_pipeline', '_rescued_data']);

/** Reads the column list of `sensor_readings` (table order). */
export function tableColumns(db: Database.Database): TableColumns {
  const names = db.prepare("SELECT name FROM pragma_table_info('sensor_readings')").pluck().all() as string[];
  const present = new Set(names);
  return {
    known: READING_COLUMNS.map((c) => c.name).filter((n) => present.has(n)),
    extra: names.filter((n) => !KNOWN.has(n)),
  };
}

/**
 * Throws a ConfigError (exit 2) unless every column in `needed` exists, naming the missing ones,
 * who needs them and, for a likely rename, the column that looks like it.
 */
export function requireColumns(table: TableColumns, needed: readonly ColumnName[], who: string): void {
  const have = new Set<string>(table.known);
  const missing = needed.filter((c) => !have.has(c));
  if (missing.length === 0) return;
  const hints = missing
    .map((m) => {
      const like = table.extra.find((e) => e.toLowerCase().includes(m.slice(0, 4)) || m.includes(e.toLowerCase()));
      return like ? ` (${JSON.stringify(like)} looks like ${m} renamed)` : '';
    })
    .join('');
  throw new ConfigError(
    'MISSING_COLUMN',
    `sensor_readings has no column ${missing.map((m) => JSON.stringify(m)).join(', ')}, which ${who} needs${hints}; ` +
      `its columns are: ${[...table.known, ...table.extra].join(', ')}. Restore the column (contract §1), or run a stage that does not need it (ingestion needs only id)`,
  );
}

/** Extra columns whose names collide with what ingestion adds to a record: a ConfigError naming them. */
export function checkExtraNames(table: TableColumns): void {
  const bad = table.extra.filter((n) => RESERVED.has(n));
  if (bad.length) throw new ConfigError('RESERVED_COLUMN', `sensor_readings has a column named ${bad.join(', ')}, a name edgelake writes into every record itself; rename the column`);
}
