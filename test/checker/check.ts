/**
 * The fleet proof: given what a lake holds and each node's sensor database, show per node that
 *  - every source row is in the lake exactly once: either as one record of one per-row stage
 *    (ingestion, validated, enriched — records carry the row `id`), or, when in none of those,
 *    inside exactly one aggregated window (each batch goes to exactly one stage);
 *  - every key names the node that wrote it and every record in it says the same node, so no
 *    two nodes ever wrote one key (an overwrite by another node would show its node id);
 *  - every aggregated window — its latest restatement when corrections (`is_correction`)
 *    restated it — equals a recomputation from the rows assigned to aggregated;
 *  - keys follow the layout: hour partitions by event time (window start for aggregated),
 *    first/last ids equal the smallest and largest id inside;
 *  - alerts name real rows, at most once each; the per-batch metrics add up to the rows seen.
 * Imports nothing of edgelake: its own key parser, timestamp parser and arithmetic.
 */
import { parseEventMs, utcHourOf, windowStartOf } from './event-time.ts';
import { PER_ROW_STAGES, datasetsOf, parseKey, stageOfBucket, type ParsedKey, type PerRowStage } from './keys.ts';
import type { LakeObject, LakeSnapshot } from './lake-source.ts';
import { Problems, sample } from './problems.ts';
import { METRIC_NAMES, readSourceRows, type SourceRow } from './source-db.ts';
import { close, recomputeWindows, windowKey, type ExpectedWindow } from './windows.ts';

/** A node of the fleet: its id (as given to `--node-id`) and its sensor database. */
export interface CheckedNode {
  readonly nodeId: string;
  readonly db: string;
}

/** Options of {@link checkFleet}. */
export interface CheckOptions {
  /** What the lake holds (from `readLakeFolder` or `readS3Lake`). */
  readonly lake: LakeSnapshot;
  readonly nodes: readonly CheckedNode[];
  /** Bucket prefix. Default `expanso`. */
  readonly bucketPrefix?: string;
  /** Region in bucket names. Default `us-west-2`. */
  readonly region?: string;
  /** Aggregation window, ms. Default 300 000 (5 min). */
  readonly windowMs?: number;
}

/** What the checker saw of one node. */
export interface NodeFigures {
  readonly nodeId: string;
  readonly sourceRows: number;
  /** Rows found in each per-row stage. */
  readonly perStage: Readonly<Record<PerRowStage, number>>;
  /** Rows in no per-row stage, hence assigned to aggregated. */
  readonly aggregatedRows: number;
  /** Of those, rows without a parseable event time (they belong to no window by design). */
  readonly rowsWithoutEventTime: number;
  /** Distinct (sensor, window) pairs in the lake, and records restating one (corrections). */
  readonly windows: number;
  readonly corrections: number;
  readonly alerts: number;
  readonly objects: number;
}

/** The checker's verdict: `problems` is empty when everything above was proven. */
export interface CheckReport {
  readonly problems: string[];
  readonly nodes: NodeFigures[];
  readonly objects: number;
  readonly bytes: number;
}

type Rec = Record<string, unknown>;

/** Everything gathered from the lake about one node. */
interface NodeLake {
  objects: number;
  /** id → where it occurs in per-row stages (`stage key`). */
  rowSeen: Map<number, string[]>;
  perStage: Record<PerRowStage, number>;
  /** Records of the per-row stages, to compare with the source once it is read. */
  rowRecords: Array<{ stage: PerRowStage; key: ParsedKey; where: string; rec: Rec }>;
  windows: Map<string, Array<{ rec: Rec; where: string }>>;
  alerts: Array<{ rec: Rec; where: string; key: ParsedKey }>;
  /** Sum of `records_in` of pipeline_metrics records, by pipeline type. */
  metricsRowsIn: Map<string, number>;
}

