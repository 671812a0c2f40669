/**
 * Issue 11, test 3: the modes of everything edgelake creates. The CLI runs under umask 000, so a
 * mode comes from edgelake itself and never from a careful environment: the separate state
 * database (`--state-db`) and its -wal/-shm, the private file (secrets and alert outbox) and its
 * -wal/-shm, the lock file — all 0600, checked while a follower runs (when the -wal/-shm exist)
 * and after it stopped; lake folders 0700 and objects 0600; the dashboard report; the demo folder.
 * The sensor database itself belongs to the sensors (every sensor process and reader opens it;
 * here `simulate` stands in for them): its mode is reported, not asserted.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { assertBuilt, runBuilt, spawnBuilt } from './helpers/built-cli.ts';
import { describeResult } from './helpers/cli.ts';
import { startRecorder } from './helpers/receivers.ts';
import { walkFiles } from './helpers/scan.ts';
import { checkpointId, maxId } from './helpers/sensor-db.ts';
import { tempDir } from './helpers/tmp.ts';
import { until } from './helpers/until.ts';

let umask = 0;
before(() => {
  assertBuilt();
  // Inherited by every child: nothing edgelake creates may rely on the environment's umask.
  umask = process.umask(0);
});
after(() => process.umask(umask));

/** `0600`-style mode of `path`. */
function modeOf(path: string): string {
  return '0' + (statSync(path).mode & 0o777).toString(8);
}

/** Every folder below `root`, itself included. */
function foldersUnder(root: string): string[] {
  return [root, ...readdirSync(root, { recursive: true, withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(e.parentPath, e.name))];
}

/** Asserts each path has `mode`; returns `name mode` lines for the report. */
function expectModes(paths: readonly string[], mode: string, rel: (p: string) => string): string[] {
  for (const p of paths) assert.equal(modeOf(p), mode, `${rel(p)} is ${modeOf(p)}, expected ${mode}`);
  return paths.map((p) => `${rel(p)} ${modeOf(p)}`);
}

test('a follower with a separate --state-db: state database, private file, their -wal/-shm and the lock are 0600 while it runs and after; lake folders 0700, objects 0600', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t, 'edgelake-modes-');
  const db = join(dir, 'sensors.db');
  const stateDir = join(dir, 'state');
  mkdirSync(stateDir, { mode: 0o700 });
  const state = join(stateDir, 'state.db');
  const lake = join(dir, 'lake');
  const sim = await runBuilt(['simulate', '--db', db, '--rows', '500', '--sensors', '4', '--anomaly-rate', '0.2']);
  assert.equal(sim.code, 0, describeResult(sim));
  const rx = await startRecorder();
  t.after(() => rx.close());
  const run = spawnBuilt(['run', '--db', db, '--state-db', state, '--lake', lake, '--node-id', 'modes', '--type', 'enriched', '--batch-timeout', '200ms', '--alert-webhook', `${rx.origin}/hook`, '--no-progress'], { timeoutMs: 50_000 });
  t.after(() => run.child.kill('SIGKILL'));
  const rel = (p: string) => p.slice(dir.length + 1);
  const secretFiles = [state, `${state}-wal`, `${state}-shm`, `${state}.private`, `${state}.private-wal`, `${state}.private-shm`, `${state}.lock`];
  await until('every row landed and its alerts delivered', () => existsSync(state) && checkpointId(state) === maxId(db) && rx.firstSeen.size > 0, 30_000);
  const missing = secretFiles.filter((f) => !existsSync(f));
  assert.deepEqual(missing.map(rel), [], 'a running follower has each of these files');
  const running = expectModes(secretFiles, '0600', rel);
  run.child.kill('SIGTERM');
  const r = await run.exited;
  assert.equal(r.code, 0, describeResult(r));
  const stopped = expectModes(secretFiles.filter((f) => existsSync(f)), '0600', rel);
  const folders = expectModes(foldersUnder(lake), '0700', rel);
  const objects = expectModes(walkFiles(lake), '0600', rel);
  assert.ok(objects.length >= 4, `${objects.length} lake objects`);
  assert.equal(modeOf(stateDir), '0700', 'the folder the test made is untouched');
  t.diagnostic(`while running: ${running.join(', ')}`);
  t.diagnostic(`after SIGTERM: ${stopped.join(', ')}`);
  t.diagnostic(`lake: ${folders.length} folders 0700 (${rel(lake)} ${modeOf(lake)}), ${objects.length} objects 0600; the sensors' own database ${rel(db)} ${modeOf(db)} (made by simulate under umask 000, not asserted)`);
});

