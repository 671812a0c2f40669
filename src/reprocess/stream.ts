import { readIngestionObject, type LakeObject, type LakeRecordSource } from '../source/lake-records.ts';
import type { LakeRow } from '../source/record-batch.ts';

/**
 * A node stream's rows in id order across object boundaries, in batches. One live batch that
 * spans two event hours became two objects whose id ranges interleave, so objects cannot just be
 * read one after the other: this merges them, holding only the objects whose ranges overlap the
 * current position (about one live batch), never the whole stream.
 */

/** Rows of one batch and where they came from. */
export interface RowBatch {
  readonly rows: LakeRow[];
  /** The objects that contributed rows. */
  readonly sources: readonly LakeObject[];
  /** Newest `_pipeline.processed_at` of those objects (epoch ms; NaN when none had one). */
  readonly processedMs: number;
  /** `_pipeline.node_id` of the records (null when they carry none). */
  readonly nodeId: string | null;
}

/** Counters of a merge, for the manifest. */
export interface MergeStats {
  /** Ids met a second time (in another object) and skipped. */
  duplicateIds: number;
  /** Rows taken from each object. */
  readonly rowsByObject: Map<LakeObject, number>;
}

interface Open {
  readonly obj: LakeObject;
  readonly rows: LakeRow[];
  readonly processedMs: number;
  at: number;
}

/**
 * Yields the rows of `objects` (one stream, sorted by first id) in ascending id order, in
 * batches of `batchSize` rows counted from the stream's first row — the boundaries a live
 * `run --once` drain of the same rows uses — ending with the batch that holds `stopAfterId`
 * (default: all of them). An id found twice is kept once (counted in `stats`).
 */
export async function* mergedBatches(
  source: LakeRecordSource,
  objects: readonly LakeObject[],
  batchSize: number,
  stats: MergeStats,
  stopAfterId = Infinity,
): AsyncGenerator<RowBatch> {
  const sorted = [...objects].sort((a, b) => a.firstId - b.firstId || a.lastId - b.lastId);
  const open: Open[] = [];
  let next = 0;
  let lastId = -Infinity;
  let nodeId: string | null = null;
  let rows: LakeRow[] = [];
  let sources = new Set<LakeObject>();
  let processedMs = NaN;
  for (;;) {
    // Open every object that may hold an id below the smallest id still pending in the open ones.
    let minHead = Infinity;
    for (const o of open) if (o.rows[o.at].id < minHead) minHead = o.rows[o.at].id;
    while (next < sorted.length && (open.length === 0 || sorted[next].firstId <= minHead)) {
      const obj = sorted[next++];
      const decoded = await readIngestionObject(source, obj);
      nodeId ??= decoded.nodeId;
      if (decoded.rows.length === 0) continue;
      open.push({ obj, rows: decoded.rows, processedMs: decoded.processedMs, at: 0 });
      if (decoded.rows[0].id < minHead) minHead = decoded.rows[0].id;
    }
    if (open.length === 0) break;
    let k = 0;
    for (let i = 1; i < open.length; i++) if (open[i].rows[open[i].at].id < open[k].rows[open[k].at].id) k = i;
    const o = open[k];
    const row = o.rows[o.at++];
    if (o.at === o.rows.length) open.splice(k, 1);
    if (row.id === lastId) {
      stats.duplicateIds++;
      continue;
    }
    lastId = row.id;
    rows.push(row);
    stats.rowsByObject.set(o.obj, (stats.rowsByObject.get(o.obj) ?? 0) + 1);
    sources.add(o.obj);
    if (o.processedMs > processedMs || processedMs !== processedMs) processedMs = o.processedMs;
    if (rows.length === batchSize) {
      yield { rows, sources: [...sources], processedMs, nodeId };
      if (row.id >= stopAfterId) return;
      rows = [];
      sources = new Set();
      processedMs = NaN;
    }
  }
  if (rows.length > 0) yield { rows, sources: [...sources], processedMs, nodeId };
}

/** One object's rows as one batch (row stages: each object is processed on its own). */
export async function objectBatch(source: LakeRecordSource, obj: LakeObject): Promise<RowBatch> {
  const d = await readIngestionObject(source, obj);
  return { rows: d.rows, sources: [obj], processedMs: d.processedMs, nodeId: d.nodeId };
}
