/**
 * End-to-end aggregated stage: SQLite → score + windows (WASM) → gzip objects in a lake folder,
 * on 1M simulated rows (100 sensors, 1 reading/s each). One-shot figures, so a plain script.
 * Run: node --import tsx bench/aggregated.bench.ts [rows] [kernels wasm|ts]
 * Prints rows/s with alerts off (the stage alone) and on (stage 5 scoring beside it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRunOptions } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { runPipeline } from '../src/pipeline/run.ts';
import { simulate } from '../src/simulate/index.ts';

const rows = Number(process.argv[2] ?? 1_000_000);
const kernels = process.argv[3] ?? 'wasm';
const dir = mkdtempSync(join(tmpdir(), 'edgelake-aggbench-'));
try {
  const db = join(dir, 's.db');
  await simulate({ db, rows, sensors: 100, startMs: Date.UTC(2025, 7, 15) });
  for (const alerts of [false, true]) {
    const cpu0 = process.cpuUsage();
    const s = await runPipeline(
      parseRunOptions({ db, stateDb: join(dir, `state-${alerts}.db`), lake: join(dir, `lake-${alerts}`), once: true, type: 'aggregated', alerts, kernels, progress: false, nodeId: 'bench' }),
      { log: createLogger({ quiet: true }) },
    );
    const cpu = process.cpuUsage(cpu0);
    console.log(
      `aggregated ${rows} rows, alerts ${alerts ? 'on ' : 'off'}: ${Math.round(s.rowsPerSecond).toLocaleString('en-US')} rows/s ` +
        `(${(s.elapsedMs / 1000).toFixed(2)} s, ${s.objects} objects, ${(s.bytes / 1024).toFixed(0)} KiB, CPU ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s)`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
