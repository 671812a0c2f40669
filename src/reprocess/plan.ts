import { createHash } from 'node:crypto';
import type { LakeObject, LakeRecordSource } from '../source/lake-records.ts';
import type { PipelineType } from '../state/pipeline-types.ts';

/**
 * Which landed objects one execution of `edgelake reprocess` handles: the deterministic split of
 * the work across `--partition-count` executions.
 *
 * The unit of work depends on the stage:
 * - row stages (validated, enriched) treat every row on its own, so every **object** is a unit:
 *   the finest split, the most even load, and an object's output is the same whichever
 *   execution makes it;
 * - aggregated carries windows and anomaly baselines from row to row in id order, across object
 *   boundaries, so a unit is a whole **stream**: one node's objects of one source generation.
 *
 * A unit belongs to partition `hash(unit) mod count` (SHA-256 of its key or node part). The
 * hash needs nothing but the unit itself, so every execution agrees on the split even when it
 * lists the lake at a slightly different moment (new live objects landing meanwhile), and a unit
 * never moves when others appear or vanish.
 */

/** One stream: a node's objects of one source generation, ordered by first id. */
export interface Stream {
  /** The key's node part (`edge-1`, `edge-1~g2`): names the stream. */
  readonly node: string;
  readonly nodeId: string;
  readonly generation: number;
  readonly objects: readonly LakeObject[];
  /** Aggregated: stop after the batch that holds this id (the range's last row). Infinity: read to the end. */
  readonly stopAfterId: number;
}

/** What one execution does. */
export interface ReprocessPlan {
  /** Streams to process, each in id order; for row stages an object's stream holds only its partition's objects. */
  readonly streams: readonly Stream[];
  /** Objects listed in the range (all partitions). */
  readonly listed: number;
  /** Objects of this partition. */
  readonly mine: number;
  /** Keys under `sensor_readings/` that are not live batch objects (reported, not read). */
  readonly ignored: readonly string[];
}

/** Options of {@link planPartition}. */
export interface PlanOptions {
  readonly source: LakeRecordSource;
  readonly bucket: string;
  readonly type: PipelineType;
  readonly node?: string;
  readonly sinceMs?: number;
  readonly untilMs?: number;
  readonly partitionIndex: number;
  readonly partitionCount: number;
}

/** The partition (0 … count-1) of a unit name. */
export function partitionOf(unit: string, count: number): number {
  if (!(Number.isInteger(count) && count >= 1)) throw new RangeError(`partition count must be a whole number ≥ 1, got ${count}`);
  const h = createHash('sha256').update(unit).digest();
  return h.readUInt32BE(0) % count;
}

/**
 * Lists the source objects and keeps this partition's share. Aggregated reads each of its
 * streams from the stream's first object whatever `sinceMs` says — the scorer's baselines need
 * every earlier row (the windows before `sinceMs` are computed and not written) — and, with
 * `untilMs`, up to the live batch holding the last row of the range: rows stored after the
 * range but read in the same live batch moved the watermark that closed the range's windows.
 */
export async function planPartition(o: PlanOptions): Promise<ReprocessPlan> {
  const ignored: string[] = [];
  const stateful = o.type === 'aggregated';
  const objects = await o.source.list({
    bucket: o.bucket,
    node: o.node,
    fromMs: stateful ? undefined : o.sinceMs,
    untilMs: stateful ? undefined : o.untilMs,
    onIgnored: (k) => ignored.push(k),
  });
  const fromHour = o.sinceMs === undefined ? -Infinity : Math.floor(o.sinceMs / 3_600_000) * 3_600_000;
  const inRange = (x: LakeObject) => x.hourMs >= fromHour && (o.untilMs === undefined || x.hourMs < o.untilMs);
  const byNode = new Map<string, LakeObject[]>();
  let mine = 0;
  for (const obj of objects) {
    const unit = stateful ? obj.node : obj.key;
    if (partitionOf(unit, o.partitionCount) !== o.partitionIndex) continue;
    if (inRange(obj)) mine++;
    let list = byNode.get(obj.node);
    if (!list) byNode.set(obj.node, (list = []));
    list.push(obj);
  }
  const streams: Stream[] = [];
  for (const [node, objs] of byNode) {
    const ranged = objs.filter(inRange);
    // A stream with nothing in the range would only be read to warm up, for nothing.
    if (ranged.length === 0) continue;
    const stopAfterId = o.untilMs === undefined ? Infinity : Math.max(...ranged.map((x) => x.lastId));
    streams.push({ node, nodeId: objs[0].nodeId, generation: objs[0].generation, objects: objs, stopAfterId });
  }
  return { streams, listed: objects.filter(inRange).length, mine, ignored };
}
