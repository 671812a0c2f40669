/**
 * End-to-end benchmark in one command: on one simulated database (100 sensors, 1 reading/s each),
 * side by side, (a) the bare SQLite scan ceiling, (b) the plain read into JS (main thread, and two
 * worker threads), (c) `edgelake run --once` of every stage into a lake folder and into a loopback
 * s3rver (plus aggregated with --no-alerts), (d) the lake runs with `--kernels ts`. Every phase runs
 * in its own child process, so peak RSS and CPU time are that phase's own. One-shot figures, so a
 * plain script rather than tinybench. Needs `npm run build` (the CLI phases run build/cli/main.js).
 *
 * Both output formats: the lake phases run once with gzip JSON Lines (`lake:<stage>`) and once
 * with `--format parquet` (`lake:<stage>:parquet`).
 *
 * Run: npm run bench:e2e -- [--rows 1000000] [--only scan,read,lake:aggregated] [--rss-only] [--markdown FILE]
 * Phases: scan, read, read-pool, lake:<stage>, lake:<stage>:parquet, lake:aggregated:no-alerts, s3:<stage>, s3:<stage>:parquet, ts:validated|enriched|aggregated.
 * `--rss-only` runs only the lake:* and s3:* phases (the 10M-row peak-RSS check: every stage and format, to both
 * destinations). TMPDIR chooses the disk used.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, statfsSync, writeFileSync, readFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { InProcessResult } from './e2e-phase.ts';
import { sampleThreads, WORKER_TID_HOOK, type ThreadCpu } from './thread-cpu.ts';
import { NODE_FLAGS } from '../src/cli/node-flags.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'build', 'cli', 'main.js');
const STAGES = ['ingestion', 'validated', 'enriched', 'aggregated'] as const;
/**
 * Targets of issue 12: peak RSS below 300 MB (10^6 bytes) everywhere; the whole command's rows/s as a
 * share of the SQL-only scan ceiling (a) of the same run, alerts on, for the lake phases (`:parquet`
 * has its own target only for ingestion).
 */
const RSS_TARGET_MIB = 300e6 / 2 ** 20;
const RATIO_TARGETS: Partial<Record<string, number>> = {
  'lake:ingestion': 0.19,
  'lake:validated': 0.19,
  'lake:enriched': 0.15,
  'lake:aggregated': 0.8,
  'lake:ingestion:parquet': 0.19,
};
/** Disk per row: ~250 B of database, up to ~170 B of one phase's objects (enriched JSON Lines; Parquet is smaller; each phase's output is deleted after it). */
const DISK_BYTES_PER_ROW = 250 + 200;
const DISK_MARGIN = 512 * 2 ** 20;

// Preloaded into the CLI process: its own peak RSS and CPU (all threads), written at exit (main thread
// only), and each worker thread's tid, so the bench can tell main, workers and the rest apart (thread-cpu.ts).
const USAGE_HOOK =
  'data:text/javascript,import { writeFileSync, appendFileSync, readlinkSync } from "node:fs"; import { isMainThread } from "node:worker_threads";' +
  ' if (isMainThread) process.on("exit", () => { const c = process.cpuUsage();' +
  ' writeFileSync(process.env.EDGELAKE_E2E_USAGE_FILE, JSON.stringify({ cpuSeconds: (c.user + c.system) / 1e6, maxRssMiB: process.resourceUsage().maxRSS / 1024 })); });' +
  WORKER_TID_HOOK;

const metOrNot = (ok: boolean) => (ok ? 'met' : 'not met');

/** One phase of the scenario table. */
interface Phase {
  readonly name: string;
  readonly what: string;
  readonly child?: 'scan' | 'read' | 'read-pool';
  readonly stage?: (typeof STAGES)[number];
  readonly dest?: 'lake' | 's3';
  readonly args?: readonly string[];
  /** Environment of the command, on top of the bench's own. */
  readonly env?: Readonly<Record<string, string>>;
}

