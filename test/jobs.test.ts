import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { parseCommandLine } from '../src/cli/args.ts';
import { parsePipelineType } from '../src/state/pipeline-types.ts';
import { parseYaml } from './helpers/yaml.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const jobsDir = join(root, 'jobs');

/**
 * Bacalhau's job format (docs: references/jobs/job, task, engines/docker, sources/local,
 * timeouts), strict where a typo would silently change behaviour: unknown keys are errors, and
 * the old `apiVersion`/`spec` layout is rejected.
 */
const LocalSource = z.strictObject({
  Type: z.enum(['localDirectory', 'local']),
  Params: z.strictObject({
    SourcePath: z.string().refine((p) => posix.isAbsolute(p), 'SourcePath must be absolute'),
    ReadWrite: z.boolean().optional(),
  }),
});
const Task = z.strictObject({
  Name: z.string().min(1),
  Engine: z.strictObject({
    Type: z.literal('docker'),
    Params: z.strictObject({
      Image: z.string().min(1),
      Entrypoint: z.array(z.string()).optional(),
      Parameters: z.array(z.string()).optional(),
      EnvironmentVariables: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*=/)).optional(),
      WorkingDirectory: z.string().optional(),
    }),
  }),
  Publisher: z.strictObject({ Type: z.string(), Params: z.record(z.string(), z.unknown()).optional() }).optional(),
  Env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).optional(),
  Meta: z.record(z.string(), z.string()).optional(),
  InputSources: z.array(z.strictObject({ Source: LocalSource, Target: z.string(), Alias: z.string().optional() })).optional(),
  ResultPaths: z.array(z.strictObject({ Name: z.string(), Path: z.string() })).optional(),
  Resources: z
    .strictObject({ CPU: z.string().optional(), Memory: z.string().optional(), Disk: z.string().optional(), GPU: z.string().optional() })
    .optional(),
  Network: z.strictObject({ Type: z.enum(['None', 'Full', 'Host', 'HTTP']), Domains: z.array(z.string()).optional() }).optional(),
  Timeouts: z
    .strictObject({ ExecutionTimeout: z.int().min(0).optional(), QueueTimeout: z.int().min(0).optional(), TotalTimeout: z.int().min(0).optional() })
    .optional(),
});
const Job = z
  .strictObject({
    Name: z.string().min(1),
    Namespace: z.string().optional(),
    Type: z.enum(['batch', 'ops', 'daemon', 'service']),
    Count: z.int().min(1).optional(),
    Priority: z.int().optional(),
    Meta: z.record(z.string(), z.string()).optional(),
    Labels: z.record(z.string(), z.string()).optional(),
    Constraints: z
      .array(z.strictObject({ Key: z.string(), Operator: z.enum(['=', '!=', 'exists', '!exists', 'in', 'notin', 'gt', 'lt']), Values: z.array(z.string()).optional() }))
      .optional(),
    Tasks: z.array(Task).length(1),
  })
  .refine((j) => (j.Type === 'batch' || j.Type === 'service' ? j.Count !== undefined : true), 'batch and service jobs need Count');
type Job = z.infer<typeof Job>;

const SPECS = readdirSync(jobsDir).filter((f) => f.endsWith('.yaml'));
const load = (file: string): Job => Job.parse(parseYaml(readFileSync(join(jobsDir, file), 'utf8')));

test('the three job specs are present', () => {
  assert.deepEqual(SPECS.sort(), ['edgelake-daemon.yaml', 'edgelake-once.yaml', 'edgelake-pipeline-set.yaml']);
});

for (const file of SPECS) {
  test(`${file} is a valid Bacalhau job whose command line the edgelake CLI accepts`, () => {
    const job = load(file);
    const task = job.Tasks[0];
    const { Entrypoint, Parameters } = task.Engine.Params;
    assert.deepEqual(Entrypoint, ['node', '/app/build/cli/main.js'], 'the image entry point of the Dockerfile');
    const parsed = parseCommandLine(Parameters ?? []);
    const db = parsed.options.db as string;
    const mounts = (task.InputSources ?? []).map((s) => s.Target);
    assert.ok(mounts.some((m) => db.startsWith(m + '/')), `--db ${db} lies in a mounted folder (${mounts.join(', ')})`);
    const dbMount = task.InputSources!.find((s) => db.startsWith(s.Target + '/'))!;
    assert.equal(dbMount.Source.Params.ReadWrite, true, 'SQLite in WAL mode needs a writable folder');
    const identity = parsed.options.nodeIdentity as string | undefined;
    if (identity) assert.ok(mounts.some((m) => identity.startsWith(m + '/')), `--node-identity ${identity} lies in a mounted folder`);
  });
}

test('the daemon follows the database on every edge node, with a node id and no timeout', () => {
  const job = load('edgelake-daemon.yaml');
  assert.equal(job.Type, 'daemon');
  const task = job.Tasks[0];
  const parsed = parseCommandLine(task.Engine.Params.Parameters!);
  assert.equal(parsed.command, 'run');
  assert.equal(parsed.options.once, undefined);
  assert.ok(parsed.options.s3Endpoint);
  assert.equal(task.Env?.NODE_ID, 'env:NODE_ID');
  assert.equal(task.Network?.Type, 'Full');
  assert.equal(task.Timeouts?.ExecutionTimeout, 0);
});

test('the once job drains pending rows on every edge node and exits', () => {
  const job = load('edgelake-once.yaml');
  assert.equal(job.Type, 'ops');
  const parsed = parseCommandLine(job.Tasks[0].Engine.Params.Parameters!);
  assert.equal(parsed.command, 'run');
  assert.equal(parsed.options.once, true);
  assert.equal(job.Tasks[0].Env?.NODE_ID, 'env:NODE_ID');
  assert.ok((job.Tasks[0].Timeouts?.ExecutionTimeout ?? 0) > 0);
});

test('the pipeline-set job switches every edge node to a valid pipeline type', () => {
  const job = load('edgelake-pipeline-set.yaml');
  assert.equal(job.Type, 'ops');
  const parsed = parseCommandLine(job.Tasks[0].Engine.Params.Parameters!);
  assert.equal(parsed.command, 'pipeline');
  assert.equal(parsed.subcommand, 'set');
  assert.equal(parsePipelineType(parsed.options.type), 'validated');
  assert.equal(parsed.options.by, 'operator');
});

test('the Dockerfile entry point is the one the job specs override with', () => {
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
  assert.match(dockerfile, /^FROM node:20-bookworm-slim/m);
  assert.match(dockerfile, /ENTRYPOINT \["node", "\/app\/build\/cli\/main\.js"\]/);
  assert.match(dockerfile, /npm ci/);
  assert.match(dockerfile, /npm run build/);
});

test('the job model rejects the legacy apiVersion/spec layout and names the key', () => {
  const legacy = parseYaml('apiVersion: V1beta1\nspec:\n  engine: docker\n');
  const r = Job.safeParse(legacy);
  assert.equal(r.success, false);
  assert.match(z.prettifyError(r.error!), /apiVersion/);
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
