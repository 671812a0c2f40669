import Database from 'better-sqlite3';
import { z } from 'zod';
import { configErrorFrom } from '../../config.ts';
import { ConfigError } from '../../errors.ts';
import { openStateDb } from '../../state/open.ts';
import { parsePipelineType } from '../../state/pipeline-types.ts';
import { StateStore } from '../../state/store.ts';
import { BUSY_TIMEOUT_MS } from '../../source/open.ts';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

const PipelineOptions = z
  .object({
    db: z.string().min(1).default('sensor_data.db'),
    stateDb: z.string().min(1).optional(),
    type: z.string().optional(),
    by: z.string().trim().min(1, 'must name who switches (e.g. --by alice)').max(200).optional(),
    limit: z.coerce.number().int().min(1).max(10_000).default(20),
    json: z.boolean().default(false),
  })
  .strict();

/** Flags that only one sub-command reads. */
const ONLY_FOR: Record<string, readonly string[]> = { type: ['set'], by: ['set'], limit: ['history'] };

/** `edgelake pipeline get|set|history`. */
export async function pipelineCommand(sub: string, raw: Record<string, unknown>, out = process.stdout): Promise<number> {
  const r = PipelineOptions.safeParse(raw);
  if (!r.success) throw configErrorFrom(r.error, raw);
  const o = r.data;
  for (const [key, subs] of Object.entries(ONLY_FOR)) {
    // A flag the sub-command ignores is a mistake worth reporting (`pipeline get --type bronze` changes nothing).
    if (raw[key] !== undefined && !subs.includes(sub)) throw new ConfigError('BAD_OPTION', `--${key} is only for pipeline ${subs.join(', ')}, not pipeline ${sub}`);
  }
  const db = openState(o.db, o.stateDb);
  try {
    const store = new StateStore(db);
    if (sub === 'get') {
      const row = store.activeConfig();
      const type = store.activeType();
      if (o.json) out.write(JSON.stringify({ pipeline_type: type, created_at: row?.created_at ?? null, created_by: row?.created_by ?? null }) + '\n');
      else out.write(row ? `${type} (set by ${row.created_by} at ${row.created_at})\n` : `${type} (default: never set)\n`);
      return 0;
    }
    if (sub === 'set') {
      if (o.type === undefined) throw new ConfigError('BAD_OPTION', 'pipeline set needs --type (ingestion, validated, enriched, aggregated)');
      if (o.by === undefined) throw new ConfigError('BAD_OPTION', 'pipeline set needs --by NAME (who switches; recorded in the history)');
      const type = parsePipelineType(o.type);
      const row = store.setType(type, o.by);
      if (o.json) out.write(JSON.stringify(row) + '\n');
      else out.write(`pipeline type is now ${type} (set by ${row.created_by} at ${row.created_at}); the next batch follows it\n`);
      return 0;
    }
    const switches = store.configHistory(o.limit);
    const runs = store.executions(o.limit);
    if (o.json) {
      out.write(JSON.stringify({ switches, executions: runs.map((e) => ({ ...e, details: e.details ? JSON.parse(e.details) : null })) }) + '\n');
      return 0;
    }
    out.write('Pipeline switches (newest first)\n');
    out.write(table(['when', 'type', 'by', 'active'], switches.map((s) => [s.created_at, s.pipeline_type, s.created_by, s.is_active ? 'yes' : ''])));
    out.write('\nRecent executions (newest first)\n');
    out.write(
      table(
        ['finished', 'type', 'ids', 'in', 'out', 'invalid', 'raw KiB', 'written KiB', 'reduction', 'objects', 'ms', 'latency ms'],
        runs.map((e) => [
          e.finished_at,
          e.pipeline_type,
          `${e.first_id}-${e.last_id}`,
          String(e.records_in),
          String(e.records_out),
          e.invalid_count === null ? '' : String(e.invalid_count),
          (e.raw_bytes / 1024).toFixed(0),
          (e.bytes_written / 1024).toFixed(0),
          e.raw_bytes > 0 ? `${((1 - e.bytes_written / e.raw_bytes) * 100).toFixed(1)}%` : '',
          String(e.objects_written),
          e.duration_ms.toFixed(0),
          e.latency_ms === null ? '' : e.latency_ms.toFixed(0),
        ]),
      ),
    );
    return 0;
  } finally {
    db.close();
  }
}

/** The state lives in the sensor database unless --state-db is given; `pipeline set` may run before any data exists. */
export function openState(dbPath: string, stateDb?: string): Database.Database {
  if (stateDb) return openStateDb(stateDb);
  const full = resolve(dbPath);
  if (!existsSync(full)) throw new ConfigError('DB_MISSING', `--db ${full} does not exist; point --db at the sensor database`);
  let db: Database.Database | undefined;
  try {
    db = new Database(full, { fileMustExist: true });
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    // The header is read lazily: touch the schema now, so a file that is not SQLite is a usage error.
    db.pragma('schema_version');
    return db;
  } catch (err) {
    db?.close();
    throw new ConfigError('DB_UNREADABLE', `--db ${full} cannot be opened as SQLite: ${(err as Error).message}`, { cause: err });
  }
}

/** A plain-text table with aligned columns. */
export function table(head: string[], rows: string[][]): string {
  if (rows.length === 0) return '  (none)\n';
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => '  ' + cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd() + '\n';
  return line(head) + line(widths.map((w) => '-'.repeat(w))) + rows.map(line).join('');
}
