import { RunOptionsSchema } from '../../config.ts';
import { ConfigError } from '../../errors.ts';
import { createLogger } from '../../log.ts';
import { parseReprocessOptions, reprocess } from '../../reprocess/index.ts';

/** `edgelake reprocess`: one partition of a reprocess run of the landed raw objects (contract §3). */
export async function reprocessCommand(raw: Record<string, unknown>): Promise<number> {
  const envRegion = process.env.AWS_REGION || undefined;
  // A bad region from the environment is named as such, not as a --region the user never gave.
  if (raw.region === undefined && envRegion !== undefined && !RunOptionsSchema.shape.region.safeParse(envRegion).success) {
    throw new ConfigError('BAD_ENV', `AWS_REGION ${JSON.stringify(envRegion)} (environment) is not an AWS region name (example: us-west-2); fix it or pass --region`);
  }
  const options = parseReprocessOptions({ region: envRegion, ...raw });
  await reprocess(options, { log: createLogger({ quiet: options.progress === false }) });
  return 0;
}
