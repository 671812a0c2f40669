import type { ColumnarBatch } from '../batch.ts';
import { DEFAULT_LIMITS, type Kernels, type ValidationLimits } from '../kernels/index.ts';
import { READING_COLUMNS } from '../source/schema.ts';
import { fragment } from '../encode/json-writer.ts';
import { typedColumnsFill, validationFill } from '../encode/parquet/readings.ts';
import { columnNode, datasetParquetSchema } from '../encode/parquet/datasets.ts';
import { writeRowObjects, writeRowParquet } from './rows.ts';
import { typedColumnsWriter } from './typed.ts';
import type { BatchContext, Stage, StageOutput } from './types.ts';
import { VALID_JSON, validateBatch } from './validation.ts';

const KEY = fragment(',"_validation":');
const VALID = fragment(',"_validation":' + VALID_JSON);

/** Options of {@link createValidatedStage}. */
export interface ValidatedStageOptions {
  /** The kernels of the run (`await env.kernels()`), loaded once per stage. */
  readonly kernels: Kernels;
  /** Range, timestamp and cross-field limits. Default DEFAULT_LIMITS (src/kernels/types.ts). */
  readonly limits?: ValidationLimits;
}

/**
 * Stage 2, validated: every row as typed columns plus `_validation: {valid, errors}` and
 * `_pipeline`. Invalid rows are kept and flagged, never dropped; the batch's pass/fail counts
 * go to the execution history as `details.rejected` and to the metrics as `invalidCount`.
 */
export function createValidatedStage(opts: ValidatedStageOptions): Stage {
  const limits = opts.limits ?? DEFAULT_LIMITS;
  return {
    type: 'validated',
    bucket: 'validated',
    columns: READING_COLUMNS.map((c) => c.name),
    async process(batch: ColumnarBatch, ctx: BatchContext): Promise<StageOutput> {
      // The batch's start time, not the wall clock: a replay then gives the same verdicts.
      const v = validateBatch(batch, opts.kernels, ctx.startedMs, limits);
      const done = { recordsOut: batch.length, invalidCount: v.invalidCount, details: { rejected: v.summary } };
      if (ctx.format === 'parquet') {
        const typed = typedColumnsFill(batch);
        const validation = validationFill(columnNode(datasetParquetSchema('validated'), '_validation'), v.issues);
        const objects = await writeRowParquet(batch, ctx, 'validated', 'validated', (file, rows, from, to) => {
          typed(file, rows, from, to);
          validation(file, rows, from, to);
        });
        return { objects, ...done };
      }
      const columns = typedColumnsWriter(batch);
      const objects = await writeRowObjects(batch, ctx, 'validated', 'validated', (w, r, end) => {
        columns(w, r);
        const json = v.json(r);
        if (json === VALID_JSON) w.raw(VALID);
        else {
          w.raw(KEY);
          w.utf8(json);
        }
        w.raw(end);
      });
      return { objects, ...done };
    },
  };
}
