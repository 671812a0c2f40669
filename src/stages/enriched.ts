import type { ColumnarBatch } from '../batch.ts';
import { DEFAULT_LIMITS, type Kernels, type ValidationLimits } from '../kernels/index.ts';
import { readBacalhauContext } from '../meta/bacalhau.ts';
import type { NodeIdentity } from '../meta/identity.ts';
import { NodeSnapshotter } from '../meta/snapshot.ts';
import { CoordinatePolicy } from '../privacy/coordinates.ts';
import { READING_COLUMNS } from '../source/schema.ts';
import { fragment } from '../encode/json-writer.ts';
import { Template, type ParquetFile } from '../encode/parquet/index.ts';
import { typedColumnsFill, validationFill, type SliceFill } from '../encode/parquet/readings.ts';
import { columnNode, datasetParquetSchema } from '../encode/parquet/datasets.ts';
import type { BatchCoordinates } from '../privacy/coordinates.ts';
import { writeRowObjects, writeRowParquet } from './rows.ts';
import { typedColumnsWriter } from './typed.ts';
import type { BatchContext, Stage, StageOutput } from './types.ts';
import { VALID_JSON, validateBatch } from './validation.ts';

const VALIDATION = fragment(',"_validation":');
const VALID = fragment(',"_validation":' + VALID_JSON);

/** Options of {@link createEnrichedStage}. */
export interface EnrichedStageOptions {
  /** The kernels of the run (`await env.kernels()`), loaded once per stage. */
  readonly kernels: Kernels;
  /** HMAC key of the per-sensor GPS offsets (see src/meta/fuzz-key.ts). Never written anywhere. */
  readonly fuzzKey: string;
  /** Largest GPS displacement, km. Default 1. */
  readonly radiusKm?: number;
  /** Also write the true coordinates as `original_latitude`/`original_longitude`. Default false. */
  readonly keepOriginalGps?: boolean;
  /** `_lineage.source_file`: absolute path of the sensor database (or its configured name). */
  readonly sourceFile: string;
  /** The node identity file (location, capabilities, node type of the snapshot). Default none. */
  readonly identity?: NodeIdentity | null;
  /** Environment for `BACALHAU_*` and `NODE_*`. Default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
  /** Range, timestamp and cross-field limits. Default DEFAULT_LIMITS. */
  readonly limits?: ValidationLimits;
  /** Snapshot source (tests inject one with a short max age). Default: a NodeSnapshotter refreshed every 60 s. */
  readonly snapshotter?: NodeSnapshotter;
  /** The coordinate policy (the run shares one with its alerts). Default: fuzzing with `fuzzKey`, `radiusKm`, `keepOriginalGps`. */
  readonly policy?: CoordinatePolicy;
}

/**
 * Stage 3, enriched: the validated record (typed columns and `_validation`), with latitude and
 * longitude as the coordinate policy decides (src/privacy/coordinates.ts: a stable per-sensor
 * offset within the fuzzing radius, and `_privacy` saying so; the alerts of this stage follow
 * the same policy), plus `_bacalhau_metadata` (job context and a node snapshot) and `_lineage`.
 * A row whose coordinates are missing or invalid gets `gps_fuzzed: false`, null coordinates and
 * a validation error, never a made-up point.
 */
