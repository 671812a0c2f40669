import { existsSync, statSync } from 'node:fs';
import { parseRunOptions } from '../config.ts';
import { ConfigError } from '../errors.ts';
import { loadKernels, type Kernels } from '../kernels/index.ts';
import { createLogger, type Logger } from '../log.ts';
import { pipelineVersion } from '../meta/version.ts';
import { awsEnvironmentConfigured, createSink } from '../sink/index.ts';
import { bucketNames, type BucketStage } from '../sink/key.ts';
import { createRecordSource } from '../source/lake-records.ts';
import { buildBatch, extraColumnsOf } from '../source/record-batch.ts';
import { openReprocessStage, type AdapterOptions, type BatchInfo, type ReprocessStage, type StageResult } from './adapter.ts';
import { manifestKey, manifestObject, type ReprocessManifest } from './manifest.ts';
import type { ReprocessOptions } from './options.ts';
import { planPartition, type Stream } from './plan.ts';
import { mergedBatches, objectBatch, type MergeStats, type RowBatch } from './stream.ts';

/** What one partition of a reprocess run did. */
export interface ReprocessSummary {
  readonly run: string;
  readonly partition: { readonly index: number; readonly count: number };
  readonly streams: number;
  readonly sourceObjects: number;
  readonly rowsIn: number;
  readonly objectsOut: number;
  readonly recordsOut: number;
  /** Bucket and key of the manifest written last. */
  readonly manifest: { readonly bucket: string; readonly key: string };
}

/**
 * `edgelake reprocess`, one partition: list the landed ingestion objects, keep this partition's
 * share ({@link planPartition}), push their rows through the stage — per object for row stages,
 * per node stream in id order for aggregated — and write the stage's objects under reprocess
 * keys, then the manifest. Every key is a function of the inputs and the run, so running the
 * partition again (after a kill, or on a Bacalhau retry) rewrites the same keys.
 */
