/**
 * Hostile configuration: every flag of every command in src/cli/spec.ts (iterated, so a new flag
 * is covered the day it is added) given a wrong value — wrong type, negative, out of range, empty,
 * unknown enum, missing, a value for a boolean — must give exit 2 and a message naming the flag.
 * The cases run in-process through the CLI's own parser and command functions (one process per
 * case would take minutes); a handful run the real CLI, as do the configuration environment
 * variables (AWS_REGION, AWS_ENDPOINT_URL_S3, EDGELAKE_FUZZ_KEY_FILE, EDGELAKE_CRASH_AT; the
 * BACALHAU_* and NODE_* metadata variables are free text and never fail a run, by design).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseCommandLine } from '../src/cli/args.ts';
import { COMMANDS } from '../src/cli/spec.ts';
import { ConfigError, PipelineError, messageOf } from '../src/errors.ts';
import { redact } from '../src/redact.ts';
import { describeResult, REPO_ROOT, runCli } from './helpers/cli.ts';
import { createSensorDb, goodRow } from './helpers/sensor-db.ts';
import { tempDir } from './helpers/tmp.ts';

/** Exit code and stderr line of one in-process CLI call. */
interface Outcome {
  readonly code: number;
  readonly stderr: string;
}

const discard = () => new Writable({ write: (_c, _e, cb) => cb() });

/**
 * `edgelake <argv>` in this process: the CLI's parser, the same command functions src/cli/main.ts
 * dispatches to, and main.ts's error → exit-code mapping (ConfigError 2, anything else 1).
 */
async function cliInProcess(argv: readonly string[]): Promise<Outcome> {
  const signals = ['SIGINT', 'SIGTERM'] as const;
  const before = signals.map((s) => new Set(process.listeners(s)));
  try {
    const cmd = parseCommandLine(argv);
    const o = cmd.options;
    let code: number;
    if (cmd.command === 'run') code = await (await import('../src/cli/commands/run.ts')).runCommand(o);
    else if (cmd.command === 'pipeline') code = await (await import('../src/cli/commands/pipeline.ts')).pipelineCommand(cmd.subcommand!, o, discard() as never);
    else if (cmd.command === 'simulate') code = await (await import('../src/cli/commands/simulate.ts')).simulateCommand(o);
    else if (cmd.command === 'query') code = await (await import('../src/cli/commands/query.ts')).queryCommand(o, discard());
    else if (cmd.command === 'dashboard') code = await (await import('../src/cli/commands/dashboard.ts')).dashboardCommand(o, discard());
    else if (cmd.command === 'demo') code = await (await import('../src/cli/commands/demo.ts')).demoCommand(o, discard() as never);
    else if (cmd.command === 'reprocess') code = await (await import('../src/cli/commands/reprocess.ts')).reprocessCommand(o);
    else if (cmd.command === 'state') code = await (await import('../src/cli/commands/state.ts')).stateCommand(cmd.subcommand!, o, discard() as never);
    else throw new Error(`cliInProcess does not know command ${cmd.command}: add it (mirror src/cli/main.ts)`);
    return { code, stderr: '' };
  } catch (err) {
    const code = err instanceof ConfigError ? 2 : 1;
    const kind = err instanceof ConfigError || err instanceof PipelineError ? '' : 'unexpected failure: ';
    return { code, stderr: `edgelake: ${kind}${redact(messageOf(err))}` };
  } finally {
    // The commands install SIGINT/SIGTERM handlers for a process that runs once; here they would pile up.
    signals.forEach((s, i) => process.listeners(s).forEach((l) => before[i].has(l) || process.removeListener(s, l)));
  }
}

/**
 * Wrong values per command and flag, beyond the ones every string flag gets (empty, missing).
 * `pipeline` flags name the sub-command they belong to.
 */
