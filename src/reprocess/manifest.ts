import type { SinkObject } from '../sink/types.ts';

/**
 * The manifest of one partition of one reprocess run: what it read and what it wrote, written
 * as the partition's LAST object, so its presence means the partition is complete (a kill before
 * it leaves the partition to be rerun, which rewrites the same keys and then writes it).
 *
 * Where: the metrics bucket, `_edgelake/reprocess/{run}/partition-{index}-of-{count}.json`,
 * beside the node manifests (`_edgelake/manifests/…`) and outside the dataset prefixes Auto
 * Loader reads. A run is complete when all `count` partitions' manifests exist.
 */

/** The manifest's shape, version 1 (JSON). */
export interface ReprocessManifest {
  readonly v: 1;
  readonly run: string;
  readonly partition: { readonly index: number; readonly count: number };
  /** The parameters that shaped the output (times as ISO strings). */
  readonly params: Readonly<Record<string, unknown>>;
  /** edgelake version that wrote it. */
  readonly version: string;
  readonly started_at: string;
  readonly finished_at: string;
  /** Where the sources were read (lake folder or S3 endpoint, never credentials). */
  readonly source: string;
  /** Source objects read, with their rows. Warm-up objects (aggregated before --since) included. */
  readonly sources: readonly { readonly bucket: string; readonly key: string; readonly rows: number }[];
  /** Objects written, with their records and bytes. */
  readonly outputs: readonly { readonly bucket: string; readonly key: string; readonly records: number; readonly bytes: number }[];
  readonly rows_in: number;
  readonly records_out: number;
  /** Ids found in two source objects and read once. */
  readonly duplicate_ids: number;
  /** Keys under sensor_readings/ that are not live batch objects, skipped (at most 100 listed). */
  readonly ignored_keys: readonly string[];
}

/** `_edgelake/reprocess/{run}/partition-{index}-of-{count}.json`. */
export function manifestKey(run: string, index: number, count: number): string {
  return `_edgelake/reprocess/${run}/partition-${index}-of-${count}.json`;
}

/** The manifest as the object the sink writes. */
export function manifestObject(bucket: string, m: ReprocessManifest): SinkObject {
  return { bucket, key: manifestKey(m.run, m.partition.index, m.partition.count), body: Buffer.from(JSON.stringify(m, null, 1) + '\n', 'utf8'), records: 0 };
}
