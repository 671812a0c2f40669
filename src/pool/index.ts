export { KernelPool } from './kernel-pool.ts';
export type { KernelPoolOptions, ReadColumnsOptions, ReadPart } from './kernel-pool.ts';
export { WorkerPool } from './worker-pool.ts';
export type { LoadTask, WorkerPoolOptions, WorkerTask } from './worker-pool.ts';
export type { PoolTask, PoolResult, ReadColumnsTask, StageSpec, StageTask } from './types.ts';