const PHASES: readonly Phase[] = [
  { name: 'scan', what: '(a) SQL-only paged scan with sum()/count(), nothing reaches JS', child: 'scan' },
  { name: 'read', what: '(b) SensorReader, 50k pages, main thread', child: 'read' },
  { name: 'read-pool', what: '(b) PooledReader / KernelPool.readColumns, 2 worker threads', child: 'read-pool' },
  ...STAGES.map((stage): Phase => ({ name: `lake:${stage}`, what: '(c) run --once → lake folder', stage, dest: 'lake' })),
  ...STAGES.map((stage): Phase => ({ name: `lake:${stage}:parquet`, what: '(c) run --once → lake folder, --format parquet', stage, dest: 'lake', args: ['--format', 'parquet'] })),
  { name: 'lake:aggregated:no-alerts', what: '(c) run --once → lake folder, --no-alerts', stage: 'aggregated', dest: 'lake', args: ['--no-alerts'] },
  // What igzip (src/encode/igzip.ts) buys end to end: the same stage compressed by Node's zlib.
  { name: 'lake:ingestion:zlib', what: '(c) run --once → lake folder, EDGELAKE_GZIP=zlib (gzip by Node\'s zlib, not igzip)', stage: 'ingestion', dest: 'lake', env: { EDGELAKE_GZIP: 'zlib' } },
  ...STAGES.map((stage): Phase => ({ name: `s3:${stage}`, what: '(c) run --once → loopback s3rver', stage, dest: 's3' })),
  ...STAGES.map((stage): Phase => ({ name: `s3:${stage}:parquet`, what: '(c) run --once → loopback s3rver, --format parquet', stage, dest: 's3', args: ['--format', 'parquet'] })),
  ...STAGES.slice(1).map((stage): Phase => ({ name: `ts:${stage}`, what: '(d) run --once → lake folder, --kernels ts', stage, dest: 'lake', args: ['--kernels', 'ts'] })),
];

/** What one phase measured; seconds/rows/s are the CLI's own pipeline time for run phases. */
interface Row {
  readonly phase: Phase;
  readonly rows: number;
  readonly seconds: number;
  readonly cmdSeconds: number;
  readonly cpuSeconds: number;
  readonly maxRssMiB: number;
  /** Run phases: CPU-s of the CLI's main thread and of its worker threads (the rest is cpuSeconds minus both). */
  readonly threads?: ThreadCpu;
  readonly objects?: number;
  readonly bytes?: number;
  readonly failed?: string;
  /** `edgelake warning/error` lines the CLI logged although it exited 0 (e.g. a failed alert thread). */
  readonly warnings?: readonly string[];
}

const flags = (() => {
  try {
    return parseArgs({
      options: { rows: { type: 'string', default: '1000000' }, only: { type: 'string' }, 'rss-only': { type: 'boolean', default: false }, markdown: { type: 'string' } },
    }).values;
  } catch (err) {
    return usage(`${(err as Error).message} (flags: --rows N, --only a,b,c, --rss-only, --markdown FILE)`);
  }
})();
const rows = Number(flags.rows!.replace(/_/g, ''));
if (!Number.isInteger(rows) || rows < 1) usage(`--rows must be a whole number ≥ 1, got ${JSON.stringify(flags.rows)}`);
const only = flags.only?.split(',').map((s) => s.trim()).filter(Boolean);
const unknown = only?.filter((n) => !PHASES.some((p) => p.name === n));
if (unknown?.length) usage(`--only: unknown phase ${unknown.join(', ')} (phases: ${PHASES.map((p) => p.name).join(', ')})`);
const selected = PHASES.filter((p) => (only ? only.includes(p.name) : !flags['rss-only'] || p.name.startsWith('lake:') || p.name.startsWith('s3:')));

if (selected.some((p) => p.dest) && !existsSync(CLI)) {
  usage(`${CLI} is missing: the run phases use the compiled CLI; run \`npm run build\` first`);
}
if (selected.some((p) => p.dest) && newestMtime(join(ROOT, 'src'), '.ts') > newestMtime(join(ROOT, 'build'), '.js')) {
  console.error('warning: a file in src/ is newer than everything in build/: the run phases may measure a stale build (npm run build)');
}
const need = rows * DISK_BYTES_PER_ROW + DISK_MARGIN;
const fs = statfsSync(tmpdir());
if (fs.bavail * fs.bsize < need) {
  usage(`not enough disk in ${tmpdir()}: ${rows.toLocaleString('en-US')} rows need ~${mib(need)} MiB free, ${mib(fs.bavail * fs.bsize)} MiB available (set TMPDIR to a larger disk)`);
}

const loadStart = loadavg();
const dir = mkdtempSync(join(tmpdir(), 'edgelake-e2e-'));
let s3Dir: string | null = null;
const children = new Set<ChildProcess>();
const cleanUp = () => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
  if (s3Dir) rmSync(s3Dir, { recursive: true, force: true });
};
// Ctrl-C reaches the children too (same process group); the finally below would not run.
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  process.once(signal, () => {
    cleanUp();
    process.exit(code);
  });
}
const results: Row[] = [];
/**
 * WASM against `--kernels ts` is decided by a few percent on a machine whose speed drifts by more
 * over the minutes between `lake:<stage>` and `ts:<stage>`: each pair runs this many more times,
 * alternating which goes first, and the ratio compares medians.
 */
