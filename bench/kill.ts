/**
 * Kill-chain soak: for each stage, `points` starts of `run --once` (compiled CLI) on one database
 * and lake, each SIGKILLed at a crash point (`EDGELAKE_CRASH_AT`) or by a timer, then one plain
 * rerun, then the exactly-once proof of test/kill.test.ts (rows per stage, windows for
 * aggregated). The CI test does 23 points per stage; this does 100 (or what you ask for). As in
 * the test, the alert router runs beside the ingestion chain only (it costs a third of each start).
 * One-shot figures, so a plain script rather than tinybench. Needs `npm run build` first.
 *
 * Run: node --import tsx bench/kill.ts [points=100] [rows=100000] [batchSize=500] [stages=ingestion,validated,enriched,aggregated] [seed=1]
 * Exit code 1 when any stage's lake is not exactly once (the problems are printed).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePipelineType, type PipelineType } from '../src/state/pipeline-types.ts';
import { assertBuilt } from '../test/helpers/built-cli.ts';
import { describeChain, killSchedule, killSource, runKillChain } from '../test/helpers/kill-chain.ts';
import { lakeProof } from '../test/helpers/lake-proof.ts';

const [pointsArg, rowsArg, batchArg, stagesArg, seedArg] = process.argv.slice(2);
const points = Number(pointsArg ?? 100);
const rows = Number(rowsArg ?? 100_000);
const batchSize = Number(batchArg ?? 500);
const stages: PipelineType[] = (stagesArg ?? 'ingestion,validated,enriched,aggregated').split(',').map((s) => parsePipelineType(s.trim()));
const seed = Number(seedArg ?? 1);
for (const [name, v] of [['points', points], ['rows', rows], ['batchSize', batchSize], ['seed', seed]] as const) {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a whole number ≥ 1, got ${v}`);
}
assertBuilt();

interface StageFigures {
  stage: PipelineType;
  killed: number;
  finished: number;
  chainS: number;
  meanStartMs: number;
  finalMs: number;
  /** Rows the final rerun had left to do (source rows minus the checkpoint the chain reached). */
  finalRows: number;
  objects: number;
  tempFiles: number;
  corrections: number | undefined;
  problems: string[];
}

const figures: StageFigures[] = [];
const root = mkdtempSync(join(tmpdir(), 'edgelake-killbench-'));
try {
  for (const [i, stage] of stages.entries()) {
    const dir = join(root, stage);
    const db = join(dir, 'sensor_data.db');
    const lake = join(dir, 'lake');
    mkdirSync(dir);
    await killSource(db, rows);
    const t0 = performance.now();
    const chain = await runKillChain({ db, lake, stage, batchSize, kills: killSchedule(points, seed * 1000 + i), alerts: stage === 'ingestion' });
    const chainS = (performance.now() - t0) / 1000;
    const proof = lakeProof(stage, db, lake);
    console.error(`${stage}: ${describeChain(chain)}`);
    figures.push({
      stage,
      killed: chain.killed,
      finished: chain.steps.length - chain.killed,
      chainS,
      meanStartMs: chain.steps.reduce((s, x) => s + x.ms, 0) / Math.max(1, chain.steps.length),
      finalMs: chain.finalMs,
      finalRows: rows - (chain.steps[chain.steps.length - 1]?.checkpoint ?? 0),
      objects: proof.objects,
      tempFiles: proof.tempFiles,
      corrections: proof.corrections,
      problems: proof.problems,
    });
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}

const head = ['stage', 'kills', 'killed', 'ran to end', 'chain s', 'ms/start', 'final rerun', 'final rows/s', 'objects', 'corrections', 'stray .tmp', 'exactly once'];
const table = figures.map((f) => [
  f.stage,
  String(points),
  String(f.killed),
  String(f.finished),
  f.chainS.toFixed(1),
  f.meanStartMs.toFixed(0),
  `${f.finalRows.toLocaleString('en-US')} rows, ${f.finalMs} ms`,
  // Includes the ~0.5 s start of a process, so it is a lower bound of the steady rate.
  Math.round(f.finalRows / (f.finalMs / 1000)).toLocaleString('en-US'),
  String(f.objects),
  f.corrections === undefined ? '' : String(f.corrections),
  String(f.tempFiles),
  f.problems.length ? 'NO' : 'yes',
]);
const widths = head.map((h, c) => Math.max(h.length, ...table.map((r) => r[c].length)));
const line = (cells: string[]) => '| ' + cells.map((x, c) => x.padEnd(widths[c])).join(' | ') + ' |';
console.log(`kill chains: ${points} points per stage, ${rows.toLocaleString('en-US')} rows, batch ${batchSize}, seed ${seed}`);
console.log(line(head));
console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
for (const r of table) console.log(line(r));
for (const f of figures) for (const p of f.problems) console.log(`${f.stage}: ${p}`);
process.exitCode = figures.some((f) => f.problems.length) ? 1 : 0;
