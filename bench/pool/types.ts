/** The messages that cross into bench pool workers (worker.ts) and back: one place for their shapes. */
import type { AggregateInput, FuzzInput, FuzzOutput, KernelImpl, ValidateInput, ValidationLimits } from '../../src/kernels/types.ts';

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

/** One kernel run on one batch slice; its typed arrays are transferred, not copied. */
export type BenchTask =
  | { readonly kernel: 'aggregate'; readonly impl: KernelImpl; readonly input: AggregateInput; readonly windowMs: number }
  | { readonly kernel: 'validate'; readonly impl: KernelImpl; readonly input: ValidateInput; readonly limits: ValidationLimits }
  | { readonly kernel: 'fuzz'; readonly impl: KernelImpl; readonly input: FuzzInput; readonly radiusM: number }
  | ReadAggregateTask;

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
export interface BenchResult {
  /** Packed partials (see packPartials). */
  aggregate: Float64Array;
  validate: Uint32Array;
  fuzz: FuzzOutput;
  readAggregate: RangePartials;
}