const KERNEL_AB_ROUNDS = 2;
const kernelRuns = new Map<string, Row[]>();
let setup = '';
try {
  const db = join(dir, 'sensor_data.db');
  const sim = await inProcess('simulate', db, String(rows));
  setup = `database: ${mib(statSync(db).size)} MiB, simulated in ${sim.seconds.toFixed(1)} s (${rate(sim.rows / sim.seconds)} rows/s, peak RSS ${sim.maxRssMiB.toFixed(0)} MiB)`;
  console.error(setup);
  for (const phase of selected) {
    const row = phase.child ? await childPhase(phase, db) : await runPhase(phase, db);
    results.push(row);
    if (!row.failed) console.error(`${phase.name}: ${row.seconds.toFixed(2)} s, ${rate(row.rows / row.seconds)} rows/s, peak RSS ${row.maxRssMiB.toFixed(0)} MiB`);
  }
  for (const stage of STAGES) {
    const pair = [`ts:${stage}`, `lake:${stage}`].map((name) => selected.find((p) => p.name === name));
    if (!pair[0] || !pair[1]) continue;
    for (let round = 0; round < KERNEL_AB_ROUNDS; round++) {
      for (const phase of round % 2 === 0 ? pair : [...pair].reverse()) {
        const row = await runPhase(phase!, db, `-ab${round}`);
        kernelRuns.set(phase!.name, [...(kernelRuns.get(phase!.name) ?? []), row]);
        if (!row.failed) console.error(`${phase!.name} (kernel A/B ${round + 1}): ${row.cmdSeconds.toFixed(2)} s whole command`);
      }
    }
  }
} finally {
  cleanUp();
}
const report = render(results, setup, loadStart, loadavg());
console.log(report);
if (flags.markdown) writeFileSync(flags.markdown, report + '\n');
if (results.some((r) => r.failed)) process.exitCode = 1;

/** A setup problem: one clear line, exit 2, nothing created yet. */
function usage(message: string): never {
  console.error(`bench:e2e: ${message}`);
  process.exit(2);
}

async function childPhase(phase: Phase, db: string): Promise<Row> {
  try {
    const r = await inProcess(phase.child!, db, '2');
    return { phase, ...r, cmdSeconds: NaN };
  } catch (err) {
    return failed(phase, err);
  }
}

/** Runs bench/e2e-phase.ts in a child process and returns its JSON line. */
async function inProcess(kind: string, db: string, extra: string): Promise<InProcessResult> {
  const script = fileURLToPath(new URL('./e2e-phase.ts', import.meta.url));
  const r = await exec(['--import', 'tsx', script, kind, db, extra], {});
  const last = r.stdout.trim().split('\n').pop() ?? '';
  if (r.code !== 0 || !last.startsWith('{')) throw new Error(`${ended(r)}: bench/e2e-phase.ts ${kind}\n${r.stderr.slice(-4000)}`);
  return JSON.parse(last) as InProcessResult;
}

/** `node build/cli/main.js run --once` of one stage, with its own state db (so it reads every row) and output. */
async function runPhase(phase: Phase, db: string, attempt = ''): Promise<Row> {
  // Each attempt its own state (and private file beside it), so that it reads every row.
  const slug = phase.name.replace(/:/g, '-') + attempt;
  const out = join(dir, `out-${slug}`);
  const usageFile = join(dir, `usage-${slug}.json`);
  const env: Record<string, string> = { ...phase.env, EDGELAKE_E2E_USAGE_FILE: usageFile };
  const args = ['run', '--db', db, '--state-db', join(dir, `state-${slug}.db`), '--once', '--type', phase.stage!, '--no-progress', '--node-id', 'bench'];
  let server: Awaited<ReturnType<typeof import('../test/helpers/s3server.ts').startS3Server>> | null = null;
  try {
    if (phase.dest === 's3') {
      const { startS3Server, S3RVER_CREDENTIALS } = await import('../test/helpers/s3server.ts');
      // A fresh server per phase, so each one's objects can be counted and then deleted.
      server = await startS3Server();
      s3Dir = server.dir;
      args.push('--s3-endpoint', server.endpoint, '--create-buckets');
      Object.assign(env, { AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey });
    } else args.push('--lake', out);
    args.push(...(phase.args ?? []));
    const t0 = performance.now();
    let sampler: ReturnType<typeof sampleThreads> | null = null;
    const r = await exec([...NODE_FLAGS, '--import', USAGE_HOOK, CLI, ...args], env, (pid) => (sampler = sampleThreads(pid, `${usageFile}.tids`)));
    const cmdSeconds = (performance.now() - t0) / 1000;
    const threads = (sampler as ReturnType<typeof sampleThreads> | null)?.stop();
    // edgelake: 1,000,000 rows in 20 batches → 22 objects (118.2 MiB) in 13.13 s, 76,140 rows/s; …
    const m = /([\d,]+) rows in \d+ batches → \d+ objects \([\d.]+ MiB\) in ([\d.]+) s/.exec(r.stderr);
    if (r.code !== 0 || !m || !existsSync(usageFile)) throw new Error(`${ended(r)}: node build/cli/main.js ${args.join(' ')}\n${r.stderr.slice(-4000)}`);
    const usage = JSON.parse(readFileSync(usageFile, 'utf8')) as { cpuSeconds: number; maxRssMiB: number };
    const written = server ? walk(server.dir, '._S3rver_object') : walk(out, '');
    const warnings = r.stderr.split('\n').filter((l) => /^edgelake (warning|error)/.test(l));
    return { phase, rows: Number(m[1].replace(/,/g, '')), seconds: Number(m[2]), cmdSeconds, ...usage, threads, ...written, warnings };
  } catch (err) {
    return failed(phase, err);
  } finally {
    if (server) await server.dispose();
    s3Dir = null;
    rmSync(out, { recursive: true, force: true });
  }
}

