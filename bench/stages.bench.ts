/**
 * Rows/s from SQLite to durable lake objects for the row stages side by side — ingestion (the
 * reference), validated and enriched — on 1M simulated rows: one `simulate`, then `run --once
 * --type T` per stage with its own state database and temp lake folder, in the same process and
 * order-rotated over the runs so the machine's noise hits every stage alike. One-shot figures,
 * so a plain script rather than tinybench.
 *
 * Run: node --import tsx bench/stages.bench.ts [rows=1000000] [runs=1] [kernels=wasm]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRunOptions } from '../src/config.ts';
import { runPipeline } from '../src/pipeline/run.ts';
import { simulate } from '../src/simulate/index.ts';

const rows = Number(process.argv[2] ?? 1_000_000);
const runs = Number(process.argv[3] ?? 1);
const kernels = process.argv[4] ?? 'wasm';
const STAGES = ['ingestion', 'validated', 'enriched'] as const;
const quiet = { info: () => {}, warn: (m: string) => console.error(m), error: (m: string) => console.error(m) };

const dir = mkdtempSync(join(tmpdir(), 'edgelake-stagesbench-'));
try {
  const db = join(dir, 'sensor_data.db');
  const sim = await simulate({ db, rows, sensors: 100, startMs: Date.UTC(2025, 7, 15) });
  console.log(`simulated ${sim.rowsWritten} rows (100 sensors) in ${(sim.elapsedMs / 1000).toFixed(1)} s`);
  const figures = new Map<string, number[]>(STAGES.map((s) => [s, []]));
  for (let run = 0; run < runs; run++) {
    for (let k = 0; k < STAGES.length; k++) {
      const type = STAGES[(k + run) % STAGES.length];
      const lake = join(dir, `lake-${type}-${run}`);
      const cpu0 = process.cpuUsage();
      // A fresh state database per run: every run reads all rows from id 1 on its own live cursor.
      const stateDb = join(dir, `state-${type}-${run}.db`);
      const o = parseRunOptions({ db, stateDb, lake, once: true, type, kernels, progress: false, alerts: false });
      const s = await runPipeline(o, { log: quiet });
      const cpu = process.cpuUsage(cpu0);
      rmSync(lake, { recursive: true, force: true });
      figures.get(type)!.push(s.rowsPerSecond);
      console.log(
        `${type.padEnd(9)} run ${run + 1}: ${s.rows} rows, ${s.objects} objects, ${(s.bytes / 2 ** 20).toFixed(1)} MiB in ${(s.elapsedMs / 1000).toFixed(2)} s ` +
          `= ${Math.round(s.rowsPerSecond).toLocaleString('en')} rows/s (${Math.round(s.rows / ((cpu.user + cpu.system) / 1e6)).toLocaleString('en')} rows per CPU-second)`,
      );
    }
  }
  const median = (xs: number[]) => Math.round([...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]);
  for (const [type, xs] of figures) console.log(`${type}: median ${median(xs).toLocaleString('en')} rows/s over ${xs.length} run(s), kernels ${kernels}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
