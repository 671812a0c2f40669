import type { CommandSpec, FlagSpec } from './args.ts';

const str = (help: string, extra: Partial<FlagSpec> = {}): FlagSpec => ({ type: 'string', help, ...extra });
const bool = (help: string, extra: Partial<FlagSpec> = {}): FlagSpec => ({ type: 'boolean', help, ...extra });

const db = str('sensor database (default sensor_data.db)');
const stateDb = str('separate state database (default: the sensor database)');

const lakeSource: Record<string, FlagSpec> = {
  lake: str('local lake folder, as given to run --lake (default ./lake)'),
  s3: bool('read the buckets from S3 through the AWS default chain and endpoint'),
  's3-endpoint': str('read the buckets from this S3-compatible endpoint'),
  region: str('region in the bucket names (default us-west-2)'),
  'bucket-prefix': str('bucket name prefix (default expanso)'),
  cache: str('S3 only: local cache folder (default .cache/edgelake/<prefix>-<region>)'),
};

/** Every command of the `edgelake` CLI (contract §3), with its flags; help is generated from it. */
export const COMMANDS: Readonly<Record<string, CommandSpec>> = {
  run: {
    summary: 'process new sensor rows with the active pipeline type and upload them',
    usage: 'edgelake run --db sensor_data.db [--once] [--lake ./lake | --s3-endpoint URL] [--type T] [--alert-webhook URL]...',
    flags: {
      db,
      'state-db': stateDb,
      once: bool('drain every pending row, then exit'),
      lake: str('write the bucket/key layout into this local folder (default ./lake when no S3 is configured)'),
      's3-endpoint': str('S3-compatible endpoint URL (else the AWS environment/default chain)'),
      region: str('region for bucket names and S3 (default us-west-2, or AWS_REGION)'),
      'bucket-prefix': str('bucket name prefix (default expanso)'),
      'create-buckets': bool('create missing buckets'),
      type: str('override the active pipeline type for this run: ingestion|validated|enriched|aggregated'),
      'from-id': str('reprocess history from this id (with --type and --once), on its own checkpoint'),
      'batch-size': str('rows per batch (default 50000)'),
      'batch-timeout': str('follow mode: upload a partial batch after this wait (default 1s)'),
      'poll-interval': str('longest idle wait between polls (default 200ms)'),
      'gzip-level': str('gzip level 0-9 (default 1)'),
      'node-identity': str('node identity JSON file'),
      'node-id': str('node id (else NODE_ID, the identity file, the id recorded in the state, the host name)'),
      'rekey-node': bool('write new batches under the node id configured now instead of the one the state recorded'),
      'wait-lock': str('wait this long for another run on the same state to finish (default 0: exit 2 naming it)'),
      'alert-webhook': str('POST alerts to this URL (repeatable)', { multiple: true }),
      'alert-min-priority': str('lowest alert priority: low|medium|high (default medium)'),
      'alert-rate-limit': str('per sensor and priority, at most one alert per this long (default 10s; 0 = off)'),
      'alert-queue-limit': str('undelivered webhook alerts kept per URL (default 10000)'),
      alerts: bool('route anomalies to the alerts stream (--no-alerts to turn off)', { negatable: true }),
      kernels: str('kernel implementation: wasm (default) or ts'),
      'read-threads': str('worker threads reading large batches from SQLite (default: 2 for aggregated, 0 = main thread for the others)'),
      'keep-original-gps': bool('keep true coordinates as original_latitude/original_longitude'),
      'fuzz-radius-km': str('GPS fuzzing radius in km (default 1)'),
      window: str('aggregation window (default 5m)'),
      lateness: str('allowed lateness before a window closes (default 1m)'),
      'flush-windows': bool('with --once, emit still-open windows at the end (default; --no-flush-windows keeps them)', { negatable: true }),
      progress: bool('show progress (default; --no-progress hides it)', { negatable: true }),
    },
  },
  pipeline: {
    summary: 'show, switch or list the pipeline type',
    usage: 'edgelake pipeline get|set|history [--db sensor_data.db] [--type T --by NAME] [--limit 20]',
    subcommands: ['get', 'set', 'history'],
    flags: {
      db,
      'state-db': stateDb,
      type: str('set: the new type (ingestion, validated, enriched, aggregated; aliases raw, schematized)'),
      by: str('set: who switched (recorded in the history)'),
      limit: str('history: rows to show (default 20)'),
      json: bool('print JSON'),
    },
  },
  simulate: {
    summary: 'write realistic sensor readings into a database',
    usage: 'edgelake simulate --db sensor_data.db [--sensors 10] [--rate 100] [--duration 60s | --rows N] [--anomaly-rate 0.05] [--invalid-rate 0] [--city PARI,LOND] [--seed 42]',
    flags: {
      db,
      sensors: str('number of sensors (default 10)'),
      rate: str('live mode: rows per second over all sensors (default 100)'),
      duration: str('live mode: how long to write (default 60s)'),
      rows: str('backfill: write N rows with historical timestamps, as fast as possible'),
      'anomaly-rate': str('share of anomalous readings (default 0.05)'),
      seed: str('random seed (default 42)'),
      span: str('backfill: time span of the timestamps (default: about one reading per sensor per second)'),
      'invalid-rate': str('share of bad rows (NULLs, text in REAL columns, out-of-range/impossible values, bad timestamps, bad GPS), each breaking one validation rule (default 0)'),
      city: str('pin the sensors to these cities, comma-separated codes or names (e.g. PARI,LOND), each near its centre (default: one city each, shuffled)'),
      'spread-km': str('with --city: how far from the city centre a sensor may be, km (default 5)'),
    },
  },
  query: {
    summary: 'run the demo queries (or --name/--sql) over the lake with a local SQL engine',
    usage: 'edgelake query [--lake DIR | --s3-endpoint URL --region R --bucket-prefix P [--cache DIR]] [--name Q | --sql "…"] [--json]',
    flags: {
      ...lakeSource,
      name: str('run one named query (demo_1_volume_reduction … demo_5_geography, dash_…)'),
      sql: str('run this SQL over the sensor_data.<table> views'),
      json: bool('print JSON'),
    },
  },
  dashboard: {
    summary: 'write a self-contained HTML report (charts, no network) from the lake',
    usage: 'edgelake dashboard --out report.html [--lake DIR | --s3-endpoint URL ...] [--cost-per-gb 0.09]',
    flags: {
      out: str('HTML file to write (default report.html)'),
      ...lakeSource,
      'cost-per-gb': str('transfer price assumed for the savings estimate, USD per GB (default 0.09, AWS internet egress)'),
      title: str('report title (default "edgelake report")'),
    },
  },
  demo: {
    summary: 'the five-stage demo on an embedded lake: simulate, switch stages, run, summarise',
    usage: 'edgelake demo [--dir demo] [--rows 120000]',
    flags: {
      dir: str('working folder for the demo database and lake (default ./demo)'),
      rows: str('rows to simulate (default 120000)'),
      sensors: str('sensors (default 20)'),
    },
  },
};
