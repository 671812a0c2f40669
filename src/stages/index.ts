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

/** What a stage may use besides its batches; built once per run. */
export interface StageEnv {
  readonly options: RunOptions;
  /** The kernels of `--kernels` (loaded on first use; ingestion never needs them). */
  readonly kernels: () => Promise<Kernels>;
  readonly nodeId: string;
  readonly identity: NodeIdentity | null;
  readonly state: StateStore;
  /** Absolute path of the sensor database, for lineage. */
  readonly sourceFile: string;
  /** The enriched stage's coordinate policy (GPS fuzzing with the run's key), shared with the alerts; made on first use. */
  readonly fuzzing: () => Promise<CoordinatePolicy>;
  readonly log: Logger;
}

type StageFactory = (env: StageEnv) => Stage | Promise<Stage>;

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

/** Creates the stage for a pipeline type, or a ConfigError (exit 2) for a type not built yet. */
export async function createStage(type: PipelineType, env: StageEnv): Promise<Stage> {
  const factory = FACTORIES[type];
  if (!factory) throw new ConfigError('STAGE_NOT_AVAILABLE', `pipeline type "${type}" is not yet available in this version of edgelake`);
  return factory(env);
}
