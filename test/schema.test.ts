import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { METRICS, READING_COLUMNS } from '../src/source/schema.ts';
import { DATASETS, DATASET_NAMES, EXAMPLES, TABLE_SCHEMA, allJsonSchemas, type DatasetName } from '../src/schema/index.ts';

const clone = <T>(v: T): T => structuredClone(v);

test('every example record passes the schema of its dataset', () => {
  for (const name of DATASET_NAMES) {
    const r = DATASETS[name].schema.safeParse(EXAMPLES[name]);
    assert.ok(r.success, `${name}: ${r.success ? '' : z.prettifyError(r.error)}`);
  }
});

test('ingestion records carry the 27 source columns in table order, then _pipeline', () => {
  const keys = Object.keys(DATASETS.ingestion.schema.shape);
  assert.deepEqual(keys, [...READING_COLUMNS.map((c) => c.name), '_pipeline']);
});

test('ingestion accepts text found in a REAL column', () => {
  const ok = { ...clone(EXAMPLES.ingestion), temperature: 'hot' };
  assert.ok(DATASETS.ingestion.schema.safeParse(ok).success);
});

test('aggregated records have count, min, max, avg and stddev for each of the five metrics', () => {
  const keys = Object.keys(DATASETS.aggregated.schema.shape);
  for (const m of METRICS) for (const s of ['count', 'min', 'max', 'avg', 'stddev']) assert.ok(keys.includes(`${m}_${s}`), `${m}_${s}`);
});

/** [dataset, what is wrong, mutation, the field the message must name]. */
const MALFORMED: Array<[DatasetName, string, (r: Record<string, any>) => void, string]> = [
  ['ingestion', 'a boolean in a REAL column', (r) => (r.voltage = true), 'voltage'],
  ['ingestion', 'a fractional id', (r) => (r.id = 1.5), 'id'],
  ['validated', 'a timestamp with an offset instead of Z', (r) => (r.timestamp = '2025-08-15T00:02:46.167+00:00'), 'timestamp'],
  ['validated', 'a timestamp without milliseconds', (r) => (r.timestamp = '2025-08-15T00:02:46Z'), 'timestamp'],
  ['validated', 'anomaly_flag left as 0/1', (r) => (r.anomaly_flag = 1), 'anomaly_flag'],
  ['validated', 'a number given as text', (r) => (r.temperature = '24.7'), 'temperature'],
  ['validated', 'no _validation', (r) => delete r._validation, '_validation'],
  ['validated', 'an error without a rule', (r) => delete r._validation.errors[0].rule, 'rule'],
  ['validated', 'an unknown top-level field', (r) => (r.temprature = 1), 'temprature'],
  ['enriched', '_bacalhau_metadata as an array', (r) => (r._bacalhau_metadata = [r._bacalhau_metadata]), '_bacalhau_metadata'],
  ['enriched', 'a node snapshot without cpu_cores', (r) => delete r._bacalhau_metadata.node_snapshot.cpu_cores, 'cpu_cores'],
  ['enriched', 'capabilities as a string', (r) => (r._bacalhau_metadata.node_snapshot.capabilities = 'wasm'), 'capabilities'],
  ['enriched', 'no _privacy', (r) => delete r._privacy, '_privacy'],
  ['enriched', 'an unknown field in _lineage', (r) => (r._lineage.extra = 1), 'extra'],
  ['aggregated', 'an unknown alert priority', (r) => (r.alert_priority = 'urgent'), 'alert_priority'],
  ['aggregated', 'a stddev given as text', (r) => (r.humidity_stddev = 'n/a'), 'humidity_stddev'],
  ['aggregated', 'no is_correction', (r) => delete r.is_correction, 'is_correction'],
  ['alerts', 'reasons as a string', (r) => (r.reasons = 'spike'), 'reasons'],
  ['alerts', 'no alert_id', (r) => delete r.alert_id, 'alert_id'],
  ['pipeline_metrics', 'fractional bytes', (r) => (r.data_size = 10.5), 'data_size'],
  ['pipeline_metrics', 'an unknown pipeline type', (r) => (r.pipeline_type = 'raw'), 'pipeline_type'],
  ['pipeline_metrics', 'no _pipeline', (r) => delete r._pipeline, '_pipeline'],
  ['latency_metrics', 'an unknown processing location', (r) => (r.processing_location = 'fog'), 'processing_location'],
  ['latency_metrics', 'an unknown _pipeline.type', (r) => (r._pipeline.type = 'other'), 'type'],
];

for (const [name, what, mutate, field] of MALFORMED) {
  test(`${name} records with ${what} are rejected with a message naming ${field}`, () => {
    const rec = clone(EXAMPLES[name]) as Record<string, any>;
    mutate(rec);
    const r = DATASETS[name].schema.safeParse(rec);
    assert.equal(r.success, false);
    assert.match(z.prettifyError(r.error!), new RegExp(`\\b${field}\\b`));
  });
}

test('_pipeline.event_time_fallback is optional and must be a boolean when present', () => {
  const rec = clone(EXAMPLES.validated) as Record<string, any>;
  rec._pipeline.event_time_fallback = true;
  assert.ok(DATASETS.validated.schema.safeParse(rec).success);
  rec._pipeline.event_time_fallback = 'yes';
  assert.equal(DATASETS.validated.schema.safeParse(rec).success, false);
});

test('original coordinates are optional in enriched records', () => {
  const rec = { ...clone(EXAMPLES.enriched), original_latitude: 40.7128, original_longitude: -74.006 };
  assert.ok(DATASETS.enriched.schema.safeParse(rec).success);
});

test('every dataset maps to a sensor_data table and a contract bucket stage', () => {
  const tables = DATASET_NAMES.map((n) => DATASETS[n].table);
  assert.deepEqual(tables.sort(), [
    'alerts',
    'latency_metrics',
    'pipeline_metrics',
    'sensor_readings_aggregated',
    'sensor_readings_enriched',
    'sensor_readings_ingestion',
    'sensor_readings_validated',
  ]);
  assert.equal(TABLE_SCHEMA, 'sensor_data');
  assert.equal(DATASETS.alerts.bucketStage, 'emergency');
  assert.equal(DATASETS.pipeline_metrics.bucketStage, 'metrics');
});

/** Walks a JSON Schema and returns the paths of object properties without a description. */
function undescribed(node: any, path: string, out: string[]): string[] {
  if (!node || typeof node !== 'object') return out;
  for (const [k, child] of Object.entries<any>(node.properties ?? {})) {
    if (!child.description) out.push(`${path}.${k}`);
    undescribed(child, `${path}.${k}`, out);
  }
  for (const v of node.anyOf ?? []) undescribed(v, path, out);
  if (node.items) undescribed(node.items, `${path}[]`, out);
  return out;
}

test('the JSON Schema export covers every dataset, closed and with every property described', () => {
  const schemas = allJsonSchemas();
  assert.deepEqual(Object.keys(schemas), DATASET_NAMES);
  for (const name of DATASET_NAMES) {
    const s = schemas[name] as any;
    assert.equal(s.type, 'object', name);
    assert.equal(s.additionalProperties, false, name);
    assert.equal(s.title, DATASETS[name].table);
    assert.ok(s.required.includes('_pipeline'), `${name} requires _pipeline`);
    assert.deepEqual(undescribed(s, name, []), [], `${name} has undescribed properties`);
  }
});