const HOSTILE: Record<string, Record<string, readonly string[]>> = {
  run: {
    db: ['{dir}/missing.db', '{dir}', '{dir}/not-sqlite.txt'],
    'state-db': ['{dir}/no/such/folder/state.db', '{dir}'],
    lake: ['{dir}/not-sqlite.txt', '{dir}/not-sqlite.txt/under'],
    's3-endpoint': ['ftp://example.com', 'not a url', 's3://bucket', 'http//missing-colon'],
    region: ['US-WEST-2', 'us west 2', '../../etc', 'x'],
    'bucket-prefix': ['s3://expanso', 'UPPER', 'has_underscore', '-leading-dash', 'x'.repeat(60)],
    type: ['bronze', 'INGESTION!', 'ingestion,validated'],
    'from-id': ['abc', '1.5', '1e400', '0x', '-9007199254740992'],
    'batch-size': ['0', '-5', 'abc', '1.5', '1000001', 'Infinity'],
    'batch-timeout': ['-1s', 'abc', '5 parsecs', '1e3', 'Infinity'],
    'poll-interval': ['-200ms', 'abc', '2 weeks', 'NaN'],
    'gzip-level': ['10', '-1', 'abc', '1.5'],
    format: ['csv', 'PARQUET', 'parquet,jsonl', 'json', ''],
    'node-identity': ['{dir}/missing.json', '{dir}/not-sqlite.txt', '{dir}/bad-identity.json'],
    'node-id': ['x'.repeat(200)],
    'wait-lock': ['-1s', 'soon', '5 parsecs'],
    'fuzz-key-file': ['{dir}/missing-key', '{dir}'],
    'private-db': ['{dir}/no/such/folder/x.private'],
    'alert-webhook': ['ftp://example.com/hook', 'not-a-url', 'file:///etc/passwd', 'javascript:alert(1)'],
    'alert-min-priority': ['urgent', 'LOW!', 'none'],
    'alert-rate-limit': ['-1s', 'abc', '10 minutes'],
    'alert-queue-limit': ['0', '-1', 'abc', '10000001', '2.5'],
    kernels: ['gpu', 'wasm,ts', 'WASM!'],
    'read-threads': ['-1', '65', 'abc', '1.5'],
    'fuzz-radius-km': ['0', '-1', 'abc', '101', 'Infinity'],
    window: ['0', '-5m', 'abc', '5 fortnights'],
    lateness: ['-1m', 'abc', '1 eon'],
    'metrics-addr': ['abc', '70000', ':9464', 'http://127.0.0.1:9464', '127.0.0.1:', '127.0.0.1:99999', 'host_name:9464', '127.0.0.1:9464/metrics', '[::1:9464', '-1', '[127.0.0.1]:9464'],
    'stop-grace': ['-1s', 'abc', '5 parsecs', '11m', 'Infinity'],
  },
  pipeline: {
    db: ['{dir}/missing.db', '{dir}/not-sqlite.txt'],
    'state-db': ['{dir}/no/such/folder/state.db'],
    type: ['bronze', 'gold', 'ingestion;drop'],
    by: ['   ', 'x'.repeat(201)],
    limit: ['0', '-1', 'abc', '10001', '2.5'],
  },
  simulate: {
    db: ['{dir}/no/such/folder/sim.db'],
    sensors: ['0', '-3', 'abc', '2.5'],
    rate: ['0', '-10', 'abc'],
    duration: ['0', '-5s', 'abc', '5 parsecs'],
    rows: ['-1', 'abc', '1.5'],
    'anomaly-rate': ['-0.1', '1.5', 'abc'],
    seed: ['abc', '1.5'],
    span: ['0', '-1h', 'abc'],
    'invalid-rate': ['-0.1', '1.5', 'abc'],
    city: ['Atlantis'],
    'spread-km': ['0', '-1', 'abc'],
  },
  reprocess: {
    from: ['bronze', 'validated'],
    type: ['ingestion', 'bronze'],
    lake: ['{dir}/missing-lake', '{dir}/not-sqlite.txt'],
    's3-endpoint': ['ftp://example.com', 'not a url'],
    region: ['US-WEST-2', 'us west 2'],
    'bucket-prefix': ['s3://expanso', 'UPPER'],
    node: ['x'.repeat(200)],
    since: ['yesterday', '2025-13-01T00:00Z'],
    until: ['tomorrow', '2025-02-30T00:00Z'],
    'partition-index': ['-1', 'abc', '1.5'],
    'partition-count': ['-1', 'abc', '2.5'],
    run: ['has space', 'UPPER/slash'],
    format: ['csv', 'parquet2', 'Parquet', ''],
    'batch-size': ['0', '-5', 'abc'],
    'gzip-level': ['10', '-1', 'abc'],
    kernels: ['gpu'],
    'fuzz-radius-km': ['0', '-1', '101'],
    window: ['0', 'abc'],
    lateness: ['-1m', 'abc'],
  },
  state: {
    db: ['{dir}/missing.db', '{dir}/not-sqlite.txt'],
    'state-db': ['{dir}/no/such/folder/state.db'],
  },
  query: {
    lake: ['{dir}/missing-lake', '{dir}/not-sqlite.txt'],
    's3-endpoint': ['ftp://example.com', 'not a url'],
    region: ['US-WEST-2', 'us west 2', 'x'],
    'bucket-prefix': ['s3://expanso', 'UPPER', '-dash'],
    cache: ['{dir}/cache'],
    name: ['no_such_query', 'demo_1_volume_reduction; DROP'],
    sql: ['   '],
  },
  dashboard: {
    lake: ['{dir}/missing-lake'],
    's3-endpoint': ['ftp://example.com'],
    region: ['US-WEST-2'],
    'bucket-prefix': ['UPPER'],
    cache: ['{dir}/cache'],
    'cost-per-gb': ['-1', 'abc', '101', 'Infinity'],
    title: ['x'.repeat(201)],
    port: ['-1', '70000', 'abc'],
    refresh: ['0', '-1', 'abc'],
  },
  demo: {
    nodes: ['0', '17', 'abc', '2.5'],
    duration: ['1s', 'abc', '2h'],
    'invalid-rate': ['-0.1', '0.6', 'abc'],
    'anomaly-rate': ['-1', '2', 'abc'],
    seed: ['abc', '1.5'],
    'cloud-upload-interval': ['abc', '-1s'],
    'cloud-trigger-interval': ['abc', '-1s'],
  },
};