export async function reprocess(o: ReprocessOptions, hooks: { log?: Logger; env?: NodeJS.ProcessEnv } = {}): Promise<ReprocessSummary> {
  const log = hooks.log ?? createLogger();
  const env = hooks.env ?? process.env;
  if (o.type === 'enriched' && !(env.EDGELAKE_FUZZ_KEY?.trim() || env.EDGELAKE_FUZZ_KEY_FILE)) {
    throw new ConfigError(
      'FUZZ_KEY_REQUIRED',
      'reprocessing through enriched needs the GPS fuzzing key the edge nodes use (EDGELAKE_FUZZ_KEY, or EDGELAKE_FUZZ_KEY_FILE naming a mounted secret): with another key each sensor would get a second offset, and two offsets of one sensor narrow down where it really is',
    );
  }
  const startedAt = new Date();
  const buckets = bucketNames(o.bucketPrefix, o.region);
  const useS3 = o.s3Endpoint !== undefined || (!o.lake && awsEnvironmentConfigured(env));
  const lake = o.lake ?? (useS3 ? undefined : 'lake');
  // The raw lake is read, not made: a folder that is not there is a mistake to name, not an empty history.
  if (lake !== undefined && !(existsSync(lake) && statSync(lake).isDirectory())) {
    throw new ConfigError('LAKE_MISSING', `--lake ${JSON.stringify(lake)} is not a lake folder; point --lake at the folder edgelake run --lake wrote`);
  }
  const source = createRecordSource({ lake, s3Endpoint: o.s3Endpoint, region: o.region });
  const sink = createSink({ lake, s3Endpoint: o.s3Endpoint, region: o.region, createBuckets: o.createBuckets }, env);
  try {
    await sink.prepare([buckets[o.type as BucketStage], buckets.metrics]);
    const plan = await planPartition({
      source,
      bucket: buckets.ingestion,
      type: o.type,
      node: o.node,
      sinceMs: o.since,
      untilMs: o.until,
      partitionIndex: o.partitionIndex,
      partitionCount: o.partitionCount,
    });
    const countNote = o.partitionSource === 'BACALHAU_PARTITION_*' ? ' (from BACALHAU_PARTITION_INDEX/COUNT)' : '';
    log.info(
      `reprocess run ${o.run}, partition ${o.partitionIndex} of ${o.partitionCount}${countNote}: ${plan.mine} of ${plan.listed} ingestion objects ` +
        `in ${plan.streams.length} node stream(s) from ${source.location} through ${o.type} into ${buckets[o.type as BucketStage]}`,
    );
    // Skipped: keys that are not live ingestion objects, and Parquet twins of JSON Lines objects (read only to prove the same rows).
    if (plan.ignored.length) log.warn(`${plan.ignored.length} key(s) under sensor_readings/ were skipped (not live ingestion objects, or the Parquet twin of a JSON Lines object holding the same rows), e.g. ${plan.ignored[0]}`);

    const runOptions = parseRunOptions({
      batchSize: o.batchSize,
      gzipLevel: o.gzipLevel,
      format: o.format,
      kernels: o.kernels,
      keepOriginalGps: o.keepOriginalGps,
      fuzzRadiusKm: o.fuzzRadiusKm,
      // Durations in ms; a bare number would be read as seconds.
      window: `${o.window}ms`,
      lateness: `${o.lateness}ms`,
      progress: false,
    });
    let kernels: Promise<Kernels> | null = null;
    const version = pipelineVersion();
    const adapter = (sourceFile: string): AdapterOptions => ({
      type: o.type,
      options: runOptions,
      kernels: () => (kernels ??= loadKernels(o.kernels)),
      run: o.run,
      version,
      buckets,
      sourceFile,
      windowsFromMs: o.since === undefined ? undefined : Math.floor(o.since / 3_600_000) * 3_600_000,
      windowsUntilMs: o.until === undefined ? undefined : Math.ceil(o.until / 3_600_000) * 3_600_000,
    });
    const outputs: ReprocessManifest['outputs'][number][] = [];
    const sources: ReprocessManifest['sources'][number][] = [];
    const stats: MergeStats = { duplicateIds: 0, rowsByObject: new Map() };
    let rowsIn = 0;
    let recordsOut = 0;
    const write = async (r: StageResult) => {
      if (r.objects.length === 0) return;
      await sink.put(r.objects);
      for (const obj of r.objects) outputs.push({ bucket: obj.bucket, key: obj.key, records: obj.records, bytes: obj.body.byteLength });
      recordsOut += r.records;
    };
    const step = async (stage: ReprocessStage, stream: Stream, b: RowBatch) => {
      rowsIn += b.rows.length;
      const batch = buildBatch(b.rows, stage.batchOptions(extraColumnsOf(b.rows)));
      await write(await stage.process(batch, info(o.run, stream, b)));
    };
    for (const stream of plan.streams) {
      if (o.type === 'aggregated') {
        const stage = await openReprocessStage(adapter(source.uri({ bucket: buckets.ingestion, key: 'sensor_readings/' })));
        let last: RowBatch | null = null;
        for await (const b of mergedBatches(source, stream.objects, o.batchSize, stats, stream.stopAfterId)) {
          await step(stage, stream, b);
          last = b;
        }
        if (last) await write(await stage.flush({ ...info(o.run, stream, last), batchId: `r${o.run}-${stream.node}-flush-${last.rows[last.rows.length - 1].id}` }));
        for (const obj of stream.objects) sources.push({ bucket: obj.bucket, key: obj.key, rows: stats.rowsByObject.get(obj) ?? 0 });
      } else {
        for (const obj of stream.objects) {
          const b = await objectBatch(source, obj);
          sources.push({ bucket: obj.bucket, key: obj.key, rows: b.rows.length });
          if (b.rows.length === 0) continue;
          await step(await openReprocessStage(adapter(source.uri(obj))), stream, b);
        }
      }
    }
    const manifest: ReprocessManifest = {
      v: 1,
      run: o.run,
      partition: { index: o.partitionIndex, count: o.partitionCount },
      params: {
        from: o.from,
        type: o.type,
        node: o.node ?? null,
        since: o.since === undefined ? null : new Date(o.since).toISOString(),
        until: o.until === undefined ? null : new Date(o.until).toISOString(),
        format: o.format,
        bucket_prefix: o.bucketPrefix,
        region: o.region,
        batch_size: o.batchSize,
        window_ms: o.window,
        lateness_ms: o.lateness,
        fuzz_radius_km: o.fuzzRadiusKm,
        keep_original_gps: o.keepOriginalGps,
      },
      version,
      started_at: startedAt.toISOString(),
      finished_at: new Date().toISOString(),
      source: source.location,
      sources,
      outputs,
      rows_in: rowsIn,
      records_out: recordsOut,
      duplicate_ids: stats.duplicateIds,
      ignored_keys: plan.ignored.slice(0, 100),
    };
    // Last: its presence says this partition is complete.
    await sink.put([manifestObject(buckets.metrics, manifest)]);
    log.info(`reprocess run ${o.run}, partition ${o.partitionIndex} of ${o.partitionCount}: ${rowsIn} rows → ${recordsOut} records in ${outputs.length} objects; manifest ${buckets.metrics}/${manifestKey(o.run, o.partitionIndex, o.partitionCount)}`);
    return {
      run: o.run,
      partition: { index: o.partitionIndex, count: o.partitionCount },
      streams: plan.streams.length,
      sourceObjects: sources.length,
      rowsIn,
      objectsOut: outputs.length,
      recordsOut,
      manifest: { bucket: buckets.metrics, key: manifestKey(o.run, o.partitionIndex, o.partitionCount) },
    };
  } finally {
    await Promise.allSettled([sink.close(), source.close()]);
  }
}

/** The batch facts of a row batch: node id from the records, the source objects' processing time, a deterministic id. */
function info(run: string, stream: Stream, b: RowBatch): BatchInfo {
  const first = b.rows[0].id;
  const last = b.rows[b.rows.length - 1].id;
  const startedMs = Number.isFinite(b.processedMs) ? b.processedMs : Math.max(...b.sources.map((s) => s.hourMs));
  return { nodeId: b.nodeId ?? stream.nodeId, generation: stream.generation, startedMs, batchId: `r${run}-${stream.node}-${first}-${last}` };
}
