import { parseRunOptions, RunOptionsSchema } from '../../config.ts';
import { ConfigError } from '../../errors.ts';
import { createLogger } from '../../log.ts';
import { RunMetrics } from '../../ops/metrics.ts';
import { runPipeline } from '../../pipeline/run.ts';
import { BEFORE_FIRST_ID } from '../../state/store.ts';

/** Exit code of a run stopped at once by a second SIGINT/SIGTERM: it did not finish, and nothing was lost (contract §3). */
const FORCED_STOP_EXIT = 1;

/**
 * `edgelake run`: validates the options, runs until drained (--once) or SIGINT/SIGTERM. The first
 * signal finishes the batch in flight within --stop-grace; a second one stops at once.
 */
export async function runCommand(raw: Record<string, unknown>): Promise<number> {
  const envRegion = process.env.AWS_REGION || undefined;
  // A bad region from the environment is named as such: "--region" would send the user looking for a flag they never gave.
  if (raw.region === undefined && envRegion !== undefined && !RunOptionsSchema.shape.region.safeParse(envRegion).success) {
    throw new ConfigError('BAD_ENV', `AWS_REGION ${JSON.stringify(envRegion)} (environment) is not an AWS region name (example: us-west-2); fix it or pass --region`);
  }
  const options = parseRunOptions({ region: envRegion, ...raw });
  const log = createLogger();
  const metrics = new RunMetrics();
  const controller = new AbortController();
  const stop = (sig: string) => {
    if (!controller.signal.aborted) {
      log.info(`${sig}: finishing the batch in flight (at most ${options.stopGrace / 1000} s, --stop-grace), then stopping; ${sig} again stops at once`);
      controller.abort();
      return;
    }
    // The exactly-once protocol makes this safe: nothing moved the checkpoint that is not durable.
    const cp = metrics.status.checkpointId;
    const at = cp === null || cp === BEFORE_FIRST_ID ? 'before the first row' : `at id ${cp}`;
    log.warn(
      `${sig} again: stopping at once. Data is safe: the checkpoint (${at}) moves only after a batch is durable in the lake; ` +
        'a batch in flight stays pending and the next run replays it onto the same keys, queued alerts are delivered then',
    );
    process.exit(FORCED_STOP_EXIT);
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  const summary = await runPipeline(options, { signal: controller.signal, log, metrics });
  const secs = summary.elapsedMs / 1000;
  log.info(
    `${summary.rows.toLocaleString('en-US')} rows in ${summary.batches} batches → ${summary.objects} objects ` +
      `(${(summary.bytes / 1048576).toFixed(1)} MiB) in ${secs.toFixed(2)} s, ${Math.round(summary.rowsPerSecond).toLocaleString('en-US')} rows/s; ` +
      `node ${summary.nodeId}; checkpoint at id ${summary.lastId || 'unchanged'}; output in ${summary.destination}`,
  );
  return 0;
}