export function createEnrichedStage(opts: EnrichedStageOptions): Stage {
  if (!opts.fuzzKey) throw new RangeError('createEnrichedStage: fuzzKey must not be empty');
  const radiusKm = opts.radiusKm ?? 1;
  if (!(radiusKm > 0 && radiusKm <= 100)) throw new RangeError(`createEnrichedStage: radiusKm must be in (0, 100], got ${radiusKm}`);
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const env = opts.env ?? process.env;
  const bacalhau = readBacalhauContext(env);
  const snapshotter = opts.snapshotter ?? new NodeSnapshotter({ identity: opts.identity, env });
  const policy = opts.policy ?? new CoordinatePolicy({ fuzzing: { kernels: opts.kernels, key: opts.fuzzKey, radiusKm }, keepOriginal: opts.keepOriginalGps });
  const sourceFile = JSON.stringify(opts.sourceFile);
  const jobPart = JSON.stringify(bacalhau).slice(1, -1);

  return {
    type: 'enriched',
    bucket: 'enriched',
    columns: READING_COLUMNS.map((c) => c.name),
    async process(batch: ColumnarBatch, ctx: BatchContext): Promise<StageOutput> {
      const t0 = performance.now();
      const v = validateBatch(batch, opts.kernels, ctx.startedMs, limits);
      const coords = policy.apply(batch, ctx.nowMs);
      const done = { recordsOut: batch.length, invalidCount: v.invalidCount, details: { rejected: v.summary } };
      if (ctx.format === 'parquet') {
        const schema = datasetParquetSchema('enriched');
        const snapshot = snapshotter.current(ctx.nowMs);
        const executionMs = Math.round((performance.now() - t0) * 1000) / 1000;
        const metadata = new Template(schema, columnNode(schema, '_bacalhau_metadata'), { ...bacalhau, node_id: ctx.nodeId, execution_time_ms: executionMs, node_snapshot: snapshot });
        const parts: SliceFill[] = [
          typedColumnsFill(batch, { gps: coords.gps, originalGps: coords.originalGps }),
          validationFill(columnNode(schema, '_validation'), v.issues),
          (file, rows, from, to) => metadata.repeat(file, to - from),
          lineageFill(batch, opts.sourceFile, ctx.nowMs, ctx.version),
          privacyFill(coords),
        ];
        const objects = await writeRowParquet(batch, ctx, 'enriched', 'enriched', (file, rows, from, to) => {
          for (const p of parts) p(file, rows, from, to);
        });
        return { objects, ...done };
      }
      const columns = typedColumnsWriter(batch, coords);
      const privacy = coords.writePrivacy!;
      const now = JSON.stringify(new Date(ctx.nowMs).toISOString());
      const lineageHead = fragment(`,"_lineage":{"source_file":${sourceFile},"source_row_id":`);
      const lineageTail = `,"processing_timestamp":${now},"pipeline_version":${JSON.stringify(ctx.version)}}`;
      const snapshot = snapshotter.json(ctx.nowMs);
      // The stage's own work on the batch: validation, seeds, fuzzing, snapshot. Encoding and
      // compression follow and are counted in pipeline_metrics.processing_time.
      const executionMs = Math.round((performance.now() - t0) * 1000) / 1000;
      const metadata = fragment(`,"_bacalhau_metadata":{${jobPart},"node_id":${JSON.stringify(ctx.nodeId)},"execution_time_ms":${executionMs},"node_snapshot":${snapshot}}`);
      const ids = batch.id;
      // `end` differs per hour group (its stamp): the lineage tail is joined to each once.
      const tails = new Map<Uint8Array, Uint8Array>();
      const tailAndEnd = (end: Uint8Array) => {
        let t = tails.get(end);
        if (!t) tails.set(end, (t = Buffer.concat([Buffer.from(lineageTail), end])));
        return t;
      };
      const objects = await writeRowObjects(batch, ctx, 'enriched', 'enriched', (w, r, end) => {
        columns(w, r);
        const json = v.json(r);
        if (json === VALID_JSON) w.raw(VALID);
        else {
          w.raw(VALIDATION);
          w.utf8(json);
        }
        privacy(w, r);
        w.raw(metadata);
        w.raw(lineageHead);
        w.number(ids[r]);
        // Ends with the lineage tail and the record's close: one fragment per batch.
        w.raw(tailAndEnd(end));
      });
      return { objects, ...done };
    },
  };
}

/** `_lineage` as columns: the source file, the row's id, the processing time and the version. */
function lineageFill(batch: ColumnarBatch, sourceFile: string, nowMs: number, version: string): SliceFill {
  const processedMs = Date.parse(new Date(nowMs).toISOString());
  return (file: ParquetFile, rows, from, to) => {
    const n = to - from;
    const constant = (path: string, value: string | number) => {
      const leaf = file.leaf(path);
      leaf.repeat(leaf.spec.maxDef, 0, value, n);
    };
    constant('_lineage.source_file', sourceFile);
    file.leaf('_lineage.source_row_id').integers(batch.id, rows, from, to);
    constant('_lineage.processing_timestamp', processedMs);
    constant('_lineage.pipeline_version', version);
  };
}

/** `_privacy` as columns, from the coordinate policy's decision (the same values as its JSON block). */
function privacyFill(coords: BatchCoordinates): SliceFill {
  const p = coords.privacyColumns;
  if (!p) throw new RangeError('the enriched stage needs a fuzzing coordinate policy (its _privacy block)');
  const at = Date.parse(new Date(p.timestampMs).toISOString());
  return (file, rows, from, to) => {
    const n = to - from;
    const fuzzed = file.leaf('_privacy.gps_fuzzed');
    const distance = file.leaf('_privacy.fuzz_distance_m');
    for (let k = from; k < to; k++) {
      const r = rows[k];
      if (p.fuzzed[r] === 1) {
        fuzzed.number(1);
        distance.number(Math.round(p.distanceM[r] * 1000) / 1000);
      } else {
        fuzzed.number(0);
        distance.level(distance.spec.maxDef - 1);
      }
    }
    for (const [path, value] of [['_privacy.fuzzing_radius_km', p.radiusKm], ['_privacy.fuzzing_method', p.method], ['_privacy.fuzzing_timestamp', at]] as const) {
      const leaf = file.leaf(path);
      leaf.repeat(leaf.spec.maxDef, 0, value, n);
    }
  };
}