/** String flags that take any text: only the values every flag gets (empty, missing) apply. */
const FREE_TEXT: Record<string, string> = {
  'query --sql': 'any SQL is accepted; a query DuckDB rejects is a runtime failure (exit 1) by design',
  'dashboard --out': 'any writable path; only empty or missing is a usage error',
  'demo --dir': 'any folder path, created if missing',
  'state --cursor': 'any cursor name; one the state does not have is refused at run time (exit 2)',
};

/** The sub-command a `pipeline` flag belongs to, and the valid flags it needs besides. */
const PIPELINE_CONTEXT: Record<string, readonly string[]> = {
  type: ['set', '--by', 'alice'],
  by: ['set', '--type', 'validated'],
  limit: ['history'],
};

/** Valid arguments around the flag under test, so the flag's value is the only thing wrong. */
function baseArgs(command: string, flag: string, dir: string): string[] {
  const db = join(dir, 'sensors.db');
  const lake = join(dir, 'lake');
  const base: Record<string, string[]> = {
    run: ['--db', db, '--lake', lake, '--once', '--no-progress', '--no-alerts'],
    pipeline: [...(PIPELINE_CONTEXT[flag] ?? ['get']), '--db', db],
    state: [flag === 'cursor' ? 'reset' : 'show', '--db', db],
    simulate: ['--db', join(dir, 'sim.db'), '--rows', '3', '--sensors', '2', '--seed', '1'],
    query: ['--lake', lake],
    dashboard: ['--lake', lake, '--out', join(dir, 'report.html')],
    reprocess: ['--type', 'validated', '--lake', lake],
    // Small enough that a wrongly accepted value costs seconds, not minutes.
    demo: ['--dir', join(dir, 'demo'), '--nodes', '1', '--duration', '10s'],
  };
  const args = base[command];
  // Drop the flag under test (and its value) from the base: it is given once, with the bad value.
  const i = args.indexOf(`--${flag}`);
  if (i >= 0) args.splice(i, COMMANDS[command].flags[flag].type === 'boolean' ? 1 : 2);
  // --rate and --duration belong to live mode: a short live run instead of a backfill.
  if (command === 'simulate' && (flag === 'duration' || flag === 'rate')) args.splice(args.indexOf('--rows'), 2, ...(flag === 'rate' ? ['--duration', '200ms'] : ['--rate', '50']));
  return args;
}

