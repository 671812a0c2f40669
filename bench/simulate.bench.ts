/**
 * Backfill throughput of `edgelake simulate`: 1M rows (10 sensors, default anomaly rate)
 * into a fresh temp database, a few runs, median rows/s. One-shot figures, so a plain
 * script rather than tinybench. Run: node --import tsx bench/simulate.bench.ts [rows] [runs]
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simulate } from '../src/simulate/index.ts';

const rows = Number(process.argv[2] ?? 1_000_000);
const runs = Number(process.argv[3] ?? 3);
const figures: number[] = [];
// CPU time too: on a shared machine wall-clock rows/s mostly measures the neighbours.
const cpuFigures: number[] = [];
for (let run = 0; run < runs; run++) {
  const dir = mkdtempSync(join(tmpdir(), 'edgelake-simbench-'));
  try {
    const db = join(dir, 'sensor_data.db');
    const cpu0 = process.cpuUsage();
    const s = await simulate({ db, rows, sensors: 10, startMs: Date.UTC(2025, 7, 15) });
    const cpu = process.cpuUsage(cpu0);
    const cpuRate = rows / ((cpu.user + cpu.system) / 1e6);
    const mib = statSync(db).size / 2 ** 20;
    figures.push(s.rowsPerSecond);
    cpuFigures.push(cpuRate);
    console.log(
      `run ${run + 1}: ${s.rowsWritten} rows in ${s.elapsedMs.toFixed(0)} ms = ${Math.round(s.rowsPerSecond)} rows/s ` +
        `(${Math.round(cpuRate)} rows per CPU-second; ${s.anomalies} anomalies, db ${mib.toFixed(0)} MiB)`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const median = (xs: number[]) => Math.round(xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]);
console.log(`simulate backfill median: ${median(figures)} rows/s wall, ${median(cpuFigures)} rows per CPU-second`);
