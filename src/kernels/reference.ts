import type { Kernels } from './types.ts';
import { aggregateRef } from './ref/aggregate.ts';
import { fuzzRef } from './ref/fuzz.ts';
import { scoreRef } from './ref/score.ts';
import { validateRef } from './ref/validate.ts';

/** The plain-TypeScript kernels: the oracle of the WASM build and the benchmark baseline. */
export const referenceKernels: Kernels = Object.freeze({
  impl: 'ts' as const,
  validate: validateRef,
  score: scoreRef,
  aggregate: aggregateRef,
  fuzz: fuzzRef,
});
