/**
 * Two builds of edgelake side by side on the same rows: `run --once` of one stage, alternating A
 * and B so the machine's drift hits both alike, each run with its own state and lake. Prints each
 * run's whole-command seconds, CPU-s (user+sys, worker threads included) and peak RSS, then the
 * range of each. This is how a change is measured against its parent (bench/README.md quotes
 * such pairs); bench:e2e measures one tree.
 *
 * A build is a checkout with `npm run build` done, e.g. the parent commit in a worktree:
 *   git worktree add /tmp/base HEAD~1 && (cd /tmp/base && ln -s "$PWD/../node_modules" . ; npm run build)
 * A side may add environment to its runs, `<root>::K=V[,K=V]`: one build two ways, e.g. the native reader
 * against better-sqlite3: `bench/ab.ts . .::EDGELAKE_READER=js validated <db>`.
 * Run: node --import tsx bench/ab.ts <rootA> <rootB> <stage> <sensor db> [pairs=3] [-- more run flags]
 * (stage `s3:<stage>`: into a loopback s3rver started here for each run, instead of a lake folder)
 * (a 1M-row db: node --import tsx bench/e2e-phase.ts simulate /tmp/e2e1m.db 1000000)
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { destinationFor, nodeFlagsOf, stageType } from './launch.ts';

const sep = process.argv.indexOf('--');
const positional = process.argv.slice(2, sep < 0 ? undefined : sep);
const extra = sep < 0 ? [] : process.argv.slice(sep + 1);
const [sideA, sideB, stage, db, pairsArg] = positional;
if (!sideA || !sideB || !stage || !db) {
  console.error('usage: node --import tsx bench/ab.ts <rootA> <rootB> <stage> <sensor db> [pairs=3] [-- more run flags]');
  process.exit(2);
}
const pairs = Number(pairsArg ?? 3);
/** `<root>` or `<root>::K=V[,K=V]`: the build and the environment its runs add. */
function parseSide(spec: string): { root: string; env: Record<string, string> } {
  const [root, vars] = spec.split('::');
  const env: Record<string, string> = {};
  for (const kv of vars ? vars.split(',') : []) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new Error(`bad environment ${JSON.stringify(kv)} in ${JSON.stringify(spec)}: want K=V`);
    env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return { root, env };
}
const A = parseSide(sideA);
const B = parseSide(sideB);
const rootA = A.root;
const rootB = B.root;
const cli = (root: string) => join(resolve(root), 'build', 'cli', 'main.js');
for (const root of [rootA, rootB]) if (!existsSync(cli(root))) throw new Error(`${cli(root)} is missing: run \`npm run build\` in ${root}`);
/** Each side runs with its own build's Node options (bench/launch.ts). */
const flags = new Map([[rootA, await nodeFlagsOf(rootA)], [rootB, await nodeFlagsOf(rootB)]]);

// The child reports its own CPU and peak RSS (worker threads included) as its last stderr line.
const USAGE = `data:text/javascript,${encodeURIComponent(
  "process.on('exit', () => { const c = process.cpuUsage(); process.stderr.write('\\nAB-USAGE ' + JSON.stringify({ cpu: (c.user + c.system) / 1e6, rssMiB: process.resourceUsage().maxRSS / 1024 }) + '\\n'); });",
)}`;

interface Run {
  readonly seconds: number;
  readonly cpu: number;
  readonly rssMiB: number;
}

async function once({ root, env }: { root: string; env: Record<string, string> }): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'edgelake-ab-'));
  // `s3:<stage>`: a loopback s3rver for this run (bench/launch.ts).
  const destination = await destinationFor(stage, dir);
  const runEnv = { ...process.env, NODE_NO_WARNINGS: '1', ...destination.env, ...env };
  const args = [...flags.get(root)!, '--import', USAGE, cli(root), 'run', '--db', db, '--state-db', join(dir, 'state.db'), ...destination.args, '--once', '--type', stageType(stage), '--no-progress', '--node-id', 'bench', ...extra];
  const t0 = performance.now();
  return new Promise<Run>((done, fail) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: runEnv });
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b.toString('utf8')));
    child.on('error', fail);
    child.on('exit', (code) => {
      const seconds = (performance.now() - t0) / 1000;
      const m = /AB-USAGE (\{.*\})/.exec(err);
      if (code !== 0 || !m) return fail(new Error(`${root}: run exited ${code}\n${err.slice(-2000)}`));
      const u = JSON.parse(m[1]) as { cpu: number; rssMiB: number };
      done({ seconds, cpu: u.cpu, rssMiB: u.rssMiB });
    });
  }).finally(async () => {
    await destination.dispose();
    rmSync(dir, { recursive: true, force: true });
  });
}

const runs: Record<'A' | 'B', Run[]> = { A: [], B: [] };
const show = (r: Run) => `${r.seconds.toFixed(2)} s, ${r.cpu.toFixed(2)} CPU-s, ${r.rssMiB.toFixed(0)} MiB`;
for (let p = 1; p <= pairs; p++) {
  // Alternate which goes first, so neither always runs on a cooler machine.
  for (const side of p % 2 ? (['A', 'B'] as const) : (['B', 'A'] as const)) {
    const r = await once(side === 'A' ? A : B);
    runs[side].push(r);
    console.log(`pair ${p} ${side}: ${show(r)}`);
  }
}
const range = (xs: number[], d: number) => `${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)}`;
for (const side of ['A', 'B'] as const) {
  const rs = runs[side];
  console.log(`${side} (${side === 'A' ? sideA : sideB}): ${range(rs.map((r) => r.seconds), 2)} s, ${range(rs.map((r) => r.cpu), 2)} CPU-s, ${range(rs.map((r) => r.rssMiB), 0)} MiB peak, ${stage}, ${pairs} runs`);
}
