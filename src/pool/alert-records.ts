/**
 * Worker side of KernelPool.alertRecords: the alert records of a batch's detections, built in a
 * worker. A stage that reads few columns (aggregated) hands the alert path rows without the
 * reading's other columns, so every alerted row is looked up by id and encoded — ≈ 40 µs an
 * alert, a fifth of the main thread's time in an aggregated catch-up with 1.5 % of rows
 * alerting. Here the worker looks the rows up over its own read-only connection, applies the
 * same coordinate policy and writes the same bytes (alerts/record.ts); the main thread keeps
 * scoring, recording and delivery, in order.
 */
import { encodeDetections } from '../alerts/record.ts';
import type { Kernels } from '../kernels/types.ts';
import { policyFromSpec, type CoordinatePolicy } from '../privacy/coordinates.ts';
import { readerFor } from './read-columns.ts';
import type { AlertRecordsResult, AlertRecordsTask } from './types.ts';

/** Policies built in this worker, by spec (each keeps its per-sensor seed cache). */
const policies = new Map<string, CoordinatePolicy>();

function policyFor(task: AlertRecordsTask, kernels: Kernels): CoordinatePolicy {
  const key = JSON.stringify([task.impl, task.coordinates]);
  let p = policies.get(key);
  if (!p) {
    // A handful of specs at most (withheld, fuzzed; originals kept or not); never an unbounded cache.
    if (policies.size > 8) policies.clear();
    policies.set(key, (p = policyFromSpec(task.coordinates, kernels)));
  }
  return p;
}

/** Looks up the task's alerted rows by id and encodes their alert records. */
export function alertRecordsTask(task: AlertRecordsTask, kernels: Kernels): AlertRecordsResult {
  const rows = readerFor(task.db, task.columns, [], false, task.dbFile).readIds(task.detections.map((d) => d.id));
  const coords = policyFor(task, kernels).apply(rows, task.detectedMs);
  const { alerts, bodies } = encodeDetections(rows, coords, task.detections, task.keyNode, task.detectedMs, task.stamps);
  return { readingIds: alerts.map((a) => a.detection.id), bodies };
}
