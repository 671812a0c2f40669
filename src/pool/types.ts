/** The messages that cross into KernelPool workers and back: one place for their shapes. */
import type { ColumnarBatch } from '../batch.ts';
import type { NodeIdentity } from '../meta/identity.ts';
import type { BatchContext } from '../stages/types.ts';
import type { StageResult } from './stage-run.ts';
import type { ColumnName } from '../source/schema.ts';
import type { KernelImpl } from '../kernels/types.ts';
import type { PipelineType } from '../state/pipeline-types.ts';
import type { AlertStamps, DetectionById } from '../alerts/record.ts';
import type { CoordinatePolicySpec } from '../privacy/coordinates.ts';

/**
 * The file a task's `db` path must name (`dev:ino`, source/open.ts fileIdentity): the one the run
 * opened. A sensor that replaced its database mid-run leaves the run's own connection on the old
 * file while a worker opening the path would read the new one; the worker refuses instead
 * (SOURCE_FILE_REPLACED), and the run stops as it does when it notices the replacement itself.
 * Absent or null: whatever file the path names.
 */
export type DbFile = string | null;

/** A worker reads rows `afterId < id ≤ untilId` into a ColumnarBatch of the given columns (transferred back). */
export interface ReadColumnsTask {
  readonly kernel: 'readColumns';
  readonly impl: KernelImpl;
  /** Path of the sensor database, opened read-only by the worker (one connection per thread and path). */
  readonly db: string;
  /** {@link DbFile}. */
  readonly dbFile?: DbFile;
  readonly afterId: number;
  readonly untilId: number;
  /** Rows at most (the capacity the worker allocates). */
  readonly limit: number;
  readonly columns: readonly ColumnName[];
  readonly extras: readonly string[];
  readonly keepTimestampText: boolean;
}

/** What a worker needs to build a stateless row stage itself (plain data; the fuzzing key stays in this process). */
export interface StageSpec {
  /** A stateless row stage (a stage without restoreState): the others run on the main thread. */
  readonly type: Exclude<PipelineType, 'aggregated'>;
  readonly columns: readonly ColumnName[];
  readonly extras: readonly string[];
  readonly keepTimestampText: boolean;
  readonly enriched?: {
    readonly fuzzKey: string;
    readonly radiusKm: number;
    readonly keepOriginalGps: boolean;
    readonly sourceFile: string;
    readonly identity: NodeIdentity | null;
  };
}

/** A worker reads rows `afterId < id ≤ untilId` (at most `limit`) and runs a row stage on them (see stage-run.ts). */
export interface StageTask {
  readonly kernel: 'stage';
  readonly impl: KernelImpl;
  readonly db: string;
  /** {@link DbFile}. */
  readonly dbFile?: DbFile;
  readonly afterId: number;
  readonly untilId: number;
  readonly limit: number;
  readonly spec: StageSpec;
  readonly ctx: BatchContext;
}

/**
 * A worker looks up alerted rows by id (every column in `columns`) and encodes their alert
 * records under the coordinate policy `coordinates` (see alert-records.ts).
 */
export interface AlertRecordsTask {
  readonly kernel: 'alertRecords';
  readonly impl: KernelImpl;
  readonly db: string;
  /** {@link DbFile}. */
  readonly dbFile?: DbFile;
  /** The contract columns the table has (an alert record carries every one of them). */
  readonly columns: readonly ColumnName[];
  readonly detections: readonly DetectionById[];
  /** Node part of the alert ids (`{keyNode}-{reading id}`). */
  readonly keyNode: string;
  readonly detectedMs: number;
  readonly stamps: AlertStamps;
  readonly coordinates: CoordinatePolicySpec;
}

/** The alert records of an AlertRecordsTask, in detection order: readings that vanished meanwhile are left out. */
export interface AlertRecordsResult {
  readonly readingIds: number[];
  readonly bodies: string[];
}

/** The tasks of a KernelPool worker (worker.ts); what they return is in PoolResult. */
export type PoolTask = ReadColumnsTask | StageTask | AlertRecordsTask;

/** What a worker returns for each task kind. */
export interface PoolResult {
  readColumns: ColumnarBatch;
  stage: StageResult;
  alertRecords: AlertRecordsResult;
}
