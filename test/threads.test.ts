import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { workerExecArgv } from '../src/pool/exec-argv.ts';
import { assertBuilt, BUILT_CLI } from './helpers/built-cli.ts';
import { REPO_ROOT } from './helpers/cli.ts';
import { readLake } from './helpers/lake.ts';
import { createSensorDb, goodRow } from './helpers/sensor-db.ts';
import { tempDir } from './helpers/tmp.ts';

test('worker threads get only the module-loading options of the parent, plus tsx for TypeScript workers', () => {
  const parent = ['--max-old-space-size=512', '--import', 'tsx', '--test', '--require=./x.cjs', '--max-semi-space-size', '4', '--enable-source-maps'];
  assert.deepEqual(workerExecArgv('/a/worker.js', parent), ['--import', 'tsx', '--require=./x.cjs']);
  assert.deepEqual(workerExecArgv('/a/worker.ts', ['--max-old-space-size=512']), ['--import', 'tsx']);
  assert.deepEqual(workerExecArgv('/a/worker.js', ['--max-old-space-size=512']), []);
});

test('run --once works under node with V8 memory flags, which worker threads would reject (reader threads and the alert thread both start)', (t) => {
  assertBuilt();
  const dir = tempDir(t);
  const db = join(dir, 's.db');
  createSensorDb(db, Array.from({ length: 20_000 }, (_v, i) => ({ ...goodRow(i + 1), anomaly_flag: i % 500 === 0 ? 1 : 0, timestamp: new Date(Date.UTC(2025, 7, 15) + i * 100).toISOString() })));
  const r = spawnSync(
    process.execPath,
    ['--max-old-space-size=512', '--max-semi-space-size=4', BUILT_CLI, 'run', '--once', '--db', db, '--lake', join(dir, 'lake'), '--type', 'aggregated', '--batch-size', '10000', '--read-threads', '2', '--no-progress', '--node-id', 'n1'],
    { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /error|failed/i);
  const windows = readLake(join(dir, 'lake'), 'expanso-databricks-aggregated-us-west-2').flatMap((o) => o.records);
  assert.equal(windows.reduce((n, w) => n + (w.record_count as number), 0), 20_000, 'every row is in a window');
  assert.ok(readLake(join(dir, 'lake'), 'expanso-databricks-emergency-us-west-2').length > 0, 'the alert thread wrote alerts');
});
