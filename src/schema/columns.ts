import { z } from 'zod';
import { READING_COLUMNS, type ColumnName } from '../source/schema.ts';
import { PIPELINE_TYPES } from '../state/pipeline-types.ts';

/**
 * The building blocks shared by every record schema: timestamps, the `_pipeline` stamp and the
 * 27 reading columns, once as stored (ingestion) and once typed (validated and later stages).
 */

/** An ISO-8601 UTC instant with exactly three fraction digits and `Z`, as `Date#toISOString` writes it. */
export const isoMs = () => z.iso.datetime({ precision: 3 });

/** What each source column means (contract §1), reused as the description of every copy of it. */
export const COLUMN_DESCRIPTIONS: Readonly<Record<ColumnName, string>> = {
  id: 'sensor_readings.id, the monotonic row id of the source database, e.g. 1042',
  timestamp: 'event time of the reading, e.g. "2025-08-15T00:02:46.167Z"',
  sensor_id: 'sensor identifier, e.g. "NEWY_7K2QXB"',
  temperature: 'temperature in °C, typically 25±2 within [-10, 45]',
  humidity: 'relative humidity in %, typically 50±10 within [0, 100]',
  pressure: 'air pressure in Pa, typically 101325±1000 within [95000, 105000]',
  vibration: 'vibration in mm/s², typically 2.5±0.5 within [0, 10]',
  voltage: 'supply voltage in V, typically 12±0.5 within [10, 14]',
  status_code: 'sensor status: 0 normal, 1 anomaly',
  anomaly_flag: 'anomaly flag set by the sensor itself',
  anomaly_type: 'kind of anomaly the sensor reports: spike, trend, pattern, missing_data, noise or null',
  firmware_version: 'sensor firmware version, e.g. "1.4.2"',
  model: 'sensor model name',
  manufacturer: 'sensor manufacturer',
  location: 'city the sensor is installed in, e.g. "New York"',
  latitude: 'latitude in decimal degrees (WGS84)',
  longitude: 'longitude in decimal degrees (WGS84)',
  original_timezone: 'UTC offset of the sensor clock, e.g. "-04:00"',
  synced: 'whether the sensor had synced its clock',
  serial_number: 'sensor serial number',
  manufacture_date: 'manufacture date as written by the sensor',
  deployment_type: 'deployment type, e.g. "outdoor"',
  installation_date: 'installation date as written by the sensor',
  height_meters: 'mounting height above ground in m',
  orientation_degrees: 'mounting orientation in degrees from north',
  instance_id: 'identifier of the sensor process instance',
  sensor_type: 'sensor type, e.g. "environmental"',
};

const storedValue = () => z.union([z.number(), z.string(), z.null()]);

/**
 * Ingestion columns: every column exactly as stored. `id` is the INTEGER PRIMARY KEY (SQLite
 * cannot store anything else there); every other value is a number, a text or null, whatever the
 * declared type, because a bad writer may put text in a REAL column and ingestion keeps it.
 */
export const STORED_COLUMNS = Object.fromEntries(
  READING_COLUMNS.map(({ name }) => [
    name,
    (name === 'id' ? z.int() : storedValue()).describe(`${COLUMN_DESCRIPTIONS[name]} (as stored)`),
  ]),
) as { id: z.ZodInt } & Record<Exclude<ColumnName, 'id'>, ReturnType<typeof storedValue>>;

const num = (name: ColumnName) => z.number().nullable().describe(`${COLUMN_DESCRIPTIONS[name]}; null when missing or not a number`);
const int = (name: ColumnName) => z.int().nullable().describe(`${COLUMN_DESCRIPTIONS[name]}; null when missing or not an integer`);
const bool = (name: ColumnName) => z.boolean().nullable().describe(`${COLUMN_DESCRIPTIONS[name]}; 0/1 in the source, null when missing or neither`);
const text = (name: ColumnName) => z.string().nullable().describe(`${COLUMN_DESCRIPTIONS[name]}; null when missing`);

/**
 * Typed columns, as every stage after ingestion writes them: numbers as numbers, 0/1 flags as
 * booleans, `timestamp` normalised to UTC with milliseconds. A value that cannot be typed is null
 * (and, in validated records, named in `_validation.errors`).
 */
export const TYPED_COLUMNS = {
  id: z.int().describe(COLUMN_DESCRIPTIONS.id),
  timestamp: isoMs()
    .nullable()
    .describe(`${COLUMN_DESCRIPTIONS.timestamp}, normalised to UTC with milliseconds; null when missing or unparseable`),
  sensor_id: text('sensor_id'),
  temperature: num('temperature'),
  humidity: num('humidity'),
  pressure: num('pressure'),
  vibration: num('vibration'),
  voltage: num('voltage'),
  status_code: int('status_code'),
  anomaly_flag: bool('anomaly_flag'),
  anomaly_type: text('anomaly_type'),
  firmware_version: text('firmware_version'),
  model: text('model'),
  manufacturer: text('manufacturer'),
  location: text('location'),
  latitude: num('latitude'),
  longitude: num('longitude'),
  original_timezone: text('original_timezone'),
  synced: bool('synced'),
  serial_number: text('serial_number'),
  manufacture_date: text('manufacture_date'),
  deployment_type: text('deployment_type'),
  installation_date: text('installation_date'),
  height_meters: num('height_meters'),
  orientation_degrees: num('orientation_degrees'),
  instance_id: text('instance_id'),
  sensor_type: text('sensor_type'),
} satisfies Record<ColumnName, z.ZodType>;

/** Record kinds a `_pipeline.type` can name: the four pipeline types plus the alert stream. */
export const STAMP_TYPES = [...PIPELINE_TYPES, 'alerts'] as const;

/** `_pipeline`, carried by every record (contract §5). */
export const PipelineStamp = z
  .strictObject({
    type: z.enum(STAMP_TYPES).describe('stage that wrote the record, e.g. "validated"'),
    version: z.string().describe('edgelake version that wrote it, e.g. "0.1.0+3f2a1b9"'),
    node_id: z.string().describe('edge node that processed it, e.g. "edge-nyc-01"'),
    batch_id: z.string().describe('deterministic id of the batch it came from (the same on a replay)'),
    processed_at: isoMs().describe('when the edge processed it (UTC, ms); may differ on a replay'),
    event_time_fallback: z
      .boolean()
      .optional()
      .describe(
        'true when the row had no parseable event time and its hour partition came from the batch start time; absent otherwise',
      ),
  })
  .describe('processing stamp of the record: stage, version, node, batch, time');
export type PipelineStamp = z.infer<typeof PipelineStamp>;
