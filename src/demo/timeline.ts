import { PIPELINE_TYPES, type PipelineType } from '../state/pipeline-types.ts';

/**
 * When the presenter switches stages during the live run, and how the edge aggregates. Stage 4
 * (aggregated) gets the longest slot: it is the steady state the brief argues for, and its
 * windows need rows to fill them. Windows are shortened so that several close inside the demo.
 */

/** One switch: at `atMs` after the writers start, every node goes to `type`. */
export interface StageSwitch {
  readonly type: PipelineType;
  readonly atMs: number;
}

/** Share of the live run at which each stage starts, in PIPELINE_TYPES order: 15 % each for stages 1-3, the rest for stage 4. */
const STARTS = [0, 0.15, 0.3, 0.45] as const;

/** The four switches for a live run of `durationMs`. */
export function stageSchedule(durationMs: number): StageSwitch[] {
  return PIPELINE_TYPES.map((type, i) => ({ type, atMs: Math.round(STARTS[i] * durationMs) }));
}

/**
 * The aggregation window for a run of `durationMs`: 90 % of the aggregated slot, in whole 5 s,
 * between 5 s and the production 5 min, so windows close during the run and each window holds
 * most of a sensor's rows of the slot (the slot of the default 80 s run is 44 s: 40 s windows).
 */
export function demoWindowMs(durationMs: number): number {
  const slot = (1 - STARTS[3]) * durationMs;
  return Math.min(300_000, Math.max(5_000, Math.round((slot * 0.9) / 5_000) * 5_000));
}

/** A duration as a CLI value (`15s`, `250ms`). */
export function durationArg(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
