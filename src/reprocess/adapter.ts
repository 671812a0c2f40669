import type { ColumnarBatch } from '../batch.ts';
import type { RunOptions } from '../config.ts';
import type { Kernels } from '../kernels/types.ts';
import { nodeKeyPart, type BucketStage } from '../sink/key.ts';
import type { SinkObject } from '../sink/types.ts';
import type { BuildOptions } from '../source/record-batch.ts';
import { createStage } from '../stages/index.ts';
import type { Stage, StageOutput } from '../stages/types.ts';
import type { PipelineType } from '../state/pipeline-types.ts';
import { ConfigError } from '../errors.ts';
import { resolveFuzzKey } from '../meta/fuzz-key.ts';
import { CoordinatePolicy } from '../privacy/coordinates.ts';

/**
 * The one place `edgelake reprocess` touches the stage interface (`createStage`, `Stage.process`
 * and `flush`, `BatchContext`, `StageOutput`) and the key layout. Everything else of reprocess
 * deals in decoded rows and finished objects, so when stages come to return columns and an
 * output layer makes the objects and keys, only this file changes.
 */

/** What a reprocessed batch is, beyond its rows. */
export interface BatchInfo {
  /** The node id of the rows (as their records say; used in `_pipeline.node_id` and metadata). */
  readonly nodeId: string;
  /** Source generation of the stream (1, or N of a replaced database's `~g<N>`). */
  readonly generation: number;
  /** Stand-in for "when live processing ran": the source objects' `_pipeline.processed_at` (future checks, fallback hour). */
  readonly startedMs: number;
  /** Deterministic batch id, e.g. `r3f2a…-edge-1-1-50000`. */
  readonly batchId: string;
}

/** A stage as reprocess drives it. */
export interface ReprocessStage {
  readonly type: PipelineType;
  /** The projection the live reader would use for this stage (extras: the source's extra columns). */
  batchOptions(extras: readonly string[]): BuildOptions;
  /** Processes one batch; the finished objects, under reprocess keys, and the records in them. */
  process(batch: ColumnarBatch, info: BatchInfo): Promise<StageResult>;
  /** Emits what a stateful stage still holds (end of a stream); nothing for row stages. */
  flush(info: BatchInfo): Promise<StageResult>;
}

/** Objects of one step, ready for the sink, and the records in them. */
export interface StageResult {
  readonly objects: readonly SinkObject[];
  readonly records: number;
}

/** Options of {@link openReprocessStage}. */
export interface AdapterOptions {
  readonly type: PipelineType;
  /** Run options carrying the stage settings (window, lateness, GPS fuzzing, gzip level, format, kernels). */
  readonly options: RunOptions;
  readonly kernels: () => Promise<Kernels>;
  readonly run: string;
  readonly version: string;
  readonly buckets: Readonly<Record<BucketStage, string>>;
  /** `_lineage.source_file` for enriched: where the source objects were read. */
  readonly sourceFile: string;
  /** Aggregated: objects of windows starting before this (epoch ms) are warm-up, not written. */
  readonly windowsFromMs?: number;
  /** Aggregated: objects of windows starting at or after this (epoch ms) lie past the range, not written. */
  readonly windowsUntilMs?: number;
}

/**
 * The node part of reprocess keys, as contract §4 writes it: the live node part (`nodeKeyPart`:
 * encoded id, `~g<N>`) then `_r<run>` (`…/{node}_r{run}_{first_id}-{last_id}`). Live keys end
 * `{node}_{12 digits}-{12 digits}`, so a reprocess key could only equal a live one if a node were
 * literally named `{node}_r{run}`; the default run name is 10 hex digits of a hash of the
 * parameters, which no node id is.
 */
export function reprocessKeyNode(nodeId: string, generation: number, run: string): string {
  return `${nodeKeyPart(nodeId, { generation })}_r${run}`;
}

/** Reprocessing never generates or stores a fuzzing key: the key comes from the environment or a file. */
const NO_STORE = {
  getSetting: () => null,
  setSettingIfAbsent: (): string => {
    throw new ConfigError('FUZZ_KEY_REQUIRED', 'reprocessing through enriched needs the fleet\'s GPS fuzzing key (EDGELAKE_FUZZ_KEY or EDGELAKE_FUZZ_KEY_FILE)');
  },
};

/** Creates a fresh stage (one per stream: a stateful stage's state belongs to one node's rows) and adapts it. */
export async function openReprocessStage(o: AdapterOptions): Promise<ReprocessStage> {
  const stage: Stage = await createStage(o.type, {
    options: o.options,
    kernels: o.kernels,
    identity: null,
    sourceFile: o.sourceFile,
    // The fleet's key (the command refuses enriched without it): the same offsets as on the nodes.
    fuzzing: async () =>
      new CoordinatePolicy({
        fuzzing: { kernels: await o.kernels(), key: resolveFuzzKey({ store: NO_STORE }).key, radiusKm: o.options.fuzzRadiusKm },
        keepOriginal: o.options.keepOriginalGps,
      }),
  });
  const context = (info: BatchInfo, final: boolean) => ({
    batchId: info.batchId,
    nodeId: info.nodeId,
    keyNode: reprocessKeyNode(info.nodeId, info.generation, o.run),
    version: o.version,
    startedMs: info.startedMs,
    nowMs: Date.now(),
    buckets: o.buckets,
    gzipLevel: o.options.gzipLevel,
    format: o.options.format,
    final,
  });
  const result = (out: StageOutput): StageResult => {
    if ((o.windowsFromMs === undefined && o.windowsUntilMs === undefined) || o.type !== 'aggregated') return { objects: out.objects, records: out.recordsOut };
    // Aggregated objects hold the windows of one start each: `…_{window_start_s}_{first}-{last}.jsonl.gz`.
    const kept = out.objects.filter((obj) => {
      const m = /_(\d+)_\d{12,}-\d{12,}\.[a-z.]+$/.exec(obj.key);
      if (!m) throw new RangeError(`aggregated object key without a window start: ${obj.key}`);
      const startMs = Number(m[1]) * 1000;
      return startMs >= (o.windowsFromMs ?? -Infinity) && startMs < (o.windowsUntilMs ?? Infinity);
    });
    return { objects: kept, records: kept.reduce((n, x) => n + x.records, 0) };
  };
  return {
    type: o.type,
    batchOptions(extras) {
      const columns = stage.columns;
      return {
        columns: stage.everyColumn ? undefined : columns,
        extras: stage.everyColumn ? extras : [],
        keepTimestampText: stage.everyColumn === true || columns.includes('timestamp'),
      };
    },
    async process(batch, info) {
      return result(await stage.process(batch, context(info, false)));
    },
    async flush(info) {
      if (!stage.flush) return { objects: [], records: 0 };
      return result(await stage.flush(context(info, true)));
    },
  };
}
