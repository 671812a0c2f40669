import type { RunOptions } from '../config.ts';
import { ConfigError } from '../errors.ts';
import type { Kernels } from '../kernels/types.ts';
import type { Logger } from '../log.ts';
import type { NodeIdentity } from '../meta/identity.ts';
import type { StateStore } from '../state/store.ts';
import type { PipelineType } from '../state/pipeline-types.ts';
import { resolveFuzzKey } from '../meta/fuzz-key.ts';
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
  readonly log: Logger;
}

type StageFactory = (env: StageEnv) => Stage | Promise<Stage>;

const FACTORIES: Record<PipelineType, StageFactory | null> = {
  ingestion: () => createIngestionStage(),
  validated: async (env) => createValidatedStage({ kernels: await env.kernels() }),
  enriched: async (env) => {
    const fuzz = resolveFuzzKey({ store: env.state });
    // Only where the key came from: the key itself is never logged.
    if (fuzz.source === 'generated') env.log.info('generated a GPS fuzzing key and stored it in the state database (setting gps_fuzz_key)');
    return createEnrichedStage({
      kernels: await env.kernels(),
      fuzzKey: fuzz.key,
      radiusKm: env.options.fuzzRadiusKm,
      keepOriginalGps: env.options.keepOriginalGps,
      sourceFile: env.sourceFile,
      identity: env.identity,
    });
  },
  aggregated: async (env) =>
    createAggregatedStage({ kernels: await env.kernels(), windowMs: env.options.window, latenessMs: env.options.lateness }),
};

/** Creates the stage for a pipeline type, or a ConfigError (exit 2) for a type not built yet. */
export async function createStage(type: PipelineType, env: StageEnv): Promise<Stage> {
  const factory = FACTORIES[type];
  if (!factory) throw new ConfigError('STAGE_NOT_AVAILABLE', `pipeline type "${type}" is not yet available in this version of edgelake`);
  return factory(env);
}
