import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { openQueryEngine } from '../query/engine.ts';
import type { LakeLocation } from '../schema/duckdb.ts';
import { collectDashboardData, type DashboardData } from './data.ts';
import { renderDashboardHtml } from './html.ts';

/** Options of {@link buildDashboard}. */
export interface BuildDashboardOptions {
  /** The lake folder (a `--lake` folder or an S3 cache) and its bucket naming. */
  readonly location: LakeLocation;
  /** HTML file to write; parent folders are created. */
  readonly out: string;
  /** Transfer price for the savings estimate, USD per GB. Default 0.09. */
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

/** Queries the lake with DuckDB, renders the report and writes it (atomically: temp file, then rename). */
export async function buildDashboard(opts: BuildDashboardOptions): Promise<BuiltDashboard> {
  const engine = await openQueryEngine(opts.location);
  let data: DashboardData;
  try {
    data = await collectDashboardData(engine, { costPerGb: opts.costPerGb });
  } finally {
    engine.close();
  }
  const html = renderDashboardHtml(data, { title: opts.title, source: opts.source ?? opts.location.lake });
  const path = resolve(opts.out);
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, html);
  renameSync(tmp, path);
  return { path, bytes: Buffer.byteLength(html), data };
}
