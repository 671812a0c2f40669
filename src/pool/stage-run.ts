/**
 * Worker side of KernelPool.stage: a whole batch of a stateless row stage (ingestion, validated,
 * enriched) in one worker — read its id range over the worker's own read-only connection, run
 * the stage (its kernels, encoding, gzip), and hand back finished object bodies and the batch's
 * columns, transferred, not copied. The main thread keeps only control, ordering and commits
 * (issue 12: everything but gzip used to run on the main thread). Two batches in flight use both
 * workers; the stage code is the same as on the main thread, so the bytes are too.
 */
import type { ColumnarBatch } from '../batch.ts';
import type { Kernels } from '../kernels/types.ts';
import { CoordinatePolicy } from '../privacy/coordinates.ts';
import { createStage } from '../stages/index.ts';
import type { Stage, StageOutput } from '../stages/types.ts';
import { readerFor } from './read-columns.ts';
import type { StageSpec, StageTask } from './types.ts';

/** Stages built in this worker, by spec (an enriched stage keeps its seed cache and snapshot between batches). */
const stages = new Map<string, Promise<Stage>>();

/** This worker's stage for `spec`, made by the run's own stage registry (src/stages/index.ts) from the spec's settings. */
function stageFor(spec: StageSpec, kernels: Kernels): Promise<Stage> {
  const key = JSON.stringify(spec);
  let s = stages.get(key);
  if (s) return s;
  const e = spec.enriched;
  if (spec.type === 'enriched' && !e) throw new RangeError('an enriched stage task needs its fuzzing settings');
  s = createStage(spec.type, {
    // Windows are never built here: only the row stages run in workers (StageSpec['type']).
    options: { fuzzRadiusKm: e?.radiusKm ?? 0, keepOriginalGps: e?.keepOriginalGps ?? false, window: 0, lateness: 0 },
    kernels: () => Promise.resolve(kernels),
    identity: e?.identity ?? null,
    sourceFile: e?.sourceFile ?? '',
    fuzzing: async () => {
      if (!e) throw new RangeError('only an enriched stage task carries fuzzing settings');
      return new CoordinatePolicy({ fuzzing: { kernels, key: e.fuzzKey, radiusKm: e.radiusKm }, keepOriginal: e.keepOriginalGps });
    },
  });
  // A handful of specs at most (one per stage and settings); never an unbounded cache.
  if (stages.size > 8) stages.clear();
  stages.set(key, s);
  s.catch(() => stages.delete(key));
  return s;
}

/** What a stage task returns: the stage's output (finished objects) and the batch it read. */
export interface StageResult {
  readonly output: StageOutput;
  readonly batch: ColumnarBatch;
}

/** Reads the task's id range and runs its stage on it. */
export async function runStageTask(task: StageTask, kernels: Kernels): Promise<StageResult> {
  if (!(Number.isInteger(task.afterId) && Number.isInteger(task.untilId) && task.afterId <= task.untilId)) {
    throw new RangeError(`stage task: need integer ids with afterId ≤ untilId, got ${task.afterId}..${task.untilId}`);
  }
  const reader = readerFor(task.db, task.spec.columns, task.spec.extras, task.spec.keepTimestampText, task.dbFile);
  const batch = reader.read(task.afterId, task.limit, task.untilId);
  if (batch.length === 0) return { batch, output: { objects: [], recordsOut: 0 } };
  // A new batch is named after the rows it holds, known only now (a replay brings its recorded name).
  const batchId = task.ctx.batchId || `${task.ctx.nodeId}-${task.spec.type}-${batch.id[0]}-${batch.id[batch.length - 1]}`;
  const output = await (await stageFor(task.spec, kernels)).process(batch, { ...task.ctx, batchId });
  // The main thread scores the batch and builds alerts from its typed columns (the event time,
  // not the stored text): the 50k timestamp strings are not cloned across for nothing.
  return { batch: batch.timestampText ? { ...batch, timestampText: null } : batch, output };
}
