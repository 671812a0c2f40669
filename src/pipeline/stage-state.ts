import type { PipelineType } from '../state/pipeline-types.ts';

/**
 * Stage state as stored with the checkpoint: the active stateful stage and its text, plus the
 * states `parked` by stateful stages the operator switched away from (after their flush: which
 * windows were already emitted), so that switching back turns late rows into corrections
 * instead of emitting a window a second time.
 */
export interface StoredStageState {
  type: PipelineType | null;
  state: string | null;
  parked?: Parked;
}

/** States of stateful stages the operator switched away from, by type. */
export type Parked = Partial<Record<PipelineType, string>>;

/** Parses the stored text (already checked to be JSON by StateStore.checkpoint). */
export function parseStored(text: string | null): StoredStageState | null {
  return text ? (JSON.parse(text) as StoredStageState) : null;
}

/** The state to restore into the stage of `type`: its live state, else its parked one. */
export function storedStateOf(stored: StoredStageState | null, type: PipelineType): string | null {
  if (!stored) return null;
  return stored.type === type ? stored.state : (stored.parked?.[type] ?? null);
}

/** The text stored with a checkpoint for the live stage `type` (its `state`) and the parked states. */
export function storedText(type: PipelineType | null, state: string | null, parked: Parked): string | null {
  const hasParked = Object.keys(parked).length > 0;
  if (state === null && !hasParked) return null;
  return JSON.stringify({ type: state === null ? null : type, state, ...(hasParked ? { parked } : {}) } satisfies StoredStageState);
}
