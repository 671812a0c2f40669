/**
 * Alert latency: a writer process commits 10k rows/s (100 rows every 10 ms, 1% flagged by the
 * sensor) while `run` follows the database (ingestion stage, alerts on, rate limit off) and POSTs
 * to a local receiver. Latency = webhook receipt − the writer's commit of that row (same clock).
 * `edgelake run` is a child process (the compiled CLI when build/ exists), so neither the writer nor the
 * receiver shares its event loop.
 * Run: node --import tsx bench/alert-latency.bench.ts [seconds] [extra run flags…]
 */
import { fork, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SENSOR_READINGS_DDL } from '../src/source/schema.ts';
import { NODE_FLAGS } from '../src/cli/node-flags.ts';

const seconds = Number(process.argv[2] ?? 10);
/** Extra `run` flags after the seconds, e.g. `--type aggregated` or `--read-threads 0`. */
const extra = process.argv[3] === '--writer' ? [] : process.argv.slice(3);
if (process.argv[3] === '--writer') {
  // Child: the sensor writer.
  const db = new Database(process.argv[4]);
  db.pragma('busy_timeout = 10000');
  const ins = db.prepare('INSERT INTO sensor_readings (timestamp, sensor_id, temperature, humidity, pressure, vibration, voltage, status_code, anomaly_flag) VALUES (?, ?, ?, 50, 101325, 2.5, 12, ?, ?)');
  let n = 0;
  const end = Date.now() + seconds * 1000;
  const tick = () => {
    if (Date.now() > end) return process.send!({ done: true }, () => process.exit(0));
    let first = 0;
    let last = 0;
    db.transaction(() => {
      for (let i = 0; i < 100; i++, n++) {
        const flag = n % 100 === 37 ? 1 : 0;
        const id = Number(ins.run(new Date().toISOString(), `S${n % 50}`, 25 + Math.sin(n) * 0.5, flag, flag).lastInsertRowid);
        if (!first) first = id;
        last = id;
      }
    })();
    process.send!({ first, last, committed: performance.timeOrigin + performance.now() });
    setTimeout(tick, 10);
  };
  tick();
} else {
  const dir = mkdtempSync(join(tmpdir(), 'edgelake-alertbench-'));
  const dbPath = join(dir, 's.db');
  const db = new Database(dbPath);
  db.pragma('journal_mode = WAL');
  db.exec(SENSOR_READINGS_DDL);
  db.close();
  const committed = new Map<number, number>(); // first id of a transaction → commit time
  const ranges: Array<[number, number, number]> = [];
  const latencies: number[] = [];
  /** The same, for rows committed after the first second of writing (the pipeline's worker threads started, its first batch done). */
  const steady: number[] = [];
  let writingSince = Infinity;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const at = performance.timeOrigin + performance.now();
      for (const a of (JSON.parse(body) as { alerts: Array<{ id: number }> }).alerts) {
        const r = ranges.find(([f, l]) => a.id >= f && a.id <= l);
        if (r) latencies.push(at - r[2]);
        if (r && r[2] >= writingSince + 1000) steady.push(at - r[2]);
      }
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  // The pipeline is its own process, as on a node: the receiver here never shares its event loop.
  const cli = existsSync(new URL('../build/cli/main.js', import.meta.url)) ? [...NODE_FLAGS, 'build/cli/main.js'] : ['--import', 'tsx', 'src/cli/main.ts'];
  const run = spawn(process.execPath, [...cli, 'run', '--db', dbPath, '--lake', join(dir, 'lake'), '--node-id', 'bench', '--no-progress', '--alert-rate-limit', '0', '--alert-webhook', `http://127.0.0.1:${port}/`, ...extra], {
    cwd: new URL('..', import.meta.url).pathname,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const ended = new Promise((r) => run.on('close', r));
  // The writer starts once the run has taken its state (its alert path is open, kernels loaded), as
  // on a node where the daemon runs before the sensors write; start-up is not alert latency.
  for (const deadline = Date.now() + 30_000; !hasCheckpoint(dbPath); ) {
    if (Date.now() > deadline || run.exitCode !== null) throw new Error('edgelake run did not start within 30 s');
    await new Promise((r) => setTimeout(r, 50));
  }
  writingSince = performance.timeOrigin + performance.now();
  const child = fork(new URL(import.meta.url).pathname, [String(seconds), '--writer', dbPath], { execArgv: ['--import', 'tsx'] });
  await new Promise<void>((resolve) =>
    child.on('message', (m: { done?: boolean; first: number; last: number; committed: number }) => {
      if (m.done) return resolve();
      ranges.push([m.first, m.last, m.committed]);
      committed.set(m.first, m.committed);
    }),
  );
  await new Promise((r) => setTimeout(r, 1000)); // let the last alerts arrive
  run.kill('SIGTERM');
  await ended;
  server.close();
  const line = (xs: number[]) => {
    xs.sort((a, b) => a - b);
    const q = (p: number) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))].toFixed(1);
    return `${xs.length} alerts at 10k rows/s: p50 ${q(0.5)} ms, p95 ${q(0.95)} ms, p99 ${q(0.99)} ms, max ${q(1)} ms`;
  };
  console.log(`alert latency, commit → webhook receipt, ${line(latencies)}`);
  console.log(`  after the first second of writing: ${line(steady)}`);
  // How the emergency bucket received them: one object per upload and event hour (fewer, larger objects suit Auto Loader).
  const emergency = join(dir, 'lake', 'expanso-databricks-emergency-us-west-2');
  const objects = existsSync(emergency) ? readdirSync(emergency, { recursive: true }).filter((f) => String(f).endsWith('.jsonl.gz')).length : 0;
  console.log(`  emergency bucket: ${objects} objects for ${latencies.length} alerts in ${seconds} s`);
  rmSync(dir, { recursive: true, force: true });
}

/** True once `edgelake run` has created its live checkpoint in the state (here the sensor database itself). */
function hasCheckpoint(path: string): boolean {
  const db = new Database(path, { readonly: true });
  try {
    db.pragma('busy_timeout = 1000');
    return db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'edgelake_checkpoints'").get() !== undefined && db.prepare("SELECT 1 FROM edgelake_checkpoints WHERE cursor = 'live'").get() !== undefined;
  } finally {
    db.close();
  }
}