/** One hostile case: the command line, and a label for reports. */
interface Case {
  readonly label: string;
  readonly argv: string[];
  readonly flag: string;
}

/** Every hostile case of the spec: per flag, the generic wrong forms and the table's values. */
function cases(dir: string): Case[] {
  const out: Case[] = [];
  for (const [command, spec] of Object.entries(COMMANDS)) {
    for (const [flag, fs] of Object.entries(spec.flags)) {
      const base = () => [command, ...baseArgs(command, flag, dir)];
      const add = (label: string, extra: string[]) => out.push({ label: `${command} ${label}`, argv: [...base(), ...extra], flag });
      if (fs.type === 'boolean') {
        for (const v of ['yes', '2', 'on']) add(`--${flag}=${v}`, [`--${flag}=${v}`]);
        if (fs.negatable) add(`--no-${flag}=maybe`, [`--no-${flag}=maybe`]);
        else add(`--no-${flag}`, [`--no-${flag}`]);
        continue;
      }
      add(`--${flag} (no value)`, [`--${flag}`]);
      add(`--${flag} followed by another flag`, [`--${flag}`, '--json']);
      add(`--${flag}=""`, [`--${flag}=`]);
      if (!fs.multiple) add(`--${flag} twice`, [`--${flag}=a`, `--${flag}=b`]);
      if (!fs.multiple) add(`--no-${flag}`, [`--no-${flag}`]);
      for (const v of HOSTILE[command]?.[flag] ?? []) add(`--${flag}=${JSON.stringify(v).slice(0, 40)}`, [`--${flag}=${v.replaceAll('{dir}', dir)}`]);
    }
  }
  return out;
}

/** The fixtures the cases point at: a one-row sensor database, a lake folder, a text file, a bad identity. */
function fixtures(dir: string): void {
  createSensorDb(join(dir, 'sensors.db'), [goodRow(1)]);
  mkdirSync(join(dir, 'lake'));
  writeFileSync(join(dir, 'not-sqlite.txt'), 'plain text, not a database\n'.repeat(40));
  writeFileSync(join(dir, 'bad-identity.json'), JSON.stringify({ node_id: 42, capabilities: 'gpu' }));
}

describe('every flag of every command rejects a wrong value with exit 2 and names the flag', () => {
  test('each string flag has hostile values listed, or is listed as free text with a reason', () => {
    const missing: string[] = [];
    for (const [command, spec] of Object.entries(COMMANDS)) {
      for (const [flag, fs] of Object.entries(spec.flags)) {
        if (fs.type === 'boolean') continue;
        const listed = (HOSTILE[command]?.[flag]?.length ?? 0) > 0 || FREE_TEXT[`${command} --${flag}`] !== undefined;
        if (!listed) missing.push(`${command} --${flag}`);
      }
    }
    assert.deepEqual(missing, [], 'add wrong values for these flags to HOSTILE (or a reason to FREE_TEXT)');
  });

  test('in-process: every hostile case exits 2 with a message naming its flag', async (t) => {
    const dir = tempDir(t);
    fixtures(dir);
    const all = cases(dir);
    const failures: string[] = [];
    for (const c of all) {
      const r = await cliInProcess(c.argv);
      const named = r.stderr.includes(`--${c.flag}`);
      if (r.code !== 2 || !named || /unexpected failure/.test(r.stderr)) failures.push(`${c.label}: exit ${r.code}, ${r.stderr.slice(0, 200) || '(no message)'}`);
    }
    assert.ok(all.length > 250, `only ${all.length} cases`);
    assert.deepEqual(failures, [], `${failures.length} of ${all.length} hostile cases were not refused properly`);
  });

  test('in-process: a flag irrelevant to the pipeline sub-command is refused, not silently ignored', async (t) => {
    const dir = tempDir(t);
    fixtures(dir);
    const db = join(dir, 'sensors.db');
    for (const argv of [
      ['pipeline', 'get', '--db', db, '--type', 'bronze'],
      ['pipeline', 'history', '--db', db, '--by', 'alice'],
      ['pipeline', 'get', '--db', db, '--limit', '5'],
    ]) {
      const r = await cliInProcess(argv);
      const flag = argv[4];
      assert.equal(r.code, 2, `${argv.join(' ')}: ${r.stderr}`);
      assert.ok(r.stderr.includes(flag), `${argv.join(' ')}: ${r.stderr}`);
    }
  });

  test('in-process dispatch covers exactly the commands src/cli/main.ts dispatches', () => {
    const main = readFileSync(join(REPO_ROOT, 'src/cli/main.ts'), 'utf8');
    const dispatched = [...main.matchAll(/case '([a-z]+)':/g)].map((m) => m[1]).filter((c) => c !== 'help' && c !== 'version');
    assert.deepEqual(dispatched.sort(), Object.keys(COMMANDS).sort());
  });
});

