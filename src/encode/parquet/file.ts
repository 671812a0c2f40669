import type { Codec } from './codec.ts';
import { LeafColumn, type ChunkPieces } from './column.ts';
import type { ParquetSchema } from './schema.ts';
import { i64, thriftStruct, type ThriftStruct } from './thrift.ts';

/**
 * One Parquet file of one row group, written column by column: the caller appends a slice of
 * rows to every leaf (typed fillers or the record shredder), calls {@link ParquetFile.endSlice},
 * and so on; each slice becomes one data page per column, so pages start on row boundaries and a
 * file's uncompressed values never pile up beyond one slice. {@link ParquetFile.finish} lays out
 * `PAR1`, the column chunks (dictionary page, data pages), the footer and `PAR1`.
 */

/** Rows per page slice: a page of doubles is then 128 KiB before compression (and a thread holds one slice of every column). */
export const SLICE_ROWS = 16_384;

const MAGIC = Buffer.from('PAR1', 'latin1');

/** Options of {@link ParquetFile}. */
export interface ParquetFileOptions {
  readonly codec: Codec;
  /** `created_by` of the footer, e.g. `edgelake 0.1.0+3f2a1b9`. */
  readonly createdBy: string;
}

/** See the file comment. */
export class ParquetFile {
  readonly schema: ParquetSchema;
  readonly leaves: readonly LeafColumn[];
  readonly #opts: ParquetFileOptions;
  readonly #byPath = new Map<string, LeafColumn>();
  #rows = 0;
  #sliceRows = 0;

  constructor(schema: ParquetSchema, opts: ParquetFileOptions) {
    this.schema = schema;
    this.#opts = opts;
    this.leaves = schema.leaves.map((spec) => new LeafColumn(spec, opts.codec));
    for (const leaf of this.leaves) this.#byPath.set(leaf.spec.path.filter((p) => p !== 'list' && p !== 'element').join('.'), leaf);
  }

  /** The leaf at a dotted path without the list levels, e.g. `_lineage.source_row_id`, `_validation.errors.rule`. */
  leaf(path: string): LeafColumn {
    const l = this.#byPath.get(path);
    if (!l) throw new RangeError(`parquet: no leaf column ${JSON.stringify(path)} (known: ${[...this.#byPath.keys()].join(', ')})`);
    return l;
  }

  /** Rows written so far. */
  get rows(): number {
    return this.#rows + this.#sliceRows;
  }

  /** Ends a slice of `rows` rows that every column has received: one page per column. */
  endSlice(rows: number): void {
    this.#sliceRows += rows;
    for (const leaf of this.leaves) leaf.flushPage();
    this.#rows += this.#sliceRows;
    this.#sliceRows = 0;
  }

  /** The whole file. */
  finish(): Uint8Array {
    this.endSlice(0);
    const chunks: ChunkPieces[] = this.leaves.map((l) => l.finish());
    const parts: Uint8Array[] = [MAGIC];
    let offset = MAGIC.length;
    const columns: ThriftStruct[] = [];
    let total = 0;
    let uncompressed = 0;
    for (const c of chunks) {
      const meta = c.meta(offset);
      columns.push({ 2: i64(offset), 3: meta });
      parts.push(...c.pages);
      offset += c.bytes;
      total += c.bytes;
      uncompressed += c.uncompressedBytes;
    }
    const footer = thriftStruct({
      1: 1,
      2: { list: 'struct', items: this.schema.elements },
      3: i64(this.#rows),
      4: {
        list: 'struct',
        items: [{ 1: { list: 'struct', items: columns }, 2: i64(uncompressed), 3: i64(this.#rows), 5: i64(MAGIC.length), 6: i64(total) }],
      },
      6: this.#opts.createdBy,
      // TYPE_ORDER for every leaf: the min/max statistics follow the types' own order.
      7: { list: 'struct', items: this.leaves.map(() => ({ 1: {} })) },
    });
    const len = Buffer.alloc(4);
    len.writeUInt32LE(footer.length);
    parts.push(footer, len, MAGIC);
    return Buffer.concat(parts);
  }
}
