/**
 * The end-of-story check after faults: the lake holds every source row of a stage exactly once
 * (per row for ingestion/validated/enriched, per window for aggregated), the execution history
 * records each batch once, and no file other than complete objects and stray temporaries exists.
 */
import type { PipelineType } from '../../src/state/pipeline-types.ts';
import { aggregatedProblems } from './aggregated-lake.ts';
import { exactlyOnceProblems, isNodeManifest, listLakeFiles, readLake } from './lake.ts';
import { maxId, query } from './sensor-db.ts';

/** The bucket of `stage` with the default prefix and region. */
export function stageBucket(stage: PipelineType): string {
  return `expanso-databricks-${stage}-us-west-2`;
}

/** What {@link lakeProof} found. */
export interface LakeProof {
  /** Empty when the lake is complete and duplicate-free. */
  readonly problems: string[];
  /** Source rows (max id). */
  readonly rows: number;
  /** Objects in the stage's bucket. */
  readonly objects: number;
  /** Leftover `.tmp-*` files of killed writers (invisible to readers of `*.jsonl.gz`). */
  readonly tempFiles: number;
  /** Aggregated only: windows and correction records. */
  readonly windows?: number;
  readonly corrections?: number;
}

/** Checks the lake and the execution history of `db` after a run of `stage` over all its rows. */
export function lakeProof(stage: PipelineType, db: string, lake: string): LakeProof {
  const problems: string[] = [];
  const rows = maxId(db);
  const objects = readLake(lake, stageBucket(stage));
  let windows: number | undefined;
  let corrections: number | undefined;
  if (stage === 'aggregated') {
    const agg = aggregatedProblems(lake, db);
    problems.push(...agg.problems);
    windows = agg.windows;
    corrections = agg.corrections;
  } else {
    const p = exactlyOnceProblems(objects, rows);
    if (p) problems.push(p);
    const keys = new Set(objects.map((o) => o.key));
    if (keys.size !== objects.length) problems.push('two objects share a key');
  }
  const dupes = query<{ first_id: number; last_id: number; n: number }>(
    db,
    'SELECT first_id, last_id, count(*) AS n FROM pipeline_executions WHERE records_in > 0 GROUP BY first_id, last_id HAVING n > 1',
  );
  if (dupes.length) problems.push(`batches recorded twice in pipeline_executions: ${JSON.stringify(dupes.slice(0, 5))}`);
  const recorded = query<{ s: number | null }>(db, 'SELECT sum(records_in) AS s FROM pipeline_executions')[0].s ?? 0;
  if (recorded !== rows) problems.push(`pipeline_executions count ${recorded} rows in, the source has ${rows}`);
  let tempFiles = 0;
  for (const f of listLakeFiles(lake)) {
    const name = f.split('/').pop()!;
    if (name.startsWith('.tmp-')) tempFiles++;
    // The node's manifest (src/state/manifest.ts) is the one object that is not JSON Lines.
    else if (!f.endsWith('.jsonl.gz') && !isNodeManifest(f)) problems.push(`unexpected file in the lake: ${f}`);
  }
  return { problems, rows, objects: objects.length, tempFiles, windows, corrections };
}
