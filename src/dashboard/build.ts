import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { BaselineParameter } from '../cloud/options.ts';
import { PARAMETERS_KEY } from '../cloud/records.ts';
import { openQueryEngine } from '../query/engine.ts';
import type { LakeLocation } from '../schema/duckdb.ts';
import { bucketName } from '../sink/key.ts';
import { collectDashboardData, type DashboardData } from './data.ts';
import { renderDashboardHtml } from './html.ts';

/** Options of {@link buildDashboard}. */
export interface BuildDashboardOptions {
  /** The lake folder (a `--lake` folder or an S3 cache) and its bucket naming. */
  readonly location: LakeLocation;
  /** HTML file to write; parent folders are created. */
  readonly out: string;
  /** Transfer price for the cost figures, USD per GB. Default 0.09. */
  readonly costPerGb?: number;
  /** Page title. Default `edgelake report`. */
  readonly title?: string;
  /** Where the data came from, for the header. Default the lake folder. */
  readonly source?: string;
}

/** What {@link buildDashboard} wrote. */
export interface BuiltDashboard {
  /** Absolute path of the HTML file. */
  readonly path: string;
  /** Its size in bytes. */
  readonly bytes: number;
  /** The figures it shows. */
  readonly data: DashboardData;
}

/**
 * The cloud-only baseline's parameters as its central process left them in the lake's metrics
 * bucket (`cloud_baseline/parameters.jsonl.gz`, beside the datasets, in no table); null when the
 * lake has none or it cannot be read (the panel then says so instead of guessing).
 */
export function readBaselineParameters(loc: LakeLocation): BaselineParameter[] | null {
  const path = join(loc.lake, bucketName(loc.prefix ?? 'expanso', 'metrics', loc.region ?? 'us-west-2'), PARAMETERS_KEY);
  if (!existsSync(path)) return null;
  try {
    const doc = JSON.parse(gunzipSync(readFileSync(path)).toString('utf8')) as { parameters?: BaselineParameter[] };
    return Array.isArray(doc.parameters) ? doc.parameters.filter((p) => typeof p?.label === 'string' && typeof p?.value === 'string') : null;
  } catch {
    return null;
  }
}

/** Queries the lake with DuckDB and renders the report; `refreshSeconds` makes it reload itself (served live). */
export async function renderDashboard(opts: Omit<BuildDashboardOptions, 'out'> & { refreshSeconds?: number }): Promise<{ html: string; data: DashboardData }> {
  const engine = await openQueryEngine(opts.location);
  let data: DashboardData;
  try {
    data = await collectDashboardData(engine, { costPerGb: opts.costPerGb });
  } finally {
    engine.close();
  }
  const html = renderDashboardHtml(data, {
    title: opts.title,
    source: opts.source ?? opts.location.lake,
    refreshSeconds: opts.refreshSeconds,
    baseline: readBaselineParameters(opts.location),
    region: opts.location.region,
  });
  return { html, data };
}

/** Queries the lake, renders the report and writes it (atomically: temp file, then rename). */
export async function buildDashboard(opts: BuildDashboardOptions): Promise<BuiltDashboard> {
  const { html, data } = await renderDashboard(opts);
  const path = resolve(opts.out);
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  // Readable by its owner only, like the lake it is made from (it shows node and sensor positions).
  writeFileSync(tmp, html, { mode: 0o600 });
  renameSync(tmp, path);
  return { path, bytes: Buffer.byteLength(html), data };
}