test('a private file named with --private-db and the lock beside a state kept in the sensor database are 0600', { timeout: 30_000 }, async (t) => {
  const dir = tempDir(t, 'edgelake-modes-');
  const db = join(dir, 'sensors.db');
  const privateDb = join(dir, 'secrets.private');
  assert.equal((await runBuilt(['simulate', '--db', db, '--rows', '300', '--anomaly-rate', '0.2'])).code, 0);
  const r = await runBuilt(['run', '--db', db, '--once', '--lake', join(dir, 'lake'), '--type', 'enriched', '--private-db', privateDb, '--no-progress']);
  assert.equal(r.code, 0, describeResult(r));
  assert.ok(!existsSync(`${db}.private`), 'no default private file beside the state when --private-db names another');
  const files = [privateDb, `${db}.lock`, ...[`${privateDb}-wal`, `${privateDb}-shm`].filter((f) => existsSync(f))];
  const modes = expectModes(files, '0600', basename);
  t.diagnostic(`${modes.join(', ')}; the sensor database ${basename(db)} ${modeOf(db)} (the sensors', not asserted)`);
});

test(
  'the dashboard report is readable by its owner only, like the lake it is made from',
  { timeout: 60_000 },
  async (t) => {
    const dir = tempDir(t, 'edgelake-modes-');
    const db = join(dir, 'sensors.db');
    const lake = join(dir, 'lake');
    assert.equal((await runBuilt(['simulate', '--db', db, '--rows', '300'])).code, 0);
    assert.equal((await runBuilt(['run', '--db', db, '--once', '--lake', lake, '--no-progress'])).code, 0);
    const out = join(dir, 'report.html');
    const r = await runBuilt(['dashboard', '--lake', lake, '--out', out], { timeoutMs: 50_000 });
    assert.equal(r.code, 0, describeResult(r));
    t.diagnostic(`report.html ${modeOf(out)}`);
    assert.equal(modeOf(out), '0600');
  },
);

test("the demo folder: every folder 0700 and every file 0600 but the sensors' own databases", { timeout: 80_000 }, async (t) => {
  const dir = join(tempDir(t, 'edgelake-modes-'), 'demo');
  const r = await runBuilt(['demo', '--nodes', '1', '--duration', '10s', '--dir', dir, '--cloud-upload-interval', '2s', '--cloud-trigger-interval', '2s'], { timeoutMs: 75_000 });
  assert.equal(r.code, 0, describeResult(r));
  const rel = (p: string) => p.slice(dir.length + 1) || 'demo';
  const folders = expectModes(foldersUnder(dir), '0700', rel);
  const files = walkFiles(dir);
  // The simulated sensors' database (and its -wal/-shm) is the sensors', opened by every reader; report.html: the dashboard test above.
  const sensors = files.filter((f) => /\/sensor_data\.db(-wal|-shm)?$/.test(f));
  const report = files.filter((f) => rel(f) === 'report.html');
  const own = expectModes(files.filter((f) => !sensors.includes(f) && !report.includes(f)), '0600', rel);
  assert.ok(own.some((l) => l.includes('.private ')) && own.some((l) => l.includes('.lock ')), 'the demo made private and lock files');
  t.diagnostic(`demo: ${folders.length} folders 0700; ${own.length} files 0600 (${[...new Set(own.map((l) => l.split(' ')[0].replace(/.*\//, '')).filter((n) => !n.endsWith('.jsonl.gz')))].join(', ')}, and the lake objects)`);
  t.diagnostic(`not asserted: ${[...sensors, ...report].map((f) => `${rel(f)} ${modeOf(f)}`).join(', ')}`);
});
