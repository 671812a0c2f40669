import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { parseCommandLine } from '../src/cli/args.ts';
import { parseReprocessOptions } from '../src/reprocess/options.ts';
import { parsePipelineType } from '../src/state/pipeline-types.ts';
import { NODE_FLAGS } from '../src/cli/node-flags.ts';
import { JobSchema, OPERATORS, constraintMatches, effectiveCount, envNameProblem, nodeRefusals, pathMatch, type Job } from './helpers/bacalhau-model.ts';
import { parseYaml, type YamlValue } from './helpers/yaml.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const jobsDir = join(root, 'jobs');

const SPECS = readdirSync(jobsDir).filter((f) => f.endsWith('.yaml'));
const load = (file: string): Job => JobSchema.parse(parseYaml(readFileSync(join(jobsDir, file), 'utf8')));
const problems = (doc: unknown): string => {
  const r = JobSchema.safeParse(doc);
  return r.success ? '' : z.prettifyError(r.error);
};
const params = (job: Job) => job.Tasks[0].Engine.Params.Parameters ?? [];

/** A small valid job to break one rule at a time. */
function job(overrides: Record<string, unknown> = {}, task: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    Name: 'j',
    Type: 'batch',
    Count: 1,
    Tasks: [{ Name: 't', Engine: { Type: 'docker', Params: { Image: 'img:1' } }, ...task }],
    ...overrides,
  };
}

test('the four job specs are present', () => {
  assert.deepEqual(SPECS.sort(), ['edgelake-daemon.yaml', 'edgelake-once.yaml', 'edgelake-pipeline-set.yaml', 'edgelake-reprocess.yaml']);
});

for (const file of SPECS) {
  test(`${file} passes Bacalhau's submission rules, uses no deprecated form, and its command line is edgelake's`, () => {
    const spec = load(file);
    const task = spec.Tasks[0];
    assert.deepEqual(task.Engine.Params.Entrypoint, ['node', ...NODE_FLAGS, '/app/build/cli/main.js'], 'the image entry point of the Dockerfile, with edgelake\'s Node options');
    for (const s of task.InputSources ?? []) assert.equal(s.Source.Type, 'local', 'localDirectory is deprecated');
    assert.ok(task.Network, 'networking is stated, not left to the node');
    assert.notEqual(task.Network!.Type, 'Full', 'Full is deprecated (host networking)');
    assert.notEqual(task.Network!.Type, 'Host', 'host networking is not needed to reach S3');
    const parsed = parseCommandLine(params(spec));
    const mounts = (task.InputSources ?? []).map((s) => s.Target);
    if (parsed.options.db) {
      const db = parsed.options.db as string;
      const dbMount = task.InputSources!.find((s) => db.startsWith(s.Target + '/'));
      assert.ok(dbMount, `--db ${db} lies in a mounted folder (${mounts.join(', ')})`);
      assert.equal(dbMount.Source.Params.ReadWrite, true, 'SQLite in WAL mode and the state need a writable folder');
    }
    const identity = parsed.options.nodeIdentity as string | undefined;
    if (identity) assert.ok(mounts.some((m) => identity.startsWith(m + '/')), `--node-identity ${identity} lies in a mounted folder`);
    // Every env: variable of the run jobs is one a node can allow-list; NODE_ID is passed wherever records are written.
    if (parsed.command === 'run') assert.equal(task.Env?.NODE_ID, 'env:NODE_ID', 'Bacalhau sets no node id: the host\'s NODE_ID is passed');
  });
}

test('the daemon follows the database on every edge node over bridge networking, with no timeout and batches that fit the 1 s stop grace', () => {
  const spec = load('edgelake-daemon.yaml');
  assert.equal(spec.Type, 'daemon');
  assert.equal(effectiveCount(spec), 0);
  const task = spec.Tasks[0];
  const parsed = parseCommandLine(params(spec));
  assert.equal(parsed.command, 'run');
  assert.equal(parsed.options.once, undefined);
  assert.ok(parsed.options.s3Endpoint);
  assert.ok(Number(parsed.options.batchSize) <= 10_000, 'a batch finishes within the docker executor\'s 1 s grace');
  assert.equal(task.Network?.Type, 'Bridge');
  assert.equal(task.Timeouts?.ExecutionTimeout, 0);
  assert.deepEqual(spec.Constraints, [{ Key: 'role', Operator: '=', Values: ['edge'] }]);
});

