import { stat } from 'node:fs/promises';
import { AlertDetector, DETECTOR_COLUMNS } from '../alerts/detector.ts';
import { parsePriority } from '../alerts/priority.ts';
import { messageOf } from '../errors.ts';
import type { Kernels } from '../kernels/types.ts';
import type { Logger } from '../log.ts';
import type { Sink, SinkObject } from '../sink/types.ts';
import { readIngestionObject, type LakeObject, type LakeRecordSource } from '../source/lake-records.ts';
import { buildBatch, type LakeRow } from '../source/record-batch.ts';
import type { CloudBaseline } from './options.ts';
import { detectionsObject, landingObject, parametersObject, type CentralDetection } from './records.ts';

/**
 * The central process of the cloud-only baseline, standing in for Databricks: on its own trigger
 * interval it lists the raw (ingestion) objects the nodes shipped, takes each new one exactly once
 * (Auto Loader's file notification/listing with a checkpoint of the files already seen), decodes
 * it back into the rows the node's SQLite file held, and runs the same anomaly detection the edge
 * runs beside every stage (AlertDetector over the same kernels, the same priority and rate-limit
 * rules, one detector per node fed in id order), so it raises the same alerts — only later. The
 * detector's baselines are sequential, so rows are scored in id order: a node's rows wait until
 * every smaller id has landed (a batch lands as one object per event hour, and objects appear one
 * by one: a row stamped in another hour can arrive in another object, a moment later).
 * What it measures lands in the metrics bucket of the comparison lake (records.ts).
 */

/** Options of {@link CentralProcess}. */
export interface CentralOptions {
  /** Where the raw objects land (the cloud-only path's lake folder or S3). */
  readonly source: LakeRecordSource;
  /** The bucket the raw objects land in (an ingestion bucket). */
  readonly rawBucket: string;
  /** Where the measurements go, and its metrics bucket. */
  readonly sink: Sink;
  readonly metricsBucket: string;
  readonly baseline: CloudBaseline;
  readonly kernels: Kernels;
  /** Version written into `_pipeline.version`. */
  readonly version: string;
  readonly log: Logger;
  /** Told after every trigger. */
  readonly onTrigger?: (t: TriggerReport) => void;
}

/** One trigger (micro-batch) of the central stream. */
export interface TriggerReport {
  /** When it started, epoch ms. */
  readonly startedMs: number;
  /** New raw objects it took. */
  readonly objects: number;
  readonly rows: number;
  /** Anomalies detected in them. */
  readonly detections: number;
  readonly elapsedMs: number;
}

/** Per node: what the central process has taken so far. */
export interface NodeProgress {
  readonly objects: number;
  readonly rows: number;
  /** Bytes of raw objects taken. */
  readonly bytes: number;
  /** Largest sensor_readings id scored: every id up to it has been taken and scored, in order (ids of a fresh database start at 1). */
  readonly lastId: number;
  /** Rows taken but waiting for a smaller id to land. */
  readonly waiting: number;
  readonly detections: number;
  /** Ids of the detected readings, in detection order. */
  readonly detectedIds: readonly number[];
}

interface NodeState {
  detector: AlertDetector;
  objects: number;
  rows: number;
  bytes: number;
  /** Last id scored; the next one to score is lastId + 1. */
  lastId: number;
  /** Rows taken, not yet scored, by id. */
  waiting: Map<number, LakeRow>;
  detected: number[];
}

/** A small facade over the trigger loop (STYLE 7); start it, read its progress, stop it. */
export class CentralProcess {
  readonly #o: CentralOptions;
  readonly #seen = new Set<string>();
  readonly #nodes = new Map<string, NodeState>();
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #stopped = false;
  #triggers = 0;
  #failures = 0;
  #startedMs = 0;

  constructor(opts: CentralOptions) {
    this.#o = opts;
  }

  /** Triggers run so far. */
  get triggers(): number {
    return this.#triggers;
  }

  /** Triggers that failed (logged; the stream retries the same objects at the next trigger). */
  get failures(): number {
    return this.#failures;
  }

  /** Progress per node id. */
  get nodes(): ReadonlyMap<string, NodeProgress> {
    const out = new Map<string, NodeProgress>();
    for (const [id, n] of this.#nodes) {
      out.set(id, { objects: n.objects, rows: n.rows, bytes: n.bytes, lastId: n.lastId, waiting: n.waiting.size, detections: n.detected.length, detectedIds: n.detected.slice() });
    }
    return out;
  }

  /** Writes the parameters object, then triggers every `triggerIntervalMs` from now (the first trigger one interval in). */
  async start(): Promise<void> {
    const o = this.#o;
    await o.sink.prepare([o.metricsBucket]);
    await o.sink.put([await parametersObject(o.baseline, o.metricsBucket, Date.now())]);
    this.#startedMs = Date.now();
    this.#schedule();
  }