/** Runs every check; reads the nodes' databases (read-only) and nothing else. */
export function checkFleet(opts: CheckOptions): CheckReport {
  const prefix = opts.bucketPrefix ?? 'expanso';
  const region = opts.region ?? 'us-west-2';
  const windowMs = opts.windowMs ?? 300_000;
  const problems = new Problems();
  for (const p of opts.lake.problems) problems.add('lake', 'unreadable object', p);

  const byNode = new Map<string, NodeLake>();
  for (const n of opts.nodes) {
    if (byNode.has(n.nodeId)) throw new RangeError(`checkFleet: node id ${JSON.stringify(n.nodeId)} is listed twice`);
    byNode.set(n.nodeId, { objects: 0, rowSeen: new Map(), perStage: { ingestion: 0, validated: 0, enriched: 0 }, rowRecords: [], windows: new Map(), alerts: [], metricsRowsIn: new Map() });
  }

  let bytes = 0;
  for (const o of opts.lake.objects) {
    bytes += o.bytes;
    collectObject(o, { prefix, region, windowMs, byNode, problems });
  }

  const figures: NodeFigures[] = [];
  for (const n of opts.nodes) figures.push(checkNode(n, byNode.get(n.nodeId)!, windowMs, problems));
  return { problems: problems.list(), nodes: figures, objects: opts.lake.objects.length, bytes };
}

/** Files one object under its node, checking what needs only the object itself. */
function collectObject(o: LakeObject, c: { prefix: string; region: string; windowMs: number; byNode: Map<string, NodeLake>; problems: Problems }): void {
  const { problems } = c;
  const where = `${o.bucket}/${o.key}`;
  const stage = stageOfBucket(o.bucket, c.prefix, c.region);
  if (!stage) {
    if (o.bucket.startsWith(`${c.prefix}-`)) problems.add('lake', 'unknown bucket', `${where} is in a bucket the contract does not name`);
    return;
  }
  const key = parseKey(o.key, stage === 'aggregated');
  if (!key) return problems.add('lake', 'bad key', `${where} does not follow the key layout {dataset}/year=…/hour=HH/{node}_{first}-{last}.jsonl.gz`);
  if (!datasetsOf(stage).includes(key.dataset)) problems.add('lake', 'bad dataset', `${where}: dataset ${key.dataset} does not belong in the ${stage} bucket`);
  const node = c.byNode.get(key.node);
  if (!node) return problems.add('lake', 'unknown node', `${where} names node ${JSON.stringify(key.node)}, which is not in the fleet`);
  const scope = key.node;
  node.objects++;
  if (key.generation !== 1) problems.add(scope, 'new source generation', `${where} is keyed as source generation ${key.generation}: the run decided its database was replaced, which it never was`);
  if (key.roles.length > 0 && stage !== 'metrics') problems.add(scope, 'bad key', `${where}: only metrics keys carry ~role suffixes (${key.roles.join(', ')})`);
  if (o.records.length === 0) problems.add(scope, 'empty object', `${where} holds no record`);

  const expectType = stage === 'emergency' ? 'alerts' : stage === 'metrics' ? null : stage;
  for (const rec of o.records) {
    const p = rec._pipeline as Rec | undefined;
    if (!p || typeof p !== 'object') {
      problems.add(scope, 'no _pipeline', `${where}: a record has no _pipeline stamp`);
      continue;
    }
    // The proof that no other node wrote (or overwrote) this key: every record says who made it.
    if (p.node_id !== key.node) problems.add(scope, 'foreign record', `${where}: a record says node ${JSON.stringify(p.node_id)}, the key says ${key.node}`);
    if (stage === 'metrics' && rec.node_id !== key.node) problems.add(scope, 'foreign record', `${where}: metrics record node_id ${JSON.stringify(rec.node_id)}`);
    if (expectType && p.type !== expectType) problems.add(scope, 'wrong type', `${where}: record of type ${JSON.stringify(p.type)} in the ${stage} bucket`);
  }

  if ((PER_ROW_STAGES as readonly string[]).includes(stage)) return collectRows(o, stage as PerRowStage, key, node, problems);
  if (stage === 'aggregated') return collectWindows(o, key, node, c.windowMs, problems);
  if (stage === 'emergency') {
    for (const rec of o.records) node.alerts.push({ rec, where, key });
    return;
  }
  if (key.dataset === 'pipeline_metrics') {
    for (const rec of o.records) {
      const n = rec.records_in;
      if (typeof n !== 'number') problems.add(scope, 'bad metrics', `${where}: records_in is ${JSON.stringify(n)}`);
      else node.metricsRowsIn.set(String(rec.pipeline_type), (node.metricsRowsIn.get(String(rec.pipeline_type)) ?? 0) + n);
    }
  }
}

