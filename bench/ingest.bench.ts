/**
 * Ingestion throughput on 1M rows (issue 2's "done when"): `simulate --rows 1000000` into a temp
 * database, then `run --once` into a lake folder and into a loopback s3rver. Each phase runs in
 * its own child process so its peak RSS is its own. One-shot figures, so a plain script rather
 * than tinybench.
 *
 * Run: node --import tsx bench/ingest.bench.ts [rows=1000000] [batchSize=50000]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [, , first, ...rest] = process.argv;

/** What one phase reports to the parent (a JSON line on stdout). */
interface PhaseResult {
  phase: string;
  rows: number;
  seconds: number;
  objects: number;
  bytes: number;
  maxRssMiB: number;
  cpuSeconds: number;
}

if (first === '--phase') await childPhase(rest);
else await parent(Number(first ?? 1_000_000), Number(rest[0] ?? 50_000));

async function parent(rows: number, batchSize: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'edgelake-ingestbench-'));
  const results: PhaseResult[] = [];
  const { startS3Server, S3RVER_CREDENTIALS } = await import('../test/helpers/s3server.ts');
  const server = await startS3Server();
  try {
    const db = join(dir, 'sensor_data.db');
    results.push(phase(['simulate', db, String(rows)]));
    console.error(`db ${(statSync(db).size / 2 ** 20).toFixed(0)} MiB`);
    results.push(phase(['lake', db, join(dir, 'lake'), String(batchSize)]));
    // The S3 run keeps its own checkpoint: a separate state db, so it reads all rows again.
    results.push(
      await phaseAsync(['s3', db, server.endpoint, String(batchSize), join(dir, 'state-s3.db')], {
        AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
      }),
    );
  } finally {
    await server.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
  const head = ['phase', 'rows', 's', 'rows/s', 'rows/CPU-s', 'objects', 'MiB', 'peak RSS MiB'];
  const table = results.map((r) => [
    r.phase,
    r.rows.toLocaleString('en-US'),
    r.seconds.toFixed(2),
    Math.round(r.rows / r.seconds).toLocaleString('en-US'),
    Math.round(r.rows / r.cpuSeconds).toLocaleString('en-US'),
    r.objects ? String(r.objects) : '',
    r.bytes ? (r.bytes / 2 ** 20).toFixed(1) : '',
    r.maxRssMiB.toFixed(0),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(widths[i])).join(' | ') + ' |';
  console.log(line(head));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const row of table) console.log(line(row));
  console.log(`batch size ${batchSize}, node ${process.version}, ${new Date().toISOString().slice(0, 10)}`);
}

function phaseArgs(args: string[]): string[] {
  return ['--import', 'tsx', fileURLToPath(import.meta.url), '--phase', ...args];
}

function parse(stdout: string, stderr: string, status: number | null): PhaseResult {
  const last = stdout.trim().split('\n').pop() ?? '';
  if (status !== 0 || !last.startsWith('{')) throw new Error(`phase failed (exit ${status}):\n${stderr}`);
  return JSON.parse(last) as PhaseResult;
}

function phase(args: string[]): PhaseResult {
  const r = spawnSync(process.execPath, phaseArgs(args), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return parse(r.stdout, r.stderr, r.status);
}

/** Like phase(), but keeps this process's event loop free (the s3rver lives here). */
async function phaseAsync(args: string[], env: Record<string, string>): Promise<PhaseResult> {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, phaseArgs(args), { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return parse(out, err, status);
}

async function childPhase([name, ...args]: string[]): Promise<void> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let rows = 0;
  let objects = 0;
  let bytes = 0;
  if (name === 'simulate') {
    const { simulate } = await import('../src/simulate/index.ts');
    const s = await simulate({ db: args[0], rows: Number(args[1]), sensors: 100, startMs: Date.UTC(2025, 7, 15) });
    rows = s.rowsWritten;
  } else {
    const { parseRunOptions } = await import('../src/config.ts');
    const { runPipeline } = await import('../src/pipeline/run.ts');
    const { createLogger } = await import('../src/log.ts');
    const [db, target, batchSize, stateDb] = args;
    const dest = name === 'lake' ? { lake: target } : { s3Endpoint: target, createBuckets: true, stateDb };
    const options = parseRunOptions({ db, once: true, batchSize, nodeId: 'bench', progress: false, ...dest });
    const summary = await runPipeline(options, { log: createLogger({ quiet: true }) });
    rows = summary.rows;
    objects = summary.objects;
    bytes = summary.bytes;
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const result: PhaseResult = {
    phase: name === 'simulate' ? 'simulate (backfill)' : `run --once → ${name}`,
    rows,
    seconds,
    objects,
    bytes,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
  console.log(JSON.stringify(result));
}