describe('the real CLI maps hostile configuration to exit 2 with a message naming it', () => {
  test('one wrong flag per command, as a child process', async (t) => {
    const dir = tempDir(t);
    fixtures(dir);
    const samples: Array<[string[], string]> = [
      [['run', ...baseArgs('run', 'batch-size', dir), '--batch-size', '-5'], '--batch-size'],
      [['run', ...baseArgs('run', 'once', dir), '--once=yes'], '--once'],
      [['pipeline', ...baseArgs('pipeline', 'limit', dir), '--limit', 'abc'], '--limit'],
      [['simulate', ...baseArgs('simulate', 'sensors', dir), '--sensors', '0'], '--sensors'],
      [['query', ...baseArgs('query', 'region', dir), '--region', 'US WEST'], '--region'],
      [['dashboard', ...baseArgs('dashboard', 'cost-per-gb', dir), '--cost-per-gb', '-1'], '--cost-per-gb'],
      [['demo', ...baseArgs('demo', 'rows', dir), '--rows'], '--rows'],
    ];
    await Promise.all(
      samples.map(async ([argv, flag]) => {
        const r = await runCli(argv);
        assert.equal(r.code, 2, `${argv.join(' ')}: ${describeResult(r)}`);
        assert.ok(r.stderr.includes(flag), `${argv.join(' ')}: ${r.stderr}`);
        assert.doesNotMatch(r.stderr, /unexpected failure|\n\s+at /);
      }),
    );
  });

  test('a bad configuration environment variable is refused with exit 2, naming the variable', async (t) => {
    const dir = tempDir(t);
    fixtures(dir);
    const db = join(dir, 'sensors.db');
    const run = ['run', '--db', db, '--once', '--no-progress', '--no-alerts'];
    const envCases: Array<[Record<string, string>, string[], string]> = [
      [{ AWS_REGION: 'Not A Region' }, [...run, '--lake', join(dir, 'lake')], 'AWS_REGION'],
      [{ EDGELAKE_FUZZ_KEY_FILE: join(dir, 'missing-key') }, [...run, '--lake', join(dir, 'lake'), '--type', 'enriched'], 'EDGELAKE_FUZZ_KEY_FILE'],
      [{ EDGELAKE_CRASH_AT: 'everywhere:0' }, [...run, '--lake', join(dir, 'lake')], 'EDGELAKE_CRASH_AT'],
      [{ AWS_ENDPOINT_URL_S3: 'not a url', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' }, run, 'AWS_ENDPOINT_URL_S3'],
    ];
    await Promise.all(
      envCases.map(async ([env, argv, name]) => {
        const r = await runCli(argv, { env: { EDGELAKE_FUZZ_KEY: undefined, ...env } });
        assert.equal(r.code, 2, `${name}: ${describeResult(r)}`);
        assert.ok(r.stderr.includes(name), `${name}: ${r.stderr}`);
        assert.doesNotMatch(r.stderr, /unexpected failure|\n\s+at /, name);
      }),
    );
  });
});
