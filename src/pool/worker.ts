/**
 * Pool worker: runs one kernel on one transferred batch slice with this thread's own kernel
 * instance (a WASM instance and its memory are per thread) and transfers typed results back.
 */
import { Piscina } from 'piscina';
// Static imports, not loadKernels(): piscina require()s the worker first, and under tsx a worker
// loaded that way has no ESM loader hooks for a dynamic import of a .ts file.
import { referenceKernels } from '../kernels/reference.ts';
import { loadWasmKernels } from '../kernels/wasm.ts';
import { packPartials } from '../kernels/partial.ts';
import { readAggregateRange } from './read-range.ts';
import { batchBuffers, readColumnsRange } from './read-columns.ts';
import { failureOf, runStageTask } from './stage-run.ts';
import type { KernelImpl, Kernels } from '../kernels/types.ts';
import type { PoolTask } from './types.ts';

const loaded = new Map<KernelImpl, Promise<Kernels>>();

function kernels(impl: KernelImpl): Promise<Kernels> {
  let k = loaded.get(impl);
  if (!k) {
    k = impl === 'wasm' ? loadWasmKernels() : Promise.resolve(referenceKernels);
    loaded.set(impl, k);
  }
  return k;
}

/** Wraps a result object so that every typed array in it is transferred, not copied. */
export function moveAll<T extends object>(value: T): T {
  const buffers = Object.values(value)
    .filter((v): v is ArrayBufferView => ArrayBuffer.isView(v))
    .map((v) => v.buffer);
  const transferable = { [Piscina.transferableSymbol]: [...new Set(buffers)], [Piscina.valueSymbol]: value };
  return Piscina.move(transferable as unknown as Parameters<typeof Piscina.move>[0]) as unknown as T;
}

/** The task entry point (piscina option `name: 'run'`). */
export async function run(task: PoolTask): Promise<unknown> {
  const k = await kernels(task.impl);
  switch (task.kernel) {
    case 'aggregate':
      return Piscina.move(packPartials(k.aggregate(task.input, task.windowMs)));
    case 'validate': {
      const mask = k.validate(task.input, task.limits);
      return Piscina.move(mask);
    }
    case 'fuzz':
      return moveAll(k.fuzz(task.input, task.radiusM));
    case 'readAggregate':
      return moveAll(readAggregateRange(task, k));
    case 'readColumns': {
      const batch = readColumnsRange(task);
      return Piscina.move({ [Piscina.transferableSymbol]: batchBuffers(batch), [Piscina.valueSymbol]: batch } as unknown as Parameters<typeof Piscina.move>[0]);
    }
    case 'stage': {
      let r: Awaited<ReturnType<typeof runStageTask>>;
      try {
        r = await runStageTask(task, k);
      } catch (err) {
        return failureOf(err);
      }
      // Only bodies that own their whole ArrayBuffer move: a small Buffer may sit in Node's shared pool, which must stay here.
      const bodies = r.output.objects.filter((o) => o.body.byteOffset === 0 && o.body.byteLength === o.body.buffer.byteLength).map((o) => o.body.buffer).filter((b): b is ArrayBuffer => b instanceof ArrayBuffer);
      return Piscina.move({ [Piscina.transferableSymbol]: [...new Set([...batchBuffers(r.batch), ...bodies])], [Piscina.valueSymbol]: r } as unknown as Parameters<typeof Piscina.move>[0]);
    }
    default:
      throw new RangeError(`unknown pool task kernel ${JSON.stringify((task as { kernel: unknown }).kernel)}`);
  }
}
