/** The messages that cross into pool workers and back: one place for their shapes. */
import type { AggregateInput, FuzzInput, FuzzOutput, KernelImpl, ValidateInput, ValidationLimits} from '../kernels/types.ts';

/** One kernel run on one batch slice; typed arrays are transferred, not copied. */
export type PoolTask =
  | { readonly kernel: 'aggregate'; readonly impl: KernelImpl; readonly input: AggregateInput; readonly windowMs: number }
  | { readonly kernel: 'validate'; readonly impl: KernelImpl; readonly input: ValidateInput; readonly limits: ValidationLimits }
  | { readonly kernel: 'fuzz'; readonly impl: KernelImpl; readonly input: FuzzInput; readonly radiusM: number };

/** What a worker returns for each task kind. */
export interface PoolResult {
  /** Packed partials (see packPartials). */
  aggregate: Float64Array;
  validate: Uint32Array;
  fuzz: FuzzOutput;
}
