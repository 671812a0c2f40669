import { resolve } from 'node:path';
import { z } from 'zod';
import { blankToNaN, configErrorFrom } from '../../config.ts';
import { buildDashboard } from '../../dashboard/build.ts';
import { serveDashboard } from '../../dashboard/serve.ts';
import { bytes } from '../../dashboard/units.ts';
import { LakeSourceFields, resolveLake } from '../../query/source.ts';

const DashboardFlags = z
  .object({
    ...LakeSourceFields,
    out: z.string().min(1).optional().describe('HTML file to write. Default report.html (not written with --serve unless given)'),
    costPerGb: z
      .preprocess(
        blankToNaN,
        z.coerce.number({ message: 'must be a number of USD per GB, e.g. 0.09' }).min(0, 'must be at least 0').max(100, 'must be at most 100 (USD per GB)'),
      )
      .default(0.09)
      .describe('Transfer price for the cost figures, USD per GB. Default 0.09 (AWS internet egress)'),
    title: z.string().min(1).max(200).optional().describe('Report title. Default "edgelake report"'),
    serve: z.boolean().default(false).describe('Serve the report on 127.0.0.1 and keep it current until SIGINT/SIGTERM'),
    port: z
      .preprocess(blankToNaN, z.coerce.number({ message: 'must be a port number' }).int('must be a whole number').min(0, 'must be 0 (any free port) to 65535').max(65535, 'must be at most 65535'))
      .default(8765)
      .describe('With --serve: the port on 127.0.0.1. Default 8765; 0 picks a free one'),
    refresh: z
      .preprocess(blankToNaN, z.coerce.number({ message: 'must be a number of seconds' }).min(1, 'must be at least 1 second').max(3600, 'must be at most 3600 seconds'))
      .default(5)
      .describe('With --serve: seconds between renders and page reloads. Default 5'),
  })
  .strict();

/**
 * `edgelake dashboard`: queries the lake (a folder, or S3 through a local cache) and writes one
 * self-contained HTML report; with `--serve`, serves it on 127.0.0.1 and renders it again every
 * `--refresh` seconds while the page reloads itself, until SIGINT/SIGTERM. Exit 2 for bad flags or
 * a missing lake folder (when not serving: a served dashboard waits for the lake to appear).
 */
export async function dashboardCommand(raw: Record<string, unknown>, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const r = DashboardFlags.safeParse(raw);
  if (!r.success) throw configErrorFrom(r.error, raw);
  const f = r.data;
  if (f.serve) return serve(f, out);
  const source = await resolveLake(f);
  const built = await buildDashboard({ location: source.location, out: f.out ?? 'report.html', costPerGb: f.costPerGb, title: f.title, source: source.description });
  const d = built.data;
  const agg = d.stages.find((s) => s.stage === 'aggregated');
  const passed = d.success.filter((m) => m.status === 'pass').length;
  out.write(
    `Wrote ${built.path} (${bytes(built.bytes)}): ${d.stages.length} stages (aggregated vs the same rows raw: ${agg?.reductionPct ?? '–'}%), ` +
      `${d.alerts.total} alerts, ${d.fleet.length} nodes, success metrics ${d.success.length ? `${passed}/${d.success.length} pass` : 'not measured'}; open it in a browser (no network needed)\n`,
  );
  return 0;
}

async function serve(f: z.output<typeof DashboardFlags>, out: NodeJS.WritableStream): Promise<number> {
  const fromS3 = f.s3 || f.s3Endpoint !== undefined;
  // A local lake that does not exist yet is waited for: the demo creates it after the server starts.
  const lake = fromS3
    ? () => resolveLake(f)
    : async () => {
        const dir = resolve(f.lake ?? 'lake');
        return { location: { lake: dir, prefix: f.bucketPrefix, region: f.region }, description: dir };
      };
  const server = await serveDashboard({
    lake,
    port: f.port,
    refreshSeconds: f.refresh,
    costPerGb: f.costPerGb,
    title: f.title,
    onError: (m) => process.stderr.write(`edgelake: dashboard: ${m}\n`),
  });
  out.write(`Serving the dashboard at ${server.url} (renders the lake again every ${f.refresh} s; Ctrl-C stops)\n`);
  if (f.out) {
    const source = await resolveLake(f).catch(() => null);
    if (source) await buildDashboard({ location: source.location, out: f.out, costPerGb: f.costPerGb, title: f.title, source: source.description });
  }
  await new Promise<void>((done) => {
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  await server.close();
  return 0;
}