function collectRows(o: LakeObject, stage: PerRowStage, key: ParsedKey, node: NodeLake, problems: Problems): void {
  const where = `${o.bucket}/${o.key}`;
  let min = Infinity;
  let max = -Infinity;
  for (const rec of o.records) {
    const id = rec.id;
    if (typeof id !== 'number' || !Number.isInteger(id)) {
      problems.add(key.node, 'record without id', `${where}: a record has id ${JSON.stringify(id)}`);
      continue;
    }
    if (id < min) min = id;
    if (id > max) max = id;
    const seen = node.rowSeen.get(id);
    if (seen) seen.push(`${stage} ${o.key}`);
    else node.rowSeen.set(id, [`${stage} ${o.key}`]);
    node.perStage[stage]++;
    node.rowRecords.push({ stage, key, where, rec });
  }
  if (o.records.length && (min !== key.firstId || max !== key.lastId)) {
    problems.add(key.node, 'key id range', `${where}: key says ids ${key.firstId}-${key.lastId}, records hold ${min}-${max}`);
  }
}

function collectWindows(o: LakeObject, key: ParsedKey, node: NodeLake, windowMs: number, problems: Problems): void {
  const where = `${o.bucket}/${o.key}`;
  let min = Infinity;
  let max = -Infinity;
  for (const rec of o.records) {
    const start = parseEventMs(rec.window_start);
    const end = parseEventMs(rec.window_end);
    if (start === null || end === null || end - start !== windowMs || windowStartOf(start, windowMs) !== start) {
      problems.add(key.node, 'bad window', `${where}: window ${JSON.stringify(rec.window_start)}–${JSON.stringify(rec.window_end)} is not a ${windowMs / 60_000}-minute tumbling window`);
      continue;
    }
    if (key.windowStartS !== null && key.windowStartS * 1000 !== start) problems.add(key.node, 'key window', `${where}: key window start ${key.windowStartS} s, record ${rec.window_start}`);
    if (utcHourOf(start) !== key.hourMs) problems.add(key.node, 'key hour', `${where}: window ${rec.window_start} filed under hour ${new Date(key.hourMs).toISOString()}`);
    const first = Number(rec.first_id);
    const last = Number(rec.last_id);
    if (first < min) min = first;
    if (last > max) max = last;
    const sensor = rec.sensor_id === null || rec.sensor_id === undefined ? null : String(rec.sensor_id);
    const k = windowKey(sensor, start);
    const list = node.windows.get(k);
    if (list) list.push({ rec, where });
    else node.windows.set(k, [{ rec, where }]);
  }
  if (o.records.length && (min !== key.firstId || max !== key.lastId)) {
    problems.add(key.node, 'key id range', `${where}: key says ids ${key.firstId}-${key.lastId}, windows span ${min}-${max}`);
  }
}

