import { z } from 'zod';
import { configErrorFrom } from '../../config.ts';
import { ConfigError } from '../../errors.ts';
import { knownQueries, openQueryEngine, queryByName, type NamedResult } from '../../query/engine.ts';
import { formatJson, formatNamed, formatTable } from '../../query/format.ts';
import { LakeSourceFields, resolveLake } from '../../query/source.ts';

const QueryFlags = z
  .object({
    ...LakeSourceFields,
    name: z.string().min(1).optional().describe('Run one named query (demo_1_volume_reduction, dash_…)'),
    sql: z.string().trim().min(1, 'must not be empty').optional().describe('Run this SQL over the sensor_data.<table> views'),
    json: z.boolean().default(false).describe('Print JSON instead of tables'),
  })
  .strict();

/**
 * `edgelake query`: the demo queries (default), one named query (`--name`) or ad-hoc SQL
 * (`--sql`) over a local lake or S3 mirrored to a cache, printed as tables or `--json`.
 * Exit 2 for bad flags or a missing lake folder, 1 when DuckDB rejects the SQL.
 */
export async function queryCommand(raw: Record<string, unknown>, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const r = QueryFlags.safeParse(raw);
  if (!r.success) throw configErrorFrom(r.error, raw);
  const f = r.data;
  if (f.name !== undefined && f.sql !== undefined) throw new ConfigError('BAD_OPTION', '--name and --sql are exclusive: run a named query or your own SQL');
  const named = f.name !== undefined ? [queryByName(f.name)] : f.sql === undefined ? knownQueries('demo') : [];
  const source = await resolveLake(f);
  const engine = await openQueryEngine(source.location);
  try {
    if (f.sql !== undefined) {
      const result = await engine.query(f.sql);
      out.write(f.json ? formatJson(result) : formatTable(result));
      return 0;
    }
    const results: NamedResult[] = [];
    for (const q of named) results.push(await engine.named(q));
    if (f.json) out.write(formatJson(f.name !== undefined ? results[0] : results));
    else out.write(`Lake: ${source.description}\n\n` + results.map((x) => formatNamed(x)).join('\n'));
    return 0;
  } finally {
    engine.close();
  }
}
