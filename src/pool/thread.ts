/**
 * What every worker file of a WorkerPool shares: this thread's kernels (a WASM instance and its
 * memory are per thread), the `load` task the pool warms each thread with, and handing results
 * back with their buffers transferred, not copied.
 */
import { Piscina } from 'piscina';
// Static imports, not loadKernels(): piscina require()s the worker first, and under tsx a worker
// loaded that way has no ESM loader hooks for a dynamic import of a .ts file.
import { referenceKernels } from '../kernels/reference.ts';
import { loadWasmKernels } from '../kernels/wasm.ts';
import type { KernelImpl, Kernels } from '../kernels/types.ts';
import { failureOf } from './failure.ts';
import type { LoadTask, WorkerTask } from './worker-pool.ts';

const loaded = new Map<KernelImpl, Promise<Kernels>>();

/** This thread's kernels of `impl`, loaded once. */
export function threadKernels(impl: KernelImpl): Promise<Kernels> {
  let k = loaded.get(impl);
  if (!k) {
    k = impl === 'wasm' ? loadWasmKernels() : Promise.resolve(referenceKernels);
    loaded.set(impl, k);
  }
  return k;
}

/** `value` marked so that `buffers` move to the main thread with it instead of being cloned. */
export function moveWith<V extends object>(value: V, buffers: Iterable<ArrayBuffer>): V {
  const transferable = { [Piscina.transferableSymbol]: [...new Set(buffers)], [Piscina.valueSymbol]: value };
  return Piscina.move(transferable as unknown as Parameters<typeof Piscina.move>[0]) as unknown as V;
}

/** One handler per task kind of `T`: the task and this thread's kernels in, the (marked) result out. */
export type TaskHandlers<T extends WorkerTask> = { readonly [K in T['kernel']]: (task: Extract<T, { kernel: K }>, kernels: Kernels) => unknown };

/**
 * The `run` export of a worker file (piscina option `name: 'run'`): loads the task's kernels,
 * answers the pool's `load` task, and dispatches every other task to its handler; a handler's
 * error crosses back as data and is rethrown on the main thread with its class (failure.ts).
 */
export function taskRunner<T extends WorkerTask>(handlers: TaskHandlers<T>): (task: T | LoadTask) => Promise<unknown> {
  const byKind = handlers as unknown as Record<string, ((task: WorkerTask, kernels: Kernels) => unknown) | undefined>;
  return async (task) => {
    const k = await threadKernels(task.impl);
    if (task.kernel === 'load') return null;
    const handle = Object.hasOwn(byKind, task.kernel) ? byKind[task.kernel] : undefined;
    if (!handle) throw new RangeError(`unknown pool task kernel ${JSON.stringify(task.kernel)}`);
    try {
      return await handle(task, k);
    } catch (err) {
      // Thrown as plain data: a structured clone of the error would lose its class and code (failure.ts).
      throw failureOf(err);
    }
  };
}
