/** The messages that cross into pool workers and back: one place for their shapes. */
import type { ColumnarBatch } from '../batch.ts';
import type { NodeIdentity } from '../meta/identity.ts';
import type { BatchContext } from '../stages/types.ts';
import type { StageFailure, StageResult } from './stage-run.ts';
import type { ColumnName } from '../source/schema.ts';
import type { AggregateInput, FuzzInput, FuzzOutput, KernelImpl, ValidateInput, ValidationLimits } from '../kernels/types.ts';

/** A worker reads rows `afterId < id ≤ untilId` of `sensor_readings` itself and aggregates them. */
export interface ReadAggregateTask {
  readonly kernel: 'readAggregate';
  readonly impl: KernelImpl;
  /** Path of the sensor database, opened read-only by the worker (one connection per thread and path). */
  readonly db: string;
  readonly afterId: number;
  readonly untilId: number;
  readonly windowMs: number;
}

/** A worker reads rows `afterId < id ≤ untilId` into a ColumnarBatch of the given columns (transferred back). */
export interface ReadColumnsTask {
  readonly kernel: 'readColumns';
  readonly impl: KernelImpl;
  /** Path of the sensor database, opened read-only by the worker (one connection per thread and path). */
  readonly db: string;
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
  readonly type: 'ingestion' | 'validated' | 'enriched';
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
  readonly afterId: number;
  readonly untilId: number;
  readonly limit: number;
  readonly spec: StageSpec;
  readonly ctx: BatchContext;
}

/** One kernel run on one batch slice; typed arrays are transferred, not copied. */
export type PoolTask =
  | { readonly kernel: 'aggregate'; readonly impl: KernelImpl; readonly input: AggregateInput; readonly windowMs: number }
  | { readonly kernel: 'validate'; readonly impl: KernelImpl; readonly input: ValidateInput; readonly limits: ValidationLimits }
  | { readonly kernel: 'fuzz'; readonly impl: KernelImpl; readonly input: FuzzInput; readonly radiusM: number }
  | ReadAggregateTask
  | ReadColumnsTask
  | StageTask;

/** What a worker returns for a ReadAggregateTask. */
export interface RangePartials {
  /** Packed partials (see packPartials); `slot` indexes `sensorIds`. */
  readonly partials: Float64Array;
  /** sensor_id per task-local slot (null: rows whose sensor_id is NULL). */
  readonly sensorIds: readonly (string | null)[];
  /** Rows read. */
  readonly rows: number;
}

/** What a worker returns for each task kind. */
export interface PoolResult {
  /** Packed partials (see packPartials). */
  aggregate: Float64Array;
  validate: Uint32Array;
  fuzz: FuzzOutput;
  readAggregate: RangePartials;
  readColumns: ColumnarBatch;
  stage: StageResult | StageFailure;
}
