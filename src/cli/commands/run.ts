import { parseRunOptions, RunOptionsSchema } from '../../config.ts';
import { ConfigError } from '../../errors.ts';
import { createLogger } from '../../log.ts';
import { runPipeline } from '../../pipeline/run.ts';

/** `edgelake run`: validates the options, runs until drained (--once) or SIGINT/SIGTERM. */
export async function runCommand(raw: Record<string, unknown>): Promise<number> {
  const envRegion = process.env.AWS_REGION || undefined;
  // A bad region from the environment is named as such: "--region" would send the user looking for a flag they never gave.
  if (raw.region === undefined && envRegion !== undefined && !RunOptionsSchema.shape.region.safeParse(envRegion).success) {
    throw new ConfigError('BAD_ENV', `AWS_REGION ${JSON.stringify(envRegion)} (environment) is not an AWS region name (example: us-west-2); fix it or pass --region`);
  }
  const options = parseRunOptions({ region: envRegion, ...raw });
  const log = createLogger();
  const controller = new AbortController();
  const stop = (sig: string) => {
    if (controller.signal.aborted) return;
    log.info(`${sig}: finishing the batch in flight, then stopping`);
    controller.abort();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  const summary = await runPipeline(options, { signal: controller.signal, log });
  const secs = summary.elapsedMs / 1000;
  log.info(
    `${summary.rows.toLocaleString('en-US')} rows in ${summary.batches} batches → ${summary.objects} objects ` +
      `(${(summary.bytes / 1048576).toFixed(1)} MiB) in ${secs.toFixed(2)} s, ${Math.round(summary.rowsPerSecond).toLocaleString('en-US')} rows/s; ` +
      `node ${summary.nodeId}; checkpoint at id ${summary.lastId || 'unchanged'}; output in ${summary.destination}`,
  );
  return 0;
}
