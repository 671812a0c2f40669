/**
 * The input table of the data contract (§1): `sensor_readings`, 27 columns, in this order.
 * `kind` is the declared SQLite type; a bad writer may still store another type in any
 * column, which the reader keeps (see `ColumnarBatch.irregular`).
 */
export const READING_COLUMNS = [
  { name: 'id', kind: 'int' },
  { name: 'timestamp', kind: 'text' },
  { name: 'sensor_id', kind: 'text' },
  { name: 'temperature', kind: 'real' },
  { name: 'humidity', kind: 'real' },
  { name: 'pressure', kind: 'real' },
  { name: 'vibration', kind: 'real' },
  { name: 'voltage', kind: 'real' },
  { name: 'status_code', kind: 'int' },
  { name: 'anomaly_flag', kind: 'int' },
  { name: 'anomaly_type', kind: 'text' },
  { name: 'firmware_version', kind: 'text' },
  { name: 'model', kind: 'text' },
  { name: 'manufacturer', kind: 'text' },
  { name: 'location', kind: 'text' },
  { name: 'latitude', kind: 'real' },
  { name: 'longitude', kind: 'real' },
  { name: 'original_timezone', kind: 'text' },
  { name: 'synced', kind: 'int' },
  { name: 'serial_number', kind: 'text' },
  { name: 'manufacture_date', kind: 'text' },
  { name: 'deployment_type', kind: 'text' },
  { name: 'installation_date', kind: 'text' },
  { name: 'height_meters', kind: 'real' },
  { name: 'orientation_degrees', kind: 'real' },
  { name: 'instance_id', kind: 'text' },
  { name: 'sensor_type', kind: 'text' },
] as const;

export type ReadingColumn = (typeof READING_COLUMNS)[number];
export type ColumnName = ReadingColumn['name'];
/** Columns declared INTEGER or REAL (held as Float64Array in a batch). */
export type NumericColumn = Extract<ReadingColumn, { kind: 'int' | 'real' }>['name'];
/** Columns declared TEXT (held dictionary-encoded in a batch), except `timestamp`. */
export type TextColumn = Exclude<Extract<ReadingColumn, { kind: 'text' }>['name'], 'timestamp'>;

export const NUMERIC_COLUMNS = READING_COLUMNS.filter((c) => c.kind !== 'text').map((c) => c.name) as NumericColumn[];
export const TEXT_COLUMNS = READING_COLUMNS.filter((c) => c.kind === 'text' && c.name !== 'timestamp').map(
  (c) => c.name,
) as TextColumn[];

/**
 * The run of columns that describe a sensor rather than a moment (they repeat on a sensor's
 * rows), in table order: encoders write them as one cached fragment per sensor.
 */
export const SENSOR_SEGMENT = [
  'firmware_version', 'model', 'manufacturer', 'location', 'latitude', 'longitude', 'original_timezone', 'synced',
  'serial_number', 'manufacture_date', 'deployment_type', 'installation_date', 'height_meters', 'orientation_degrees', 'instance_id', 'sensor_type',
] as const satisfies readonly ColumnName[];

/** The five physical metrics every analytic stage works on, in kernel order (metric index 0..4). */
export const METRICS = ['temperature', 'humidity', 'pressure', 'vibration', 'voltage'] as const;
export type Metric = (typeof METRICS)[number];

/** DDL of the contract's input table, used by the simulator and by test fixtures. */
export const SENSOR_READINGS_DDL = `CREATE TABLE IF NOT EXISTS sensor_readings (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  timestamp TEXT,
  sensor_id TEXT,
  temperature REAL,
  humidity REAL,
  pressure REAL,
  vibration REAL,
  voltage REAL,
  status_code INTEGER,
  anomaly_flag INTEGER,
  anomaly_type TEXT,
  firmware_version TEXT,
  model TEXT,
  manufacturer TEXT,
  location TEXT,
  latitude REAL,
  longitude REAL,
  original_timezone TEXT,
  synced INTEGER,
  serial_number TEXT,
  manufacture_date TEXT,
  deployment_type TEXT,
  installation_date TEXT,
  height_meters REAL,
  orientation_degrees REAL,
  instance_id TEXT,
  sensor_type TEXT
)`;