  /** Stops triggering; resolves once a trigger in progress has finished. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#running;
  }

  /** Triggers on a fixed grid from the start (a slow trigger skips the grid points it overran, as a processingTime trigger does). */
  #schedule(): void {
    if (this.#stopped) return;
    const every = this.#o.baseline.triggerIntervalMs;
    const now = Date.now();
    const next = this.#startedMs + (Math.floor((now - this.#startedMs) / every) + 1) * every;
    this.#timer = setTimeout(() => {
      this.#running = this.trigger()
        .then(
          () => undefined,
          (err: unknown) => {
            this.#failures++;
            this.#o.log.warn(`cloud baseline: trigger failed, retried at the next one: ${messageOf(err)}`);
          },
        )
        .finally(() => {
          this.#running = null;
          this.#schedule();
        });
    }, next - now);
  }

  /**
   * One micro-batch: every raw object not taken before. Its landing is measured per object; its
   * rows join their node's queue and are scored once every smaller id is there. The records are
   * written before the objects count as taken, so a failed trigger takes the same objects again.
   */
  async trigger(): Promise<TriggerReport> {
    const o = this.#o;
    const startedMs = Date.now();
    const listed = await o.source.list({ bucket: o.rawBucket });
    const fresh = listed.filter((x) => !this.#seen.has(x.key));
    const out: SinkObject[] = [];
    const taken: { obj: LakeObject; rows: LakeRow[]; bytes: number }[] = [];
    for (const obj of fresh) {
      const { rows } = await readIngestionObject(o.source, obj);
      const { bytes, landedMs } = await this.#landing(obj);
      const eventMs = Float64Array.from(rows, (r) => r.eventMs);
      const landing = await landingObject({ nodeId: obj.nodeId, firstId: obj.firstId, lastId: obj.lastId, rows: rows.length, bytes, landedMs, eventMs }, o.metricsBucket, o.version);
      out.push(landing);
      taken.push({ obj, rows, bytes });
    }
    // Score in id order per node, on copies of the queues: nothing changes until the records are written.
    const scored = new Map<string, { upTo: number; ids: number[]; found: CentralDetection[] }>();
    const byNode = new Map<string, LakeRow[]>();
    for (const t of taken) byNode.set(t.obj.nodeId, [...(byNode.get(t.obj.nodeId) ?? []), ...t.rows]);
    let detections = 0;
    const before = new Map<string, string>();
    for (const [nodeId, rows] of byNode) {
      const node = this.#node(nodeId);
      before.set(nodeId, JSON.stringify(node.detector.toJSON()));
      const queue = new Map(node.waiting);
      for (const r of rows) queue.set(r.id, r);
      const ready: LakeRow[] = [];
      for (let id = node.lastId + 1; queue.has(id); id++) ready.push(queue.get(id)!);
      if (ready.length === 0) continue;
      const found = node.detector.detect(buildBatch(ready, { columns: DETECTOR_COLUMNS, keepTimestampText: false }));
      const detectedMs = Date.now();
      const list = found.map((d) => ({ id: d.id, eventMs: d.eventMs, detectedMs }));
      scored.set(nodeId, { upTo: ready[ready.length - 1].id, ids: found.map((d) => d.id), found: list });
      detections += found.length;
      const rec = await detectionsObject(nodeId, list, o.metricsBucket, o.version);
      if (rec) out.push(rec);
    }
    try {
      if (out.length) await o.sink.put(out);
    } catch (err) {
      // Nothing counts as taken: the detectors go back to where they were, so the retry scores the same rows the same way.
      for (const [nodeId, json] of before) this.#node(nodeId).detector.restore(json);
      throw err;
    }
    for (const t of taken) {
      const node = this.#node(t.obj.nodeId);
      this.#seen.add(t.obj.key);
      node.objects++;
      node.rows += t.rows.length;
      node.bytes += t.bytes;
      for (const r of t.rows) node.waiting.set(r.id, r);
    }
    for (const [nodeId, s] of scored) {
      const node = this.#node(nodeId);
      for (let id = node.lastId + 1; id <= s.upTo; id++) node.waiting.delete(id);
      node.lastId = s.upTo;
      node.detected.push(...s.ids);
    }
    this.#triggers++;
    const report = { startedMs, objects: fresh.length, rows: taken.reduce((n, t) => n + t.rows.length, 0), detections, elapsedMs: Date.now() - startedMs };
    o.onTrigger?.(report);
    return report;
  }

  #node(nodeId: string): NodeState {
    let n = this.#nodes.get(nodeId);
    if (!n) {
      const b = this.#o.baseline;
      const detector = new AlertDetector({ kernels: this.#o.kernels, minPriority: parsePriority(b.minPriority), rateLimitMs: b.rateLimitMs });
      detector.restore(null);
      n = { detector, objects: 0, rows: 0, bytes: 0, lastId: 0, waiting: new Map(), detected: [] };
      this.#nodes.set(nodeId, n);
    }
    return n;
  }

  /** Size and landing time of an object: the file's size and modification time in a lake folder. */
  async #landing(obj: LakeObject): Promise<{ bytes: number; landedMs: number }> {
    if (this.#o.source.kind === 'lake') {
      const st = await stat(this.#o.source.uri(obj));
      return { bytes: st.size, landedMs: st.mtimeMs };
    }
    // S3 lists sizes; its LastModified has second precision, so the landing time is when it was first listed.
    return { bytes: obj.size, landedMs: Date.now() };
  }
}
