import type { ParquetFile } from './file.ts';
import type { LeafSpec, ParquetSchema, SchemaNode } from './schema.ts';

/** What shredding writes to: a leaf column of a file, or a recorder of a template. */
export interface LeafSink {
  readonly spec: LeafSpec;
  /** An entry without a value at definition level `def`. */
  level(def: number, rep?: number): void;
  /** A present number (BOOLEAN as 0/1, TIMESTAMP as epoch ms). */
  number(v: number, rep?: number): void;
  /** A present text. */
  text(s: string, rep?: number): void;
}

/**
 * Record shredding (Dremel): a record object, shaped as its zod schema says, into the levels and
 * values of every leaf under a node. Used for the datasets of a few records per object (windows,
 * alerts, metrics) and, in the row stages, for the nested members that vary per row only rarely
 * (`_validation` of an invalid row) or not at all (`_bacalhau_metadata` of a batch, which is
 * recorded once as a {@link Template} and repeated).
 *
 * Values are converted to the leaf's type the way the readers of the JSON Lines objects see them:
 * a STRING leaf takes a string as it is and anything else as its JSON text (`_validation.errors.value`,
 * a number or a text as stored), a TIMESTAMP leaf takes an ISO-8601 text or epoch ms, a BIGINT leaf
 * an integer. A value of another type is a RangeError naming the column: a record that does not
 * match its schema is a bug, never silently written.
 */

/** Writes `record` (one row) into `file`'s top-level columns; missing members are null. */
export function shredRecord(file: ParquetFile, record: Readonly<Record<string, unknown>>): void {
  for (const node of file.schema.columns) shred(file.leaves, node, record[node.name], 0, 0);
}

/** Writes one value of `node` (a top-level column or a struct field) at definition level `def` of its parent and repetition level `rep`. */
export function shred(leaves: readonly LeafSink[], node: SchemaNode, value: unknown, def: number, rep: number): void {
  if (node.kind === 'leaf') {
    const leaf = leaves[node.leaf];
    if (value === null || value === undefined) leaf.level(def, rep);
    else if (leaf.spec.physical === 'BYTE_ARRAY') leaf.text(typeof value === 'string' ? value : JSON.stringify(value), rep);
    else leaf.number(numberOf(leaf, value), rep);
    return;
  }
  if (value === null || value === undefined) return absent(leaves, node, def, rep);
  if (node.kind === 'struct') {
    if (typeof value !== 'object' || Array.isArray(value)) throw new RangeError(`parquet: column ${node.name} needs an object, got ${JSON.stringify(value)}`);
    const o = value as Record<string, unknown>;
    for (const f of node.fields) shred(leaves, f, o[f.name], node.def, rep);
    return;
  }
  if (!Array.isArray(value)) throw new RangeError(`parquet: column ${node.name} needs an array, got ${JSON.stringify(value)}`);
  if (value.length === 0) return absent(leaves, node, node.def, rep);
  for (let i = 0; i < value.length; i++) shred(leaves, node.element, value[i], node.def + 1, i === 0 ? rep : node.rep);
}

/** Every leaf under `node` gets an entry without a value at `def`: the node (or an ancestor) is null, or a list is empty. */
function absent(leaves: readonly LeafSink[], node: SchemaNode, def: number, rep: number): void {
  if (node.kind === 'leaf') return leaves[node.leaf].level(def, rep);
  for (let l = node.from; l < node.to; l++) leaves[l].level(def, rep);
}

function numberOf(leaf: LeafSink, v: unknown): number {
  const { kind, path } = leaf.spec;
  if (kind === 'boolean') {
    if (typeof v === 'boolean') return v ? 1 : 0;
  } else if (kind === 'timestamp') {
    const ms = typeof v === 'string' ? Date.parse(v) : v;
    if (typeof ms === 'number' && Number.isFinite(ms)) return ms;
  } else if (kind === 'bigint') {
    const n = typeof v === 'bigint' ? Number(v) : v;
    if (typeof n === 'number' && Number.isSafeInteger(n)) return n;
  } else if (typeof v === 'number') return v;
  throw new RangeError(`parquet: column ${path.join('.')} (${kind}) cannot hold ${JSON.stringify(typeof v === 'bigint' ? String(v) : v)}`);
}

/**
 * The entries one value of a node makes, recorded once so that a value constant over many rows
 * (the batch's `_bacalhau_metadata`, an object's `_pipeline`) costs a fill per leaf, not a shred
 * per row. A template belongs to a schema, not to one file: a batch records it once for all the
 * files of its hours.
 */
export class Template {
  readonly #entries: readonly Recorder[];

  /** Records `value` of `node` (a top-level column of `schema`). */
  constructor(schema: ParquetSchema, node: SchemaNode, value: unknown) {
    const from = node.kind === 'leaf' ? node.leaf : node.from;
    const to = node.kind === 'leaf' ? node.leaf + 1 : node.to;
    const sinks = new Array<LeafSink>(schema.leaves.length);
    const rec: Recorder[] = [];
    for (let l = from; l < to; l++) rec.push((sinks[l] = new Recorder(schema.leaves[l], l)) as Recorder);
    shred(sinks, node, value, 0, 0);
    this.#entries = rec;
  }

  /** Appends the recorded value `count` times to `file` (of the same schema). */
  repeat(file: ParquetFile, count: number): void {
    for (const e of this.#entries) {
      const leaf = file.leaves[e.index];
      if (e.def.length === 1) leaf.repeat(e.def[0], e.rep[0], e.values[0], count);
      else for (let c = 0; c < count; c++) for (let i = 0; i < e.def.length; i++) leaf.repeat(e.def[i], e.rep[i], e.values[i], 1);
    }
  }
}

/** Stands in for a leaf while a template is recorded. */
class Recorder implements LeafSink {
  readonly spec: LeafSpec;
  readonly index: number;
  readonly def: number[] = [];
  readonly rep: number[] = [];
  readonly values: Array<number | string | undefined> = [];

  constructor(spec: LeafSpec, index: number) {
    this.spec = spec;
    this.index = index;
  }

  level(def: number, rep = 0): void {
    this.def.push(def);
    this.rep.push(rep);
    this.values.push(undefined);
  }

  number(v: number, rep = 0): void {
    this.def.push(this.spec.maxDef);
    this.rep.push(rep);
    this.values.push(v);
  }

  text(s: string, rep = 0): void {
    this.def.push(this.spec.maxDef);
    this.rep.push(rep);
    this.values.push(s);
  }
}
