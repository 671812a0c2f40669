/**
 * Where a `run --once`'s resident memory is at its peak (Linux): the child's /proc/<pid>/smaps is
 * read every 300 ms and the sample with the largest total is broken down by mapping — V8's heap
 * pages (anonymous 256 KiB mappings), malloc arenas and large blocks (anonymous ≥ 1 MiB), other
 * anonymous memory, and each file mapped (the node binary, libraries, the SQLite -shm files) —
 * and each thread of the child (main, workers) reports its own heap every second from a preload:
 * its peaks of V8 heap used and committed, young generation, external memory and ArrayBuffers.
 * This is how bench/README.md's seventh pass found the arenas; `bench:e2e` gives only the peak.
 *
 * Run: node --import tsx bench/memory.ts <root> <stage> <sensor db> [-- more run flags]
 * (stage `s3:<stage>`: to a loopback s3rver started in this process, as bench:e2e's S3 phases,
 * instead of a lake folder)
 * (root: a checkout with `npm run build` done, e.g. `.`; a 10M-row db: node --import tsx
 * bench/e2e-phase.ts simulate /tmp/e2e10m.db 10000000)
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { destinationFor, nodeFlagsOf, stageType } from './launch.ts';

const sep = process.argv.indexOf('--');
const [root, stage, db] = process.argv.slice(2, sep < 0 ? undefined : sep);
const extra = sep < 0 ? [] : process.argv.slice(sep + 1);
if (!root || !stage || !db) {
  console.error('usage: node --import tsx bench/memory.ts <root> <stage> <sensor db> [-- more run flags]');
  process.exit(2);
}
const cli = join(resolve(root), 'build', 'cli', 'main.js');
if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\` in ${root}`);

const dir = mkdtempSync(join(tmpdir(), 'edgelake-memory-'));
const threadsFile = join(dir, 'threads.jsonl');
// Every thread of the child (the preload runs in workers too) appends its heap figures each second.
const HOOK = `data:text/javascript,${encodeURIComponent(`
  import { appendFileSync } from 'node:fs'; import v8 from 'node:v8'; import { isMainThread, threadId } from 'node:worker_threads';
  const report = () => {
    const m = process.memoryUsage(); const young = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    appendFileSync(${JSON.stringify(threadsFile)}, JSON.stringify({ thread: isMainThread ? 'main' : 'worker ' + threadId, used: m.heapUsed, committed: m.heapTotal, young: young ? young.physical_space_size : 0, external: m.external, arrayBuffers: m.arrayBuffers }) + '\\n');
  };
  setInterval(report, 1000).unref();`)}`;

/** Resident KiB of one smaps snapshot, by kind of mapping. */
function snapshot(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  let kind = '';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const kib = (parseInt(head[2], 16) - parseInt(head[1], 16)) / 1024;
      const name = head[3];
      if (name === '') kind = kib === 256 ? 'anonymous 256 KiB (V8 heap pages)' : kib >= 1024 ? 'anonymous ≥ 1 MiB (malloc arenas, large blocks)' : 'anonymous, other';
      else kind = name.startsWith('[') ? name : name.split('/').pop()!;
    } else if (line.startsWith('Rss:')) out.set(kind, (out.get(kind) ?? 0) + Number(line.split(/\s+/)[1]));
  }
  return out;
}

const destination = await destinationFor(stage, dir);
const env = { ...process.env, NODE_NO_WARNINGS: '1', ...destination.env };
const args = [...(await nodeFlagsOf(root)), '--import', HOOK, cli, 'run', '--db', db, '--state-db', join(dir, 'state.db'), ...destination.args, '--once', '--type', stageType(stage), '--no-progress', '--node-id', 'bench', ...extra];
const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
let stderr = '';
child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
let peak = { total: 0, at: 0, kinds: new Map<string, number>() };
const t0 = performance.now();
const timer = setInterval(() => {
  try {
    const kinds = snapshot(child.pid!);
    const total = [...kinds.values()].reduce((a, b) => a + b, 0);
    if (total > peak.total) peak = { total, at: (performance.now() - t0) / 1000, kinds };
  } catch {
    // The child has just exited.
  }
}, 300);
const code = await new Promise<number | null>((done) => child.on('exit', done));
clearInterval(timer);
await destination.dispose();
if (code !== 0) {
  console.error(`run exited ${code}\n${stderr.slice(-2000)}`);
  process.exit(1);
}

const mib = (kib: number) => (kib / 1024).toFixed(1).padStart(7);
console.log(`${stage} ${extra.join(' ')}: sampled peak ${mib(peak.total)} MiB at ${peak.at.toFixed(1)} s of ${((performance.now() - t0) / 1000).toFixed(1)} s`);
for (const [kind, kib] of [...peak.kinds].sort((a, b) => b[1] - a[1]).slice(0, 10)) console.log(`${mib(kib)} MiB  ${kind}`);

const threads = new Map<string, Record<string, number>>();
for (const line of readFileSync(threadsFile, 'utf8').trim().split('\n')) {
  const r = JSON.parse(line) as Record<string, number | string>;
  const t = threads.get(r.thread as string) ?? {};
  for (const [k, v] of Object.entries(r)) if (typeof v === 'number') t[k] = Math.max(t[k] ?? 0, v);
  threads.set(r.thread as string, t);
}
console.log('\nper thread, peaks over the run (MiB): heap used · committed · young generation · external · ArrayBuffers');
for (const [thread, t] of threads) console.log(`${thread.padEnd(10)} ${[t.used, t.committed, t.young, t.external, t.arrayBuffers].map((b) => mib(b / 1024)).join(' ·')}`);
rmSync(dir, { recursive: true, force: true });