function failed(phase: Phase, err: unknown): Row {
  const message = err instanceof Error ? err.message : String(err);
  console.error(`${phase.name} FAILED, ${message}`);
  return { phase, rows: 0, seconds: NaN, cmdSeconds: NaN, cpuSeconds: NaN, maxRssMiB: NaN, failed: message.split(':')[0] };
}

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `exit 1`, `signal SIGKILL`, or `no result` (exit 0 without the expected summary). */
function ended(r: Exit): string {
  return r.signal ? `signal ${r.signal}` : r.code !== 0 ? `exit ${r.code}` : 'no result';
}

/** Spawns node without blocking this event loop (the s3rver of an S3 phase lives in this process). */
function exec(args: string[], env: Record<string, string>, spawned?: (pid: number) => void): Promise<Exit> {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, NODE_NO_WARNINGS: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  if (child.pid !== undefined) spawned?.(child.pid);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      children.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Count and total size of the files under `root` whose names end with `suffix`. */
function walk(root: string, suffix: string): { objects: number; bytes: number } {
  let objects = 0;
  let bytes = 0;
  if (!existsSync(root)) return { objects, bytes };
  for (const e of readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (!e.isFile() || !e.name.endsWith(suffix)) continue;
    objects++;
    bytes += statSync(join(e.parentPath, e.name)).size;
  }
  return { objects, bytes };
}

function newestMtime(root: string, suffix: string): number {
  let newest = 0;
  for (const e of readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (e.isFile() && e.name.endsWith(suffix)) newest = Math.max(newest, statSync(join(e.parentPath, e.name)).mtimeMs);
  }
  return newest;
}

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(0);
}

function rate(x: number): string {
  return Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '';
}

/**
 * WASM against `--kernels ts` end to end, per stage: the median whole-command time of `ts:<stage>`
 * over that of `lake:<stage>` (above 1: the WASM kernels make the command faster), and the same
 * for CPU-s, over the table's run and the alternating KERNEL_AB_ROUNDS after it.
 */
function kernelRatios(rs: readonly Row[]): string[] {
  const runs = (name: string) => [...rs.filter((r) => r.phase.name === name), ...(kernelRuns.get(name) ?? [])].filter((r) => !r.failed && Number.isFinite(r.cmdSeconds));
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  return STAGES.flatMap((stage) => {
    const wasm = runs(`lake:${stage}`);
    const ts = runs(`ts:${stage}`);
    if (wasm.length === 0 || ts.length === 0) return [];
    const ratio = (f: (r: Row) => number) => (median(ts.map(f)) / median(wasm.map(f))).toFixed(2);
    const secs = (xs: Row[]) => xs.map((r) => r.cmdSeconds.toFixed(2)).join(', ');
    return [
      `- WASM vs --kernels ts, ${stage}: --kernels ts takes ${ratio((r) => r.cmdSeconds)}× the whole command's time and ${ratio((r) => r.cpuSeconds)}× the CPU-s of WASM ` +
        `(medians; WASM ${secs(wasm)} s, ts ${secs(ts)} s, alternating after the table's run)`,
    ];
  });
}