test('the once job drains every edge node and waits for the lock of a run already there, within its timeout', () => {
  const spec = load('edgelake-once.yaml');
  assert.equal(spec.Type, 'ops');
  const parsed = parseCommandLine(params(spec));
  assert.equal(parsed.command, 'run');
  assert.equal(parsed.options.once, true);
  const wait = /^(\d+)m$/.exec(String(parsed.options.waitLock));
  assert.ok(wait, `--wait-lock ${parsed.options.waitLock}`);
  assert.ok(Number(wait[1]) * 60 < spec.Tasks[0].Timeouts!.ExecutionTimeout!, 'the wait fits in the execution timeout');
});

test('the pipeline-set job switches every edge node to a valid pipeline type, without network', () => {
  const spec = load('edgelake-pipeline-set.yaml');
  assert.equal(spec.Type, 'ops');
  const parsed = parseCommandLine(params(spec));
  assert.equal(parsed.command, 'pipeline');
  assert.equal(parsed.subcommand, 'set');
  assert.equal(parsePipelineType(parsed.options.type), 'validated');
  assert.equal(parsed.options.by, 'operator');
  assert.equal(spec.Tasks[0].Network?.Type, 'None');
});

test('the reprocess job is a batch job of 4 partitions reading S3, its partition taken from Bacalhau\'s variables', () => {
  const spec = load('edgelake-reprocess.yaml');
  assert.equal(spec.Type, 'batch');
  assert.equal(effectiveCount(spec), 4);
  const parsed = parseCommandLine(params(spec));
  assert.equal(parsed.command, 'reprocess');
  assert.equal(parsed.options.partitionIndex, undefined, 'never fixed in the spec: each execution gets its own');
  assert.ok(parsed.options.s3Endpoint);
  for (let i = 0; i < 4; i++) {
    const o = parseReprocessOptions(parsed.options, { BACALHAU_PARTITION_INDEX: String(i), BACALHAU_PARTITION_COUNT: String(effectiveCount(spec)) });
    assert.deepEqual([o.partitionIndex, o.partitionCount, o.type, o.from], [i, 4, 'validated', 'ingestion']);
  }
  assert.equal(spec.Tasks[0].Env?.NODE_ID, undefined, 'reprocessing takes node ids from the objects');
});

test('Count follows the job type: batch defaults to 1, daemon and ops are forced to 0 and refuse more than 1', () => {
  assert.equal(effectiveCount(JobSchema.parse(job({ Count: undefined }))), 1);
  assert.equal(effectiveCount(JobSchema.parse(job({ Type: 'ops', Count: 1 }))), 0);
  assert.match(problems(job({ Type: 'daemon', Count: 2 })), /daemon and ops jobs cannot specify count > 1/);
  assert.match(problems(job({ Type: 'ops', Count: 3 })), /cannot specify count > 1/);
  assert.match(problems(job({ Count: -1 })), /job count must be >= 0/);
  assert.match(problems(job({ Type: 'cron' })), /Type/);
});

