import type { Column, ColumnType } from '../../schema/ddl.ts';
import type { ThriftStruct } from './thrift.ts';

/**
 * The Parquet schema of a dataset, made from its table columns (src/schema/ddl.ts, themselves
 * generated from the zod record schemas), so a file's types are exactly the Databricks DDL's:
 * BIGINT → INT64, DOUBLE → DOUBLE, BOOLEAN → BOOLEAN, STRING → BYTE_ARRAY (STRING), TIMESTAMP →
 * INT64 TIMESTAMP(MILLIS, adjusted to UTC), STRUCT → group, ARRAY → the standard three-level LIST
 * (`optional group x (LIST) { repeated group list { optional … element } }`).
 *
 * Every field is OPTIONAL, as Spark writes them: a reader with a supplied schema accepts it, and
 * a record that lacks an optional member (`_pipeline.event_time_fallback`) simply holds null.
 */

/** The Parquet physical types edgelake writes. */
export type Physical = 'BOOLEAN' | 'INT64' | 'DOUBLE' | 'BYTE_ARRAY';

/** A primitive column kind of the DDL. */
export type LeafKind = 'bigint' | 'double' | 'boolean' | 'timestamp' | 'string';

/** One leaf column: a path of the schema holding values. */
export interface LeafSpec {
  /** `path_in_schema`, e.g. `['_validation', 'errors', 'list', 'element', 'field']`. */
  readonly path: readonly string[];
  readonly kind: LeafKind;
  readonly physical: Physical;
  /** Definition level of a present value (every ancestor and the leaf itself are optional). */
  readonly maxDef: number;
  /** Repetition level of the innermost list around it (0 outside lists). */
  readonly maxRep: number;
}

/** A node of the shredding tree (a column or a struct field). */
export type SchemaNode =
  | { readonly kind: 'leaf'; readonly name: string; readonly def: number; readonly leaf: number }
  | { readonly kind: 'struct'; readonly name: string; readonly def: number; readonly fields: readonly SchemaNode[]; readonly from: number; readonly to: number }
  | {
      readonly kind: 'list';
      readonly name: string;
      /** Level of a present (possibly empty) list; +1 with at least one element. */
      readonly def: number;
      /** Repetition level of its elements after the first. */
      readonly rep: number;
      readonly element: SchemaNode;
      readonly from: number;
      readonly to: number;
    };

/** A dataset's Parquet schema: the footer's elements, the leaves in file order, the top-level nodes. */
export interface ParquetSchema {
  readonly elements: readonly ThriftStruct[];
  readonly leaves: readonly LeafSpec[];
  readonly columns: readonly SchemaNode[];
}

const PHYSICAL: Record<LeafKind, Physical> = { bigint: 'INT64', double: 'DOUBLE', boolean: 'BOOLEAN', timestamp: 'INT64', string: 'BYTE_ARRAY' };
const TYPE_ID: Record<Physical, number> = { BOOLEAN: 0, INT64: 2, DOUBLE: 5, BYTE_ARRAY: 6 };
const OPTIONAL = 1;
const REPEATED = 2;
const CONVERTED_UTF8 = 0;
const CONVERTED_LIST = 3;
const CONVERTED_TIMESTAMP_MILLIS = 9;

/** Builds the Parquet schema of `columns` (a dataset's table columns, in order). */
export function parquetSchema(columns: readonly Column[]): ParquetSchema {
  const elements: ThriftStruct[] = [{ 4: 'schema', 5: columns.length }];
  const leaves: LeafSpec[] = [];

  const node = (name: string, type: ColumnType, path: string[], def: number, rep: number): SchemaNode => {
    const here = [...path, name];
    if (type.kind === 'struct') {
      elements.push({ 3: OPTIONAL, 4: name, 5: type.fields.length });
      const from = leaves.length;
      const fields = type.fields.map((f) => node(f.name, f.type, here, def + 1, rep));
      return { kind: 'struct', name, def: def + 1, fields, from, to: leaves.length };
    }
    if (type.kind === 'array') {
      elements.push({ 3: OPTIONAL, 4: name, 5: 1, 6: CONVERTED_LIST, 10: { 3: {} } });
      elements.push({ 3: REPEATED, 4: 'list', 5: 1 });
      const from = leaves.length;
      const element = node('element', type.of, [...here, 'list'], def + 2, rep + 1);
      return { kind: 'list', name, def: def + 1, rep: rep + 1, element, from, to: leaves.length };
    }
    const kind = type.kind;
    const physical = PHYSICAL[kind];
    const el: Record<number, ThriftStruct[number]> = { 1: TYPE_ID[physical], 3: OPTIONAL, 4: name };
    if (kind === 'string') Object.assign(el, { 6: CONVERTED_UTF8, 10: { 1: {} } });
    // TIMESTAMP(isAdjustedToUTC = true, unit = MILLIS): an instant, what Spark's TIMESTAMP is.
    if (kind === 'timestamp') Object.assign(el, { 6: CONVERTED_TIMESTAMP_MILLIS, 10: { 8: { 1: true, 2: { 1: {} } } } });
    elements.push(el);
    leaves.push({ path: here, kind, physical, maxDef: def + 1, maxRep: rep });
    return { kind: 'leaf', name, def: def + 1, leaf: leaves.length - 1 };
  };

  const nodes = columns.map((c) => node(c.name, c.type, [], 0, 0));
  return { elements, leaves, columns: nodes };
}
