/**
 * Bench pool worker: runs one kernel on one transferred batch slice, or reads an id range and
 * aggregates it (read-range.ts), with this thread's own kernels, and transfers typed results back.
 */
// Static imports only (see src/pool/thread.ts): piscina require()s this file, and under tsx a
// worker loaded that way cannot dynamically import TypeScript.
import { Piscina } from 'piscina';
import { packPartials } from './partials.ts';
import { moveWith, taskRunner } from '../../src/pool/thread.ts';
import { readAggregateRange } from './read-range.ts';
import type { BenchTask } from './types.ts';

/** `value` with every typed array among its own properties transferred, not copied. */
function moveAll<T extends object>(value: T): T {
  return moveWith(value, Object.values(value).filter((v): v is ArrayBufferView => ArrayBuffer.isView(v)).map((v) => v.buffer as ArrayBuffer));
}

/** The task entry point (piscina option `name: 'run'`). */
export const run = taskRunner<BenchTask>({
  aggregate: (task, k) => Piscina.move(packPartials(k.aggregate(task.input, task.windowMs))),
  validate: (task, k) => Piscina.move(k.validate(task.input, task.limits)),
  fuzz: (task, k) => moveAll(k.fuzz(task.input, task.radiusM)),
  readAggregate: (task, k) => moveAll(readAggregateRange(task, k)),
});
