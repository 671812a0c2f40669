import { z } from 'zod';
import { blankToNaN, configErrorFrom } from '../../config.ts';
import { buildDashboard } from '../../dashboard/build.ts';
import { LakeSourceFields, resolveLake } from '../../query/source.ts';
import { bytes } from '../../dashboard/units.ts';

const DashboardFlags = z
  .object({
    ...LakeSourceFields,
    out: z.string().min(1).default('report.html').describe('HTML file to write. Default report.html'),
    costPerGb: z
      .preprocess(
        blankToNaN,
        z.coerce.number({ message: 'must be a number of USD per GB, e.g. 0.09' }).min(0, 'must be at least 0').max(100, 'must be at most 100 (USD per GB)'),
      )
      .default(0.09)
      .describe('Transfer price for the savings estimate, USD per GB. Default 0.09 (AWS internet egress)'),
    title: z.string().min(1).max(200).optional().describe('Report title. Default "edgelake report"'),
  })
  .strict();

/**
 * `edgelake dashboard`: queries the lake (a folder, or S3 through a local cache) and writes one
 * self-contained HTML report. Exit 2 for bad flags or a missing lake folder.
 */
export async function dashboardCommand(raw: Record<string, unknown>, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const r = DashboardFlags.safeParse(raw);
  if (!r.success) throw configErrorFrom(r.error, raw);
  const f = r.data;
  const source = await resolveLake(f);
  const built = await buildDashboard({ location: source.location, out: f.out, costPerGb: f.costPerGb, title: f.title, source: source.description });
  const d = built.data;
  out.write(
    `Wrote ${built.path} (${bytes(built.bytes)}): ${d.stages.length} stages, reduction ${d.totals.reductionPct ?? '–'}%, ` +
      `${d.alerts.total} alerts, ${d.sensors.length} sensors; open it in a browser (no network needed)\n`,
  );
  return 0;
}
