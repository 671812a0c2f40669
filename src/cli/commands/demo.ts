import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { z } from 'zod';
import { configErrorFrom, parseRunOptions } from '../../config.ts';
import { ConfigError, messageOf } from '../../errors.ts';
import { createLogger } from '../../log.ts';
import { runPipeline } from '../../pipeline/run.ts';
import { simulate } from '../../simulate/index.ts';
import { PIPELINE_TYPES } from '../../state/pipeline-types.ts';
import { StateStore } from '../../state/store.ts';
import { table } from './pipeline.ts';

const DemoFlags = z
  .object({
    dir: z.string().min(1).default('demo'),
    rows: z.coerce.number().int().min(1000).max(50_000_000).default(120_000),
    sensors: z.coerce.number().int().min(1).max(100_000).default(20),
  })
  .strict();

/**
 * The demo of the brief on the embedded lake: a fresh sensor database in `<dir>`, then for each
 * pipeline type in turn an operator switch (`pipeline set`), new readings, and a `run --once`,
 * so each stage processes the rows that arrived while it was active. Ends with a summary.
 */
export async function demoCommand(raw: Record<string, unknown>, out = process.stdout): Promise<number> {
  const r = DemoFlags.safeParse(raw);
  if (!r.success) throw configErrorFrom(r.error, raw);
  const f = r.data;
  const dir = resolve(f.dir);
  const dbPath = join(dir, 'sensor_data.db');
  const lake = join(dir, 'lake');
  for (const p of [dbPath, `${dbPath}-wal`, `${dbPath}-shm`]) rmSync(p, { force: true });
  rmSync(lake, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const log = createLogger();
  const perStage = Math.ceil(f.rows / PIPELINE_TYPES.length);
  const secondsPerStage = Math.ceil(perStage / f.sensors);
  const start = Date.now() - secondsPerStage * PIPELINE_TYPES.length * 1000 - 600_000;
  out.write(`edgelake demo in ${dir}: ${f.rows.toLocaleString('en-US')} readings from ${f.sensors} sensors, one stage after another\n\n`);
  const rows: string[][] = [];
  for (const [i, type] of PIPELINE_TYPES.entries()) {
    const sim = await simulate({ db: dbPath, rows: perStage, sensors: f.sensors, seed: 42 + i, startMs: start + i * secondsPerStage * 1000, spanMs: secondsPerStage * 1000 });
    const db = new Database(dbPath);
    new StateStore(db).setType(type, 'demo');
    db.close();
    out.write(`$ edgelake pipeline set --type ${type} --by demo && edgelake run --once --lake ${lake}\n`);
    try {
      const s = await runPipeline(parseRunOptions({ db: dbPath, lake, once: true, progress: false }), { log });
      rows.push([type, sim.rowsWritten.toLocaleString('en-US'), s.objects.toString(), (s.bytes / 1024).toFixed(0), `${Math.round(s.rowsPerSecond).toLocaleString('en-US')}`]);
    } catch (err) {
      if (!(err instanceof ConfigError && err.code === 'STAGE_NOT_AVAILABLE')) throw err;
      out.write(`  (skipped: ${messageOf(err)})\n`);
      rows.push([type, sim.rowsWritten.toLocaleString('en-US'), '-', '-', 'not available']);
    }
  }
  out.write('\n' + table(['stage', 'rows', 'objects', 'KiB written', 'rows/s'], rows));
  out.write(`\nThe lake is in ${lake} (one folder per bucket, hive partitions year=/month=/day=/hour=).\n`);
  out.write(`History: edgelake pipeline history --db ${dbPath}\n`);
  if (!existsSync(lake)) throw new ConfigError('DEMO_FAILED', 'the demo wrote no lake');
  // Loaded here, not at the top: DuckDB is only needed once the lake exists.
  const { buildDashboard } = await import('../../dashboard/build.ts');
  const { openQueryEngine, knownQueries } = await import('../../query/engine.ts');
  const { formatNamed } = await import('../../query/format.ts');
  const report = await buildDashboard({ location: { lake }, out: join(dir, 'report.html') });
  out.write(`
The five demo queries over the lake (edgelake query --lake ${lake}):

`);
  const engine = await openQueryEngine({ lake });
  try {
    for (const q of knownQueries('demo')) out.write(formatNamed(await engine.named(q), { maxRows: 20 }) + '\n');
  } finally {
    engine.close();
  }
  out.write(`Dashboard: ${report.path} (one self-contained file: open it in any browser, offline)\n`);
  return 0;
}
