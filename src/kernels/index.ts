export * from './types.ts';
export { loadKernels } from './load.ts';