/** Compares one node's lake contents with its source rows. */
function checkNode(n: CheckedNode, lake: NodeLake, windowMs: number, problems: Problems): NodeFigures {
  const scope = n.nodeId;
  const rows = readSourceRows(n.db);
  const byId = new Map<number, SourceRow>(rows.map((r) => [r.id, r]));

  // 1. Per-row stages: each id at most once over the three buckets, and the record is that row.
  for (const [id, places] of lake.rowSeen) {
    if (places.length > 1) problems.add(scope, 'duplicate row', `row ${id} is in the lake ${places.length} times: ${places.join('; ')}`);
    if (!byId.has(id)) problems.add(scope, 'unknown row', `row ${id} (${places[0]}) is not in the source database`);
  }
  for (const { stage, key, where, rec } of lake.rowRecords) {
    const src = byId.get(rec.id as number);
    if (!src) continue;
    if (stage === 'enriched') {
      const lineage = rec._lineage as Rec | undefined;
      if (lineage?.source_row_id !== src.id) problems.add(scope, 'lineage', `${where}: row ${src.id} has _lineage.source_row_id ${JSON.stringify(lineage?.source_row_id)}`);
    }
    const sensor = rec.sensor_id === null || rec.sensor_id === undefined ? null : String(rec.sensor_id);
    if (sensor !== src.sensorId) problems.add(scope, 'record content', `${where}: row ${src.id} has sensor_id ${JSON.stringify(rec.sensor_id)}, the source ${JSON.stringify(src.sensorId)}`);
    if (stage === 'ingestion' ? rec.timestamp !== src.timestamp : parseEventMs(rec.timestamp) !== src.eventMs) {
      problems.add(scope, 'record content', `${where}: row ${src.id} has timestamp ${JSON.stringify(rec.timestamp)}, the source ${JSON.stringify(src.timestamp)}`);
    }
    if (src.eventMs !== null && utcHourOf(src.eventMs) !== key.hourMs) {
      problems.add(scope, 'key hour', `${where}: row ${src.id} at ${new Date(src.eventMs).toISOString()} filed under hour ${new Date(key.hourMs).toISOString()}`);
    }
  }

  // 2. The rest went to aggregated: recompute its windows and compare with the latest restatement of each.
  const assigned = rows.filter((r) => !lake.rowSeen.has(r.id));
  const expected = recomputeWindows(assigned, windowMs);
  let corrections = 0;
  for (const [k, recs] of lake.windows) {
    corrections += recs.filter((x) => x.rec.is_correction === true).length;
    const firsts = recs.filter((x) => x.rec.is_correction !== true);
    if (firsts.length > 1) {
      problems.add(scope, 'window emitted twice', `window ${describeWindow(recs[0].rec)} was emitted ${firsts.length} times without is_correction: ${firsts.map((x) => `${x.rec.record_count} rows ${x.rec.first_id}-${x.rec.last_id} in ${x.where}`).join('; ')}`);
    }
    const latest = latestRestatement(recs);
    const sameTip = recs.filter((x) => x.rec.last_id === latest.rec.last_id && x.rec.record_count === latest.rec.record_count);
    if (sameTip.length > 1) problems.add(scope, 'duplicate window', `window ${describeWindow(latest.rec)} is stated ${sameTip.length} times identically: ${sameTip.map((x) => x.where).join('; ')}`);
    const exp = expected.get(k);
    if (!exp) {
      problems.add(scope, 'window without rows', `${latest.where}: window ${describeWindow(latest.rec)} (ids ${latest.rec.first_id}-${latest.rec.last_id}) has no row assigned to aggregated (they are in per-row stages or not in the source)`);
      continue;
    }
    const diffs = compareWindow(latest.rec, exp);
    // A correction past the stage's retention horizon carries only the late rows (record_count = late_rows):
    // an increment, not a restatement, which this proof does not add up; say so rather than just "differs".
    const increment = latest.rec.is_correction === true && latest.rec.record_count === latest.rec.late_rows ? ' — it carries only late rows (a correction past the retention horizon?)' : '';
    if (diffs.length) problems.add(scope, 'window differs', `${latest.where}: window ${describeWindow(latest.rec)}${recs.length > 1 ? ` (latest of ${recs.length} statements)` : ''} differs from the recomputation: ${diffs.join(', ')}${increment}`);
  }
  for (const [k, exp] of expected) {
    if (lake.windows.has(k)) continue;
    const ids = assigned.filter((r) => r.sensorId === exp.sensorId && r.eventMs !== null && windowStartOf(r.eventMs, windowMs) === exp.startMs).map((r) => r.id);
    problems.add(scope, 'rows lost', `${exp.count} rows of sensor ${exp.sensorId} in window ${new Date(exp.startMs).toISOString()} are in no per-row stage and in no aggregated window (ids ${sample(ids)})`);
  }

  // 3. Alerts: real rows, at most once each, keyed by this node.
  const alerted = new Map<number, number>();
  for (const { rec, where, key } of lake.alerts) {
    const id = rec.id as number;
    alerted.set(id, (alerted.get(id) ?? 0) + 1);
    const src = byId.get(id);
    if (!src) problems.add(scope, 'alert for unknown row', `${where}: alert for row ${JSON.stringify(rec.id)}, which is not in the source`);
    else if ((rec.sensor_id ?? null) !== src.sensorId) problems.add(scope, 'alert content', `${where}: alert for row ${id} says sensor ${JSON.stringify(rec.sensor_id)}, the source ${JSON.stringify(src.sensorId)}`);
    if (rec.alert_id !== `${key.nodePart}-${id}`) problems.add(scope, 'alert id', `${where}: alert_id ${JSON.stringify(rec.alert_id)} for row ${id}`);
  }
  for (const [id, times] of alerted) if (times > 1) problems.add(scope, 'duplicate alert', `row ${id} was alerted ${times} times`);

  // 4. Per-batch metrics add up: each batch is recorded once, under the stage that processed it.
  const rowsIn = (t: string) => lake.metricsRowsIn.get(t) ?? 0;
  for (const stage of PER_ROW_STAGES) {
    if (rowsIn(stage) !== lake.perStage[stage]) problems.add(scope, 'metrics disagree', `pipeline_metrics count ${rowsIn(stage)} rows in ${stage} batches, the lake holds ${lake.perStage[stage]}`);
  }
  if (rowsIn('aggregated') !== assigned.length) problems.add(scope, 'metrics disagree', `pipeline_metrics count ${rowsIn('aggregated')} rows in aggregated batches, ${assigned.length} rows are in no per-row stage`);
  for (const t of lake.metricsRowsIn.keys()) if (![...PER_ROW_STAGES, 'aggregated'].includes(t)) problems.add(scope, 'metrics disagree', `pipeline_metrics name an unknown type ${JSON.stringify(t)}`);

  return {
    nodeId: scope,
    sourceRows: rows.length,
    perStage: { ...lake.perStage },
    aggregatedRows: assigned.length,
    rowsWithoutEventTime: assigned.filter((r) => r.eventMs === null).length,
    windows: lake.windows.size,
    corrections,
    alerts: lake.alerts.length,
    objects: lake.objects,
  };
}

