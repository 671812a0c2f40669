/**
 * What a record is made of apart from when and where it was made: shared by the tests that
 * compare a reprocess with live output (test/reprocess*.test.ts).
 */

/**
 * Record members that depend on when and where a record was made, not on its row, with why:
 * - `_pipeline.batch_id`, `_pipeline.processed_at`: the run's own batch and clock;
 * - `_pipeline.version`, `_lineage.pipeline_version`: the edgelake build that made the record (a
 *   reprocess usually runs a later release than the one that ran live; here a commit landing
 *   between the live runs and the reprocess changes the `+commit` part);
 * - `_lineage.source_file`: live names the SQLite file, reprocess the ingestion object it read;
 * - `_lineage.processing_timestamp`, `_privacy.fuzzing_timestamp`: the clock at processing;
 * - `_bacalhau_metadata.execution_time_ms` and `.node_snapshot` (taken_at, load, free memory, and
 *   in the field another machine altogether), `.job_id`/`.execution_id`/`.job_type`/
 *   `.partition_index`/`.partition_count`: the job and machine that processed the batch.
 * Everything else — values, validation, fuzzed coordinates, windows, scores — must be equal.
 */
export function withoutRunFields(r: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = JSON.parse(JSON.stringify(r));
  const p = out._pipeline as Record<string, unknown>;
  delete p.batch_id;
  delete p.processed_at;
  delete p.version;
  const lineage = out._lineage as Record<string, unknown> | undefined;
  if (lineage) {
    delete lineage.source_file;
    delete lineage.processing_timestamp;
    delete lineage.pipeline_version;
  }
  const privacy = out._privacy as Record<string, unknown> | undefined;
  if (privacy) delete privacy.fuzzing_timestamp;
  const meta = out._bacalhau_metadata as Record<string, unknown> | undefined;
  if (meta) for (const k of ['execution_time_ms', 'node_snapshot', 'job_id', 'execution_id', 'job_type', 'partition_index', 'partition_count']) delete meta[k];
  return out;
}

/**
 * Identity of a record within a stage: the row id, or for aggregated (node, sensor, window, and
 * for a correction the late rows it restates: a window late rows reach in two batches is restated twice).
 */
export function recordKey(stage: string, r: Record<string, unknown>): string {
  const node = (r._pipeline as { node_id: string }).node_id;
  return stage === 'aggregated' ? `${node}|${r.sensor_id}|${r.window_start}|${r.is_correction}|${r.late_rows}` : `${node}|${r.id}`;
}
