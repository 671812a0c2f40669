import type { RunOptions } from '../config.ts';
import { ConfigError } from '../errors.ts';
import type { Kernels } from '../kernels/types.ts';
import type { Logger } from '../log.ts';
import type { NodeIdentity } from '../meta/identity.ts';
import type { StateStore } from '../state/store.ts';
import type { PipelineType } from '../state/pipeline-types.ts';
import type { CoordinatePolicy } from '../privacy/coordinates.ts';
import { createEnrichedStage } from './enriched.ts';
import { createAggregatedStage } from './aggregated.ts';
import { createIngestionStage } from './ingestion.ts';
import { createValidatedStage } from './validated.ts';
import type { Stage } from './types.ts';

/**
 * What a stage is built from: the settings and services its factory uses. The run builds it once
 * (as part of {@link StageEnv}); a pool worker builds its own from the task's stage spec, so
 * both threads make every stage through the same factory below.
 */
export interface StageFactoryEnv {
  readonly options: Pick<RunOptions, 'fuzzRadiusKm' | 'keepOriginalGps' | 'window' | 'lateness'>;
  /** The kernels of `--kernels` (loaded on first use; ingestion never needs them). */
  readonly kernels: () => Promise<Kernels>;
  readonly identity: NodeIdentity | null;
  /** Absolute path of the sensor database, for lineage. */
  readonly sourceFile: string;
  /** The enriched stage's coordinate policy (GPS fuzzing with the run's key), shared with the alerts; made on first use. */
  readonly fuzzing: () => Promise<CoordinatePolicy>;
}

/** What a run's stages and loop may use besides their batches; built once per run. */
export interface StageEnv extends StageFactoryEnv {
  readonly options: RunOptions;
  readonly nodeId: string;
  readonly state: StateStore;
  readonly log: Logger;
}

type StageFactory = (env: StageFactoryEnv) => Stage | Promise<Stage>;

const FACTORIES: Record<PipelineType, StageFactory | null> = {
  ingestion: () => createIngestionStage(),
  validated: async (env) => createValidatedStage({ kernels: await env.kernels() }),
  enriched: async (env) =>
    createEnrichedStage({
      kernels: await env.kernels(),
      // The policy holds the key; the stage needs only to know one exists.
      fuzzKey: '(held by the policy)',
      radiusKm: env.options.fuzzRadiusKm,
      keepOriginalGps: env.options.keepOriginalGps,
      sourceFile: env.sourceFile,
      identity: env.identity,
      policy: await env.fuzzing(),
    }),
  aggregated: async (env) =>
    createAggregatedStage({ kernels: await env.kernels(), windowMs: env.options.window, latenessMs: env.options.lateness }),
};

/**
 * Creates the stage for a pipeline type, or a ConfigError (exit 2) for a type not built yet: the
 * one registry of stages (a new stage is a file in this folder and a line here).
 */
export async function createStage(type: PipelineType, env: StageFactoryEnv): Promise<Stage> {
  const factory = FACTORIES[type];
  if (!factory) throw new ConfigError('STAGE_NOT_AVAILABLE', `pipeline type "${type}" is not yet available in this version of edgelake`);
  return factory(env);
}
