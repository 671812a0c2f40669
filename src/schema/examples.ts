import type {
  AggregatedRecord,
  AlertRecord,
  EnrichedRecord,
  IngestionRecord,
  LatencyMetricsRecord,
  PipelineMetricsRecord,
  ValidatedRecord,
} from './records.ts';
import type { DatasetName } from './datasets.ts';

/**
 * One well-formed record of every dataset, for documentation and tests (they must always pass
 * their schema; test/schema.test.ts checks it). Values follow the contract's generic profile.
 */

const stamp = (type: 'ingestion' | 'validated' | 'enriched' | 'aggregated' | 'alerts') => ({
  type,
  version: '0.1.0',
  node_id: 'edge-nyc-01',
  batch_id: 'edge-nyc-01-000000000001-000000000002',
  processed_at: '2025-08-15T00:02:47.010Z',
});

const ingestion: IngestionRecord = {
  id: 1,
  timestamp: '2025-08-15T00:02:46.167+00:00',
  sensor_id: 'NEWY_7K2QXB',
  temperature: 24.7,
  humidity: 51.2,
  pressure: 101290.5,
  vibration: 2.41,
  voltage: 'n/a',
  status_code: 0,
  anomaly_flag: 0,
  anomaly_type: null,
  firmware_version: '1.4.2',
  model: 'EnvMonitor-3000',
  manufacturer: 'SensorTech',
  location: 'New York',
  latitude: 40.7128,
  longitude: -74.006,
  original_timezone: '-04:00',
  synced: 1,
  serial_number: 'SN-000123',
  manufacture_date: '2024-03-01',
  deployment_type: 'outdoor',
  installation_date: '2024-05-20',
  height_meters: 3.5,
  orientation_degrees: 180,
  instance_id: 'sensor-0',
  sensor_type: 'environmental',
  _pipeline: stamp('ingestion'),
};

const typed = {
  id: 1,
  timestamp: '2025-08-15T00:02:46.167Z',
  sensor_id: 'NEWY_7K2QXB',
  temperature: 24.7,
  humidity: 51.2,
  pressure: 101290.5,
  vibration: 2.41,
  voltage: null,
  status_code: 0,
  anomaly_flag: false,
  anomaly_type: null,
  firmware_version: '1.4.2',
  model: 'EnvMonitor-3000',
  manufacturer: 'SensorTech',
  location: 'New York',
  latitude: 40.7128,
  longitude: -74.006,
  original_timezone: '-04:00',
  synced: true,
  serial_number: 'SN-000123',
  manufacture_date: '2024-03-01',
  deployment_type: 'outdoor',
  installation_date: '2024-05-20',
  height_meters: 3.5,
  orientation_degrees: 180,
  instance_id: 'sensor-0',
  sensor_type: 'environmental',
} as const;

const validation = {
  valid: false,
  errors: [{ field: 'voltage', rule: 'type', value: 'n/a', message: 'voltage "n/a" is not a number' }],
};

const validated: ValidatedRecord = { ...typed, _validation: validation, _pipeline: stamp('validated') };

const enriched: EnrichedRecord = {
  ...typed,
  latitude: 40.7161,
  longitude: -74.0012,
  _validation: validation,
  _bacalhau_metadata: {
    job_id: 'j-5f1c2a',
    execution_id: 'e-9b3d7e',
    node_id: 'edge-nyc-01',
    job_type: 'daemon',
    partition_index: 0,
    partition_count: 1,
    execution_time_ms: 12.5,
    node_snapshot: {
      node_type: 'edge-gateway',
      cpu_cores: 4,
      cpu_model: 'ARM Cortex-A72',
      memory_gb: 8,
      memory_free_gb: 5.2,
      gpu_count: 0,
      load_average: [0.42, 0.38, 0.3],
      capabilities: ['wasm', 'simd'],
      location: { city: 'New York', country: 'US', region: 'us-east', datacenter: 'nyc-edge-3' },
      taken_at: '2025-08-15T00:02:47.000Z',
    },
  },
  _lineage: {
    source_file: '/data/sensor_data.db',
    source_row_id: 1,
    processing_timestamp: '2025-08-15T00:02:47.010Z',
    pipeline_version: '0.1.0',
  },
  _privacy: {
    gps_fuzzed: true,
    fuzzing_radius_km: 1,
    fuzzing_method: 'uniform-disc',
    fuzzing_timestamp: '2025-08-15T00:02:47.010Z',
    fuzz_distance_m: 588.3,
  },
  _pipeline: stamp('enriched'),
};

const aggregated: AggregatedRecord = {
  window_start: '2025-08-15T00:00:00.000Z',
  window_end: '2025-08-15T00:05:00.000Z',
  sensor_id: 'NEWY_7K2QXB',
  record_count: 300,
  temperature_count: 300,
  temperature_min: 21.1,
  temperature_max: 29.4,
  temperature_avg: 25.02,
  temperature_stddev: 1.98,
  humidity_count: 300,
  humidity_min: 28.5,
  humidity_max: 71.9,
  humidity_avg: 50.1,
  humidity_stddev: 9.7,
  pressure_count: 299,
  pressure_min: 98700,
  pressure_max: 103900,
  pressure_avg: 101330,
  pressure_stddev: 1002,
  vibration_count: 300,
  vibration_min: 1.2,
  vibration_max: 3.9,
  vibration_avg: 2.5,
  vibration_stddev: 0.49,
  voltage_count: 0,
  voltage_min: null,
  voltage_max: null,
  voltage_avg: null,
  voltage_stddev: null,
  anomaly_count: 14,
  max_anomaly_score: 0.93,
  alert_priority: 'high',
  first_id: 1,
  last_id: 3000,
  is_correction: false,
  late_rows: 0,
  _pipeline: stamp('aggregated'),
};

const alert: AlertRecord = {
  alert_id: 'edge-nyc-01-1',
  ...typed,
  temperature: 44.9,
  anomaly_flag: true,
  status_code: 1,
  anomaly_type: 'spike',
  anomaly_score: 0.93,
  alert_priority: 'high',
  reasons: ['temperature z=10.1', 'sensor anomaly_flag'],
  event_time: '2025-08-15T00:02:46.167Z',
  detected_at: '2025-08-15T00:02:46.402Z',
  latency_ms: 235,
  _pipeline: stamp('alerts'),
};

const pipelineMetrics: PipelineMetricsRecord = {
  pipeline_type: 'aggregated',
  node_id: 'edge-nyc-01',
  batch_id: 'edge-nyc-01-000000000001-000000003000',
  record_count: 10,
  data_size: 4210,
  raw_size: 612000,
  processing_time: 48.2,
  timestamp: '2025-08-15T00:05:01.120Z',
  objects_written: 1,
  records_in: 3000,
  reduction_pct: 99.31,
  invalid_count: null,
  _pipeline: stamp('aggregated'),
};

const latencyMetrics: LatencyMetricsRecord = {
  processing_location: 'edge',
  node_id: 'edge-nyc-01',
  batch_id: 'edge-nyc-01-000000000001-000000003000',
  pipeline_type: 'aggregated',
  end_to_end_latency: 812.4,
  p50: 640,
  p95: 1490,
  p99: 1702,
  timestamp: '2025-08-15T00:05:01.120Z',
  _pipeline: stamp('aggregated'),
};

/** A schema-valid example record of every dataset. */
export const EXAMPLES: { readonly [K in DatasetName]: Readonly<Record<string, unknown>> } = {
  ingestion,
  validated,
  enriched,
  aggregated,
  alerts: alert,
  pipeline_metrics: pipelineMetrics,
  latency_metrics: latencyMetrics,
};
