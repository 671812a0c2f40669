import type { RunOptions } from '../config.ts';
import { ConfigError } from '../errors.ts';
import type { Kernels } from '../kernels/types.ts';
import type { Logger } from '../log.ts';
import type { NodeIdentity } from '../meta/identity.ts';
import type { StateStore } from '../state/store.ts';
import type { PipelineType } from '../state/pipeline-types.ts';
import { createIngestionStage } from './ingestion.ts';
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
  validated: null,
  enriched: null,
  aggregated: null,
};

/** Creates the stage for a pipeline type, or a ConfigError (exit 2) for a type not built yet. */
export async function createStage(type: PipelineType, env: StageEnv): Promise<Stage> {
  const factory = FACTORIES[type];
  if (!factory) throw new ConfigError('STAGE_NOT_AVAILABLE', `pipeline type "${type}" is not yet available in this version of edgelake`);
  return factory(env);
}
