export { KernelPool, DEFAULT_POOL_OPTIONS } from './kernel-pool.ts';
export type { CallOptions, KernelPoolOptions, ReadAggregateOptions, ReadAggregateResult } from './kernel-pool.ts';
export type { PoolTask, PoolResult, RangePartials, ReadAggregateTask } from './types.ts';
