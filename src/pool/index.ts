export { KernelPool, DEFAULT_POOL_OPTIONS } from './kernel-pool.ts';
export type { KernelPoolOptions } from './kernel-pool.ts';
export type { PoolTask, PoolResult } from './types.ts';
