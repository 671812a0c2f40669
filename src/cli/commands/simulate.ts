import { z } from 'zod';
import { blankToNaN, configErrorFrom, parseDuration } from '../../config.ts';
import { simulate } from '../../simulate/index.ts';

// An empty value is an error, not 0 (z.coerce.number reads "" as 0).
const num = z.coerce.number({ message: 'must be a number' });
const blank = <T extends z.ZodType>(schema: T) => z.preprocess(blankToNaN, schema);
const dur = z.string().transform((v, ctx) => {
  const ms = parseDuration(v);
  if (!Number.isFinite(ms) || ms <= 0) {
    ctx.addIssue({ code: 'custom', message: 'is not a duration (examples: 30s, 5m, 1h)' });
    return z.NEVER;
  }
  return ms;
});

const SimulateFlags = z
  .object({
    db: z.string().min(1).default('sensor_data.db'),
    sensors: blank(num.int('must be a whole number')).optional(),
    rate: blank(num).optional(),
    duration: dur.optional(),
    rows: blank(num.int('must be a whole number')).optional(),
    anomalyRate: blank(num).optional(),
    seed: blank(num.int('must be a whole number')).optional(),
    span: dur.optional(),
    invalidRate: blank(num).optional(),
    city: z
      .string()
      .transform((v) => v.split(',').map((c) => c.trim()).filter(Boolean))
      .optional(),
    spreadKm: blank(num).optional(),
  })
  .strict();

/** `edgelake simulate`: backfill (`--rows`) or live writing (`--duration`), stoppable with SIGINT/SIGTERM. */
export async function simulateCommand(raw: Record<string, unknown>): Promise<number> {
  const r = SimulateFlags.safeParse(raw);
  if (!r.success) throw configErrorFrom(r.error, raw);
  const f = r.data;
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  process.once('SIGTERM', () => controller.abort());
  const s = await simulate({
    db: f.db,
    sensors: f.sensors,
    rate: f.rate,
    rows: f.rows,
    durationMs: f.duration,
    anomalyRate: f.anomalyRate,
    seed: f.seed,
    spanMs: f.span,
    invalidRate: f.invalidRate,
    cities: f.city,
    spreadKm: f.spreadKm,
    signal: controller.signal,
  });
  const bad = s.invalid > 0 ? `, ${s.invalid} invalid: ${Object.entries(s.invalidByKind).map(([k, n]) => `${k} ${n}`).join(', ')}` : '';
  process.stderr.write(
    `edgelake: simulated ${s.rowsWritten.toLocaleString('en-US')} rows (ids ${s.firstId}-${s.lastId}, ${s.anomalies} anomalies${bad}) ` +
      `into ${f.db} in ${(s.elapsedMs / 1000).toFixed(2)} s, ${Math.round(s.rowsPerSecond).toLocaleString('en-US')} rows/s\n`,
  );
  return 0;
}
