import type { ColumnarBatch } from '../batch.ts';
import type { ColumnName } from '../source/schema.ts';
import type { BucketStage, OutputFormat } from '../sink/key.ts';
import type { SinkObject } from '../sink/types.ts';
import type { PipelineType } from '../state/pipeline-types.ts';

/** What every stage knows about the batch it processes. */
export interface BatchContext {
  /** Deterministic id of the batch: the same on a replay. */
  readonly batchId: string;
  readonly nodeId: string;
  /** The node part of object keys: the node id, plus `.g<N>` after the source database was replaced (ids restarted). */
  readonly keyNode: string;
  /** Package version + git commit, e.g. `0.1.0+3f2a1b9`. */
  readonly version: string;
  /** When this batch was first attempted (epoch ms); the partition fallback for rows without a usable event time. */
  readonly startedMs: number;
  /** Now (epoch ms), for `processed_at`. */
  readonly nowMs: number;
  /** The bucket names of this run, by stage. */
  readonly buckets: Readonly<Record<BucketStage, string>>;
  /** gzip level for objects. */
  readonly gzipLevel: number;
  /** Object format of every dataset (`--format`): gzip JSON Lines or Parquet. Absent: jsonl. */
  readonly format?: OutputFormat;
  /** True when the run is draining for good (`--once` at the end of the data): stages flush what they hold. */
  readonly final: boolean;
}

/** What a stage produced for one batch. */
export interface StageOutput {
  /** Finished objects, ready for the sink. */
  readonly objects: SinkObject[];
  /** Records written (over all objects). */
  readonly recordsOut: number;
  /** Rows that failed validation, when the stage validates. */
  readonly invalidCount?: number;
  /** Small stage-specific facts for the execution history (e.g. rejected counts by rule). */
  readonly details?: Record<string, unknown>;
  /**
   * Stateful stages: the state carried after this batch (e.g. open windows), to be stored with
   * the checkpoint in the same transaction; null when nothing is carried. It must be captured
   * before `process` first awaits, because the runner starts the next batch meanwhile.
   */
  readonly state?: string | null;
}

/**
 * One pipeline stage: a pure-ish transform from a {@link ColumnarBatch} to finished objects.
 * A stage that carries state across batches (open windows) returns it in `StageOutput.state`;
 * the runner stores it with the checkpoint and hands it back through `restoreState` after a
 * restart or a failed upload.
 *
 * The runner pipelines batches: it calls `process` for the next batch while the previous one's
 * compression and upload are in flight, so `process` must do its state changes synchronously
 * (before its first `await`) and must not depend on the previous batch having been committed.
 */
export interface Stage {
  readonly type: PipelineType;
  /** The bucket its records go to. */
  readonly bucket: BucketStage;
  /** Columns it needs read from the source (a table without one of them is refused, naming it). */
  readonly columns: readonly ColumnName[];
  /** True when it reads every column the table has, the contract's and any others (ingestion). */
  readonly everyColumn?: boolean;
  /**
   * True when reading a row costs far more than the stage's own work on it (aggregated: a few
   * narrow columns into windows). Such a stage's large batches are read by worker threads by
   * default; the others read on the main thread, where reading overlaps their compression and
   * a reader thread would only cost memory (`--read-threads` overrides both).
   */
  readonly readBound?: boolean;
  process(batch: ColumnarBatch, ctx: BatchContext): Promise<StageOutput>;
  /** Restores the state of the last checkpoint (null: start empty). */
  restoreState?(state: string | null): void;
  /** Emits whatever the stage still holds (for example open windows), when `ctx.final` or before a switch of type. */
  flush?(ctx: BatchContext): Promise<StageOutput>;
  close?(): Promise<void>;
}