/** The statement of a window that supersedes the others: most rows seen (largest last id), then latest processed. */
function latestRestatement(recs: Array<{ rec: Rec; where: string }>): { rec: Rec; where: string } {
  const rank = (r: Rec) => [Number(r.last_id), Number(r.record_count), String((r._pipeline as Rec | undefined)?.processed_at ?? '')] as const;
  return recs.reduce((best, x) => {
    const [a, b] = [rank(x.rec), rank(best.rec)];
    return a[0] > b[0] || (a[0] === b[0] && (a[1] > b[1] || (a[1] === b[1] && a[2] > b[2]))) ? x : best;
  });
}

function describeWindow(rec: Rec): string {
  return `${JSON.stringify(rec.sensor_id)} @ ${rec.window_start}`;
}

/** Field-by-field differences between a window record and its recomputation ([] when equal). */
function compareWindow(rec: Rec, exp: ExpectedWindow): string[] {
  const diffs: string[] = [];
  const eq = (field: string, expected: number | null, scale?: number) => {
    const actual = rec[field];
    if (expected === null) {
      if (actual !== null && actual !== undefined) diffs.push(`${field} ${JSON.stringify(actual)} ≠ null`);
    } else if (typeof actual !== 'number' || !(scale === undefined ? actual === expected : close(actual, expected, scale))) {
      diffs.push(`${field} ${JSON.stringify(actual)} ≠ ${expected}`);
    }
  };
  eq('record_count', exp.count);
  eq('first_id', exp.firstId);
  eq('last_id', exp.lastId);
  for (const m of METRIC_NAMES) {
    const s = exp.metrics[m];
    if (`${m}_count` in rec) eq(`${m}_count`, s.n);
    const scale = Math.abs(s.avg ?? 1);
    eq(`${m}_min`, s.min, scale);
    eq(`${m}_max`, s.max, scale);
    eq(`${m}_avg`, s.avg, scale);
    eq(`${m}_stddev`, s.stddev, scale);
  }
  const anomalies = rec.anomaly_count;
  if (typeof anomalies !== 'number' || anomalies < 0 || anomalies > exp.count) diffs.push(`anomaly_count ${JSON.stringify(anomalies)} outside 0..${exp.count}`);
  return diffs;
}
