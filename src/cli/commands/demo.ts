import { z } from 'zod';
import { blankToNaN, configErrorFrom, parseDuration } from '../../config.ts';
import { ConfigError } from '../../errors.ts';
import { parseCloudBaseline } from '../../cloud/options.ts';
import { runDemo } from '../../demo/run.ts';
import { printResults } from '../../demo/summary.ts';

const num = (msg: string) => z.preprocess(blankToNaN, z.coerce.number({ message: msg }));
const dur = (min: number, max: number, example: string) =>
  z.string().transform((v, ctx) => {
    const ms = parseDuration(v);
    if (!Number.isFinite(ms) || ms < min || ms > max) {
      ctx.addIssue({ code: 'custom', message: `must be a duration from ${min / 1000} s to ${max / 1000} s (example: ${example})` });
      return z.NEVER;
    }
    return ms;
  });

const DemoFlags = z
  .object({
    dir: z.string().min(1).default('demo'),
    nodes: num('must be a number of nodes').pipe(z.number().int('must be a whole number').min(1, 'must be at least 1').max(16, 'must be at most 16 on one machine')).default(5),
    duration: dur(10_000, 3_600_000, '80s').default(80_000),
    invalidRate: num('must be a share between 0 and 1').pipe(z.number().min(0).max(0.5, 'must be at most 0.5')).default(0.01),
    anomalyRate: num('must be a share between 0 and 1').pipe(z.number().min(0).max(1)).default(0.05),
    seed: num('must be a whole number').pipe(z.number().int()).default(42),
    cloudUploadInterval: z.string().optional(),
    cloudTriggerInterval: z.string().optional(),
  })
  .strict();

/**
 * `edgelake demo`: the brief's demo, live, on this machine (src/demo/): a fleet of edge nodes with
 * real `edgelake run` followers, the presenter's stage switches, alerts to a local receiver and the
 * measured cloud-only baseline; then the summary, the five demo queries and the success metrics.
 */
export async function demoCommand(raw: Record<string, unknown>, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const r = DemoFlags.safeParse(raw);
  if (!r.success) throw configErrorFrom(r.error, raw);
  const f = r.data;
  let baseline;
  try {
    baseline = parseCloudBaseline({
      ...(f.cloudUploadInterval !== undefined ? { uploadIntervalMs: f.cloudUploadInterval } : {}),
      ...(f.cloudTriggerInterval !== undefined ? { triggerIntervalMs: f.cloudTriggerInterval } : {}),
    });
  } catch (err) {
    throw new ConfigError('BAD_OPTION', (err as Error).message);
  }
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const run = await runDemo({ dir: f.dir, nodes: f.nodes, durationMs: f.duration, baseline, invalidRate: f.invalidRate, anomalyRate: f.anomalyRate, seed: f.seed, out, signal: controller.signal });
    return await printResults(run, out);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
