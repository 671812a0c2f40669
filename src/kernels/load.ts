import type { KernelImpl, Kernels } from './types.ts';

/**
 * Loads the kernels: 'wasm' instantiates build/kernels.wasm (run `npm run build:wasm` first),
 * 'ts' returns the plain-TypeScript reference. Each 'wasm' call gets its own instance and memory
 * (an instance is not shareable between threads; each worker loads its own).
 */
export async function loadKernels(impl: KernelImpl): Promise<Kernels> {
  if (impl === 'ts') return (await import('./reference.ts')).referenceKernels;
  if (impl === 'wasm') return (await import('./wasm.ts')).loadWasmKernels();
  throw new RangeError(`unknown kernel implementation "${String(impl)}" (valid: wasm, ts)`);
}