const refused: Array<[string, Record<string, unknown>, RegExp]> = [
  ['the non-operator !exists', job({ Constraints: [{ Key: 'role', Operator: '!exists' }] }), /Operator/],
  ['a value for exists', job({ Constraints: [{ Key: 'role', Operator: 'exists', Values: ['x'] }] }), /values set must be empty/],
  ['in without values', job({ Constraints: [{ Key: 'role', Operator: 'in', Values: [] }] }), /values set can't be empty/],
  ['= with two values', job({ Constraints: [{ Key: 'role', Operator: '=', Values: ['a', 'b'] }] }), /exactly one value/],
  ['gt with a non-integer', job({ Constraints: [{ Key: 'cores', Operator: 'gt', Values: ['2.5'] }] }), /must be an integer/],
  ['a bad label key', job({ Constraints: [{ Key: '-role', Operator: 'exists' }] }), /invalid label key/],
  ['a lowercase env name', job({}, { Env: { node_id: 'env:NODE_ID' } }), /must be uppercase/],
  ['an env name starting with _', job({}, { Env: { _NODE: 'x' } }), /must start with a letter/],
  ['an env name with a dash', job({}, { Env: { 'NODE-ID': 'x' } }), /letters, numbers, and underscores/],
  ['BACALHAU_NODE_ID in Env', job({}, { Env: { BACALHAU_NODE_ID: 'x' } }), /cannot start with BACALHAU_/],
  ['an empty env value', job({}, { Env: { NODE_ID: '' } }), /cannot be empty/],
  ['BACALHAU_ in docker EnvironmentVariables', job({}, { Engine: { Type: 'docker', Params: { Image: 'i', EnvironmentVariables: ['BACALHAU_X=1'] } } }), /cannot start with BACALHAU_/],
  ['an unknown network type', job({}, { Network: { Type: 'Wifi' } }), /network type must be one of Default, None, Host, Full, HTTP, Bridge/],
  ['domains without HTTP', job({}, { Network: { Type: 'Bridge', Domains: ['example.com'] } }), /domains can only be set for HTTP/],
  ['a number for CPU', job({}, { Resources: { CPU: 1 } }), /CPU/],
  ['a memory that is no size', job({}, { Resources: { Memory: 'lots' } }), /memory like/],
  ['a number among Parameters', job({}, { Engine: { Type: 'docker', Params: { Image: 'i', Parameters: ['--batch-size', 10000] } } }), /Parameters/],
  ['an s3 input source', job({}, { InputSources: [{ Source: { Type: 's3', Params: { SourcePath: '/x' } }, Target: '/x' }] }), /Type/],
  ['a relative SourcePath', job({}, { InputSources: [{ Source: { Type: 'local', Params: { SourcePath: 'data' } }, Target: '/data' }] }), /absolute path/],
  ['two inputs on one target', job({}, { InputSources: [1, 2].map(() => ({ Source: { Type: 'local', Params: { SourcePath: '/d' } }, Target: '/data' })) }), /targets must be unique/],
  ['a misspelled key', job({}, { Enviroment: {} }), /Enviroment/],
  ['the legacy apiVersion/spec layout', { apiVersion: 'V1beta1', spec: { engine: 'docker' } }, /apiVersion/],
];
for (const [what, doc, message] of refused) {
  test(`the job model refuses ${what}, as Bacalhau does`, () => {
    assert.match(problems(doc), message);
  });
}

test('the job model accepts every operator Bacalhau has, any case of a network type, local sources and resources as strings', () => {
  const values: Record<string, string[] | undefined> = { exists: undefined, '!': undefined, in: ['a', 'b'], notin: ['a'], gt: ['2'], lt: ['8'] };
  for (const op of OPERATORS) assert.equal(problems(job({ Constraints: [{ Key: 'k', Operator: op, Values: op in values ? values[op] : ['v'] }] })), '', op);
  for (const type of ['Bridge', 'bridge', 'Default', 'None', 'HTTP', 'Host']) assert.equal(problems(job({}, { Network: { Type: type } })), '', type);
  assert.equal(problems(job({}, { Resources: { CPU: '500m', Memory: '512MiB', Disk: '10gb', GPU: '1' } })), '');
  assert.equal(problems(job({}, { InputSources: [{ Source: { Type: 'local', Params: { SourcePath: '/d', ReadWrite: true, CreateAs: 'dir' } }, Target: '/data' }] })), '');
});

test('constraints match node labels as Kubernetes selectors do', () => {
  const labels = { role: 'edge', cores: '4' };
  const cases: Array<[string, string[] | undefined, string, boolean]> = [
    ['=', ['edge'], 'role', true],
    ['==', ['edge'], 'role', true],
    ['!=', ['edge'], 'role', false],
    ['!=', ['edge'], 'zone', true],
    ['in', ['batch', 'edge'], 'role', true],
    ['notin', ['batch'], 'role', true],
    ['notin', ['batch'], 'zone', true],
    ['exists', undefined, 'role', true],
    ['exists', undefined, 'zone', false],
    ['!', undefined, 'zone', true],
    ['gt', ['2'], 'cores', true],
    ['lt', ['2'], 'cores', false],
    ['gt', ['2'], 'zone', false],
  ];
  for (const [op, vals, key, want] of cases) assert.equal(constraintMatches({ Key: key, Operator: op, Values: vals }, labels), want, `${key} ${op} ${vals}`);
});

test('a node refuses a job whose env: variable its allow list (unanchored regular expressions) does not match, and fails it when the host lacks it', () => {
  const spec = load('edgelake-daemon.yaml');
  const node = (allow: string[], hostEnv: Record<string, string>, extra: Record<string, YamlValue> = {}) => ({
    config: { Labels: { role: 'edge' }, Compute: { AllowListedLocalPaths: ['/var/lib/sensor:rw', '/etc/edgelake:ro'], Env: { AllowList: allow } }, ...extra },
    hostEnv,
  });
  const all = { NODE_ID: 'n1', AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 's' };
  assert.deepEqual(nodeRefusals(node(['^NODE_ID$', '^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY)$'], all), spec), []);
  // A glob reading of `AWS_*` would allow NODE_ID? No: as a regexp it means "contains AWS" — NODE_ID is not allowed.
  assert.match(nodeRefusals(node(['AWS_*'], all), spec).join(), /'NODE_ID' is not in allowed patterns/);
  // Unanchored: "NODE" allows NODE_ID (and anything containing NODE).
  assert.deepEqual(nodeRefusals(node(['NODE', 'AWS'], all), spec), []);
  assert.match(nodeRefusals(node(['^NODE_ID$', 'AWS'], { AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 's' }), spec).join(), /required environment variable 'NODE_ID' not found/);
  // Labels under Compute are not labels; a read-only allow-listed path refuses a read-write mount.
  const wrongLabel = { config: { Compute: { Labels: { role: 'edge' }, AllowListedLocalPaths: ['/var/lib/sensor', '/etc/edgelake'], Env: { AllowList: ['.*'] } } }, hostEnv: all };
  const why = nodeRefusals(wrongLabel, spec).join('\n');
  assert.match(why, /don't match constraint role = edge/);
  assert.match(why, /\/var\/lib\/sensor is not granted write access/);
  assert.match(nodeRefusals(node(['.*'], all, { JobAdmissionControl: { RejectNetworkedJobs: true } }), spec).join(), /rejects networked jobs/);
});

test('allow-listed local paths match as globs', () => {
  assert.ok(pathMatch('/var/lib/sensor', '/var/lib/sensor'));
  assert.ok(pathMatch('/var/lib/*', '/var/lib/sensor'));
  assert.ok(!pathMatch('/var/lib/*', '/var/lib/sensor/db'));
  assert.ok(pathMatch('/var/**', '/var/lib/sensor/db'));
});

test('env names follow Bacalhau\'s ValidateEnvVars', () => {
  assert.equal(envNameProblem('NODE_ID'), null);
  assert.equal(envNameProblem('AWS_REGION'), null);
  assert.match(envNameProblem('BACALHAU_JOB_ID')!, /cannot start with BACALHAU_/);
  assert.match(envNameProblem('1NODE')!, /must start with a letter/);
});

test('the Dockerfile entry point is the one the job specs override with', () => {
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
  assert.match(dockerfile, /^FROM node:20-bookworm-slim/m);
  const entry = /^ENTRYPOINT (.+)$/m.exec(dockerfile);
  assert.deepEqual(entry && JSON.parse(entry[1]), ['node', ...NODE_FLAGS, '/app/build/cli/main.js']);
  assert.match(dockerfile, /npm ci/);
  assert.match(dockerfile, /npm run build/);
  assert.match(dockerfile, /docker buildx build --platform linux\/amd64,linux\/arm64/);
});

test('the YAML subset parser reads nested mappings, sequences of mappings and typed scalars', () => {
  const doc = parseYaml(
    ['a: 1 # comment', 'b:', '  - x', '  - "y # not a comment"', 'c:', '  - k: true', '    v: 0.5', '  - k: null', "d: 'it''s'", 'e:'].join('\n'),
  );
  assert.deepEqual(doc, { a: 1, b: ['x', 'y # not a comment'], c: [{ k: true, v: 0.5 }, { k: null }], d: "it's", e: null });
});

test('the YAML subset parser rejects constructs outside the subset with the line number', () => {
  assert.throws(() => parseYaml('a: [1, 2]'), /line 1: .*outside the supported YAML subset/);
  assert.throws(() => parseYaml('a: 1\n\tb: 2'), /line 2: tabs/);
  assert.throws(() => parseYaml('a: 1\na: 2'), /line 2: duplicate key "a"/);
});
