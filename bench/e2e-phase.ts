/**
 * Child side of bench/e2e.ts: one in-process phase per child process, so its peak RSS
 * (`process.resourceUsage().maxRSS`, worker threads included) and its CPU time are its own.
 * Prints one JSON line ({@link InProcessResult}) on stdout as its last line.
 *
 * Run (by bench/e2e.ts): node --import tsx bench/e2e-phase.ts <simulate|scan|read|read-pool> <db> [rows|threads]
 */
import { AGGREGATED_COLUMNS } from '../src/stages/aggregated.ts';

/** What an in-process phase reports to bench/e2e.ts. */
export interface InProcessResult {
  /** Rows the phase wrote (simulate) or read. */
  readonly rows: number;
  /** Wall-clock seconds of the measured part (setup such as opening the db or starting workers excluded). */
  readonly seconds: number;
  /** User + system CPU seconds of the measured part, all threads of the process. */
  readonly cpuSeconds: number;
  /** Peak resident set size of the whole child process, MiB. */
  readonly maxRssMiB: number;
}

/** Rows per page, as the runner's default batch size. */
export const PAGE_ROWS = 50_000;

/** Start of the simulated event time: fixed, so every run writes the same database. */
export const SIMULATE_START_MS = Date.UTC(2025, 7, 15);

const [kind, db, extra] = process.argv.slice(2);

/** Times `body` (wall and process CPU) and prints the phase's JSON line. */
async function measure(body: () => Promise<number> | number): Promise<void> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const rows = await body();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const result: InProcessResult = { rows, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, maxRssMiB: process.resourceUsage().maxRSS / 1024 };
  console.log(JSON.stringify(result));
}

if (kind === 'simulate') {
  const { simulate } = await import('../src/simulate/index.ts');
  // 100 sensors at one reading per second each: the default span is rows/sensors seconds.
  await measure(async () => (await simulate({ db, rows: Number(extra), sensors: 100, startMs: SIMULATE_START_MS })).rowsWritten);
} else if (kind === 'scan') {
  const { openSensorDb } = await import('../src/source/open.ts');
  const conn = openSensorDb(db);
  // The aggregated stage's columns, the time parsed as the reader does; sum()/count() so no value reaches JS.
  const page = conn.prepare(
    `SELECT count(*) AS n, max(id) AS last, sum(t) AS t, sum(length(sensor_id)) AS s, sum(temperature) AS a, sum(humidity) AS b,
            sum(pressure) AS c, sum(vibration) AS d, sum(voltage) AS e, sum(anomaly_flag) AS f
       FROM (SELECT id, unixepoch(timestamp, 'subsec') AS t, sensor_id, temperature, humidity, pressure, vibration, voltage, anomaly_flag
               FROM sensor_readings WHERE id > ? ORDER BY id LIMIT ?)`,
  );
  await measure(() => {
    let rows = 0;
    let after = 0;
    for (;;) {
      const r = page.get(after, PAGE_ROWS) as { n: number; last: number | null };
      if (r.n === 0 || r.last === null) return rows;
      rows += r.n;
      after = r.last;
    }
  });
  conn.close();
} else if (kind === 'read') {
  const { openSensorDb } = await import('../src/source/open.ts');
  const { SensorReader } = await import('../src/source/reader.ts');
  const conn = openSensorDb(db);
  const reader = new SensorReader({ db: conn, columns: AGGREGATED_COLUMNS, keepTimestampText: false });
  await measure(() => {
    let rows = 0;
    let after = 0;
    for (;;) {
      const batch = reader.read(after, PAGE_ROWS);
      if (batch.length === 0) return rows;
      rows += batch.length;
      after = batch.id[batch.length - 1];
    }
  });
  conn.close();
} else if (kind === 'read-pool') {
  const { openSensorDb } = await import('../src/source/open.ts');
  const { KernelPool } = await import('../src/pool/kernel-pool.ts');
  const { PooledReader } = await import('../src/source/pooled-reader.ts');
  const threads = Number(extra);
  const conn = openSensorDb(db);
  // Workers start before the clock: their start-up under tsx is not reading.
  const pool = await KernelPool.open({ threads, impl: 'wasm' });
  const reader = new PooledReader({ db: conn, path: db, pool: () => Promise.resolve(pool), columns: AGGREGATED_COLUMNS, keepTimestampText: false, parts: threads });
  try {
    await measure(async () => {
      let rows = 0;
      let after = 0;
      for (;;) {
        const batch = await reader.read(after, PAGE_ROWS);
        if (batch.length === 0) return rows;
        rows += batch.length;
        after = batch.id[batch.length - 1];
      }
    });
  } finally {
    await pool.close();
    conn.close();
  }
} else {
  throw new RangeError(`e2e-phase: unknown phase "${kind}" (simulate, scan, read, read-pool)`);
}