/** `main · workers · rest` CPU-s per 1M rows of a run phase (empty for the others, or where /proc is not there). */
function threadSplit(r: Row): string {
  const t = r.threads;
  if (!t || !Number.isFinite(t.main)) return '';
  const per1M = (s: number) => ((s * 1e6) / r.rows).toFixed(1);
  return `${per1M(t.main)} · ${per1M(t.workers)} · ${per1M(Math.max(0, r.cpuSeconds - t.main - t.workers))}`;
}

/** The markdown table, targets and machine notes. */
function render(rs: readonly Row[], setup: string, load0: number[], load1: number[]): string {
  const scan = rs.find((r) => r.phase.name === 'scan' && !r.failed);
  const scanRate = scan ? scan.rows / scan.seconds : NaN;
  const head = ['phase', 'rows', 's', 'rows/s', '% of (a)', 'rows/CPU-s', 'CPU-s per 1M', 'main · workers · rest', 'objects', 'MiB written', 'peak RSS MiB', 'cmd s', `RSS < 300 MB`, 'cmd rows/s ÷ (a): target'];
  const body = rs.map((r) => {
    if (r.failed) return [r.phase.name, `FAILED (${r.failed})`, '', '', '', '', '', '', '', '', '', '', '', ''];
    const perSec = r.rows / r.seconds;
    const target = RATIO_TARGETS[r.phase.name];
    const cmdRatio = r.rows / r.cmdSeconds / scanRate;
    return [
      r.phase.name + (r.warnings?.length ? ' ⚠' : ''),
      r.rows.toLocaleString('en-US') + (r.rows === rows ? '' : ' (!)'),
      r.seconds.toFixed(2),
      rate(perSec),
      Number.isFinite(scanRate) ? ((100 * perSec) / scanRate).toFixed(0) + ' %' : '',
      rate(r.rows / r.cpuSeconds),
      ((r.cpuSeconds * 1e6) / r.rows).toFixed(2),
      threadSplit(r),
      r.objects === undefined ? '' : String(r.objects),
      r.bytes === undefined ? '' : (r.bytes / 2 ** 20).toFixed(2),
      r.maxRssMiB.toFixed(0),
      Number.isFinite(r.cmdSeconds) ? r.cmdSeconds.toFixed(2) : '',
      metOrNot(r.maxRssMiB < RSS_TARGET_MIB),
      target && Number.isFinite(cmdRatio) ? `${cmdRatio.toFixed(2)} ≥ ${target}: ${metOrNot(cmdRatio >= target)}` : '',
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(widths[i])).join(' | ') + ' |';
  const fmtLoad = (l: number[]) => l.map((x) => x.toFixed(2)).join(' / ');
  return [
    `### edgelake end to end, ${rows.toLocaleString('en-US')} simulated rows (100 sensors, 1 reading/s each), 50k-row pages/batches`,
    '',
    setup + '.',
    '',
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...body.map(line),
    '',
    ...rs.map((r) => `- \`${r.phase.name}\`: ${r.phase.what}`),
    '',
    ...kernelRatios(rs),
    ...rs.flatMap((r) => (r.warnings ?? []).map((w) => `- ⚠ \`${r.phase.name}\` logged: ${w}`)),
    '',
    's and rows/s: the measured loop for scan/read phases (db open and worker start-up excluded); for run phases the',
    "pipeline's own time from the CLI summary (its run loop), and `cmd s` the whole command: node start-up, module loading,",
    'bucket preparation, alert-thread start and final alert drain, worker shutdown included.',
    'rows/CPU-s: user+sys CPU of all threads (the whole CLI process for run phases; s3rver runs in the parent and is not counted); CPU-s per 1M: the same CPU per million rows.',
    "main · workers · rest: that CPU per 1M rows by thread (bench/thread-cpu.ts samples the CLI's threads every 100 ms): its main thread, its worker threads, and the rest — libuv's pool (gzip) and V8's GC and compiler threads.",
    'Phases ending :parquet write every dataset with --format parquet (zstd), the others gzip JSON Lines.',
    'objects, MiB written: every file the command wrote (stage objects, alerts, latency and pipeline metrics), counted on disk.',
    'Peak RSS: process.resourceUsage().maxRSS of the phase\'s own child process, worker threads included; target < 300 MB = 300·10⁶ bytes (286 MiB).',
    ...(rs.some((r) => !r.failed && r.rows !== rows) ? [`(!) after rows: the phase did not process all ${rows.toLocaleString('en-US')} rows.`] : []),
    '',
    `${new Date().toISOString()}, node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores,`,
    `load average (1/5/15 min) ${fmtLoad(load0)} at start, ${fmtLoad(load1)} at end.`,
    'The machine is shared with other jobs: figures are noisy; compare only phases from the same run.',
  ].join('\n');
}
