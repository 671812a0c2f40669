/**
 * KernelPool worker: reads an id range of the sensor database over this thread's own read-only
 * connection (readColumns), or reads one and runs a row stage on it (stage), and transfers the
 * typed columns and finished bodies back; or looks up alerted rows and encodes their alert
 * records (alertRecords). Kernels are per thread (thread.ts).
 */
// Static imports only (see thread.ts): piscina require()s this file, and under tsx a worker
// loaded that way cannot dynamically import TypeScript.
import { alertRecordsTask } from './alert-records.ts';
import { batchBuffers } from '../batch.ts';
import { ownedBodyBuffers } from '../sink/bodies.ts';
import { readColumnsRange } from './read-columns.ts';
import { runStageTask } from './stage-run.ts';
import { moveWith, taskRunner } from './thread.ts';
import type { PoolTask } from './types.ts';

/** The task entry point (piscina option `name: 'run'`). */
export const run = taskRunner<PoolTask>({
  readColumns: (task) => {
    const batch = readColumnsRange(task);
    return moveWith(batch, batchBuffers(batch));
  },
  stage: async (task, k) => {
    const r = await runStageTask(task, k);
    // Only bodies that own their whole ArrayBuffer move: a small Buffer may sit in Node's shared pool, which must stay here.
    return moveWith(r, [...batchBuffers(r.batch), ...ownedBodyBuffers(r.output.objects)]);
  },
  alertRecords: (task, k) => alertRecordsTask(task, k),
});
