import type { z } from 'zod';
import type { BucketStage, Dataset } from '../sink/key.ts';
import {
  AggregatedRecord,
  AlertRecord,
  EnrichedRecord,
  IngestionRecord,
  LatencyMetricsRecord,
  PipelineMetricsRecord,
  ValidatedRecord,
} from './records.ts';

/** The Databricks schema (database) every table lives in. */
export const TABLE_SCHEMA = 'sensor_data';

/** Hive partition columns of every object key (`year=YYYY/month=MM/day=DD/hour=HH`), from the event time. */
export const PARTITION_COLUMNS = ['year', 'month', 'day', 'hour'] as const;

/** One dataset as it lands in the lake and in Databricks. */
export interface DatasetSpec {
  /** Strict zod schema of each record (one per JSON line). */
  readonly schema: z.ZodType;
  /** Bucket stage: the object lands in `{prefix}-databricks-{bucketStage}-{region}`. */
  readonly bucketStage: BucketStage;
  /** First key segment inside the bucket. */
  readonly dataset: Dataset;
  /** Table name inside {@link TABLE_SCHEMA}. */
  readonly table: string;
  /** One line for table comments and docs. */
  readonly title: string;
}

/** Every dataset edgelake writes, by name (contract §4–5). */
export const DATASETS = {
  ingestion: {
    schema: IngestionRecord,
    bucketStage: 'ingestion',
    dataset: 'sensor_readings',
    table: 'sensor_readings_ingestion',
    title: 'Raw sensor readings, every column as stored on the edge node',
  },
  validated: {
    schema: ValidatedRecord,
    bucketStage: 'validated',
    dataset: 'sensor_readings',
    table: 'sensor_readings_validated',
    title: 'Typed sensor readings with their validation verdict (invalid rows kept and flagged)',
  },
  enriched: {
    schema: EnrichedRecord,
    bucketStage: 'enriched',
    dataset: 'sensor_readings',
    table: 'sensor_readings_enriched',
    title: 'Validated readings with Bacalhau job metadata, lineage and fuzzed GPS',
  },
  aggregated: {
    schema: AggregatedRecord,
    bucketStage: 'aggregated',
    dataset: 'sensor_readings',
    table: 'sensor_readings_aggregated',
    title: 'Per-sensor 5-minute window statistics with anomaly counts and alert priority',
  },
  alerts: {
    schema: AlertRecord,
    bucketStage: 'emergency',
    dataset: 'alerts',
    table: 'alerts',
    title: 'Anomalous readings detected at the edge, with score, priority and latency',
  },
  pipeline_metrics: {
    schema: PipelineMetricsRecord,
    bucketStage: 'metrics',
    dataset: 'pipeline_metrics',
    table: 'pipeline_metrics',
    title: 'Per-batch volume and processing time of every stage',
  },
  latency_metrics: {
    schema: LatencyMetricsRecord,
    bucketStage: 'metrics',
    dataset: 'latency_metrics',
    table: 'latency_metrics',
    title: 'Per-batch event-to-lake latency measured at the edge',
  },
} as const satisfies Record<string, DatasetSpec>;

/** Name of a dataset in {@link DATASETS}. */
export type DatasetName = keyof typeof DATASETS;

/** Dataset names in a stable order (stages first, then alerts and metrics). */
export const DATASET_NAMES = Object.keys(DATASETS) as DatasetName[];
