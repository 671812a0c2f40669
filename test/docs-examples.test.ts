import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { parseCommandLine } from '../src/cli/args.ts';
import { NodeIdentitySchema } from '../src/meta/identity.ts';
import { takeSnapshot } from '../src/meta/snapshot.ts';
import { REPO_ROOT } from './helpers/cli.ts';
import { JobSchema, NODE_CONFIG_KEYS, nodeConfigProblems, nodeRefusals, type Job } from './helpers/bacalhau-model.ts';
import { parseYaml, type YamlValue } from './helpers/yaml.ts';

/**
 * Every example in the docs is checked: JSON blocks are edgelake node identity files (through
 * edgelake's own schema), YAML blocks are Bacalhau node configs (keys against the real list
 * from Bacalhau's source) or job specs (through the job model), bash blocks' `edgelake`
 * command lines go through edgelake's own parser and their `bacalhau job run` files exist. A
 * block that is none of these fails the test, so a new example cannot slip past unchecked.
 */

const DOCS = ['README.md', 'jobs/README.md'];

interface Block {
  readonly doc: string;
  readonly lang: string;
  readonly line: number;
  readonly text: string;
}

function codeBlocks(doc: string): Block[] {
  const lines = readFileSync(join(REPO_ROOT, doc), 'utf8').split('\n');
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)/.exec(lines[i]);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !lines[i].startsWith('```'); i++) body.push(lines[i]);
    out.push({ doc, lang: open[1], line: start + 1, text: body.join('\n') });
  }
  return out;
}

const blocks = DOCS.flatMap(codeBlocks);
const where = (b: Block) => `${b.doc}:${b.line}`;
const TOP_CONFIG_KEYS = new Set(NODE_CONFIG_KEYS.map((k) => k.split('.')[0]));

/** Shell commands of a bash block: comments dropped, `\` continuations joined. */
function commands(text: string): string[] {
  return text
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((l) => l.replace(/(^|\s)#.*$/, '').trim())
    .filter(Boolean)
    .flatMap((l) => l.split(/\s*&&\s*/));
}

/** Splits a command line into words (no quoting is used in the docs beyond plain double quotes). */
const words = (cmd: string): string[] => (cmd.match(/"[^"]*"|\S+/g) ?? []).map((w) => w.replace(/^"|"$/g, ''));

const identities: Array<{ block: Block; identity: z.output<typeof NodeIdentitySchema> }> = [];
const nodeConfigs: Array<{ block: Block; config: Record<string, YamlValue> }> = [];
const jobSpecs: Array<{ block: Block; job: Job }> = [];
const hostEnv: Record<string, string> = {};
const jobRuns: string[] = [];

for (const block of blocks) {
  test(`the ${block.lang || 'plain'} example at ${where(block)} is valid`, () => {
    if (block.lang === 'json') {
      const json = JSON.parse(block.text) as unknown;
      const r = NodeIdentitySchema.safeParse(json);
      assert.ok(r.success, `${where(block)}: not a node identity file edgelake accepts: ${r.success ? '' : z.prettifyError(r.error)}`);
      identities.push({ block, identity: r.data });
    } else if (block.lang === 'yaml') {
      const doc = parseYaml(block.text);
      assert.ok(doc !== null && typeof doc === 'object' && !Array.isArray(doc), `${where(block)}: a mapping`);
      if ('Tasks' in doc) {
        const r = JobSchema.safeParse(doc);
        assert.ok(r.success, `${where(block)}: ${r.success ? '' : z.prettifyError(r.error)}`);
        jobSpecs.push({ block, job: r.data });
      } else {
        assert.ok(Object.keys(doc).some((k) => TOP_CONFIG_KEYS.has(k)), `${where(block)}: neither a job spec nor a Bacalhau node config`);
        assert.deepEqual(nodeConfigProblems(doc), [], `${where(block)}`);
        nodeConfigs.push({ block, config: doc as Record<string, YamlValue> });
      }
    } else if (block.lang === 'bash') {
      for (const cmd of commands(block.text)) {
        const exp = /^export ([A-Z_][A-Z0-9_]*)=(.*)$/.exec(cmd);
        if (exp) {
          hostEnv[exp[1]] = exp[2];
          continue;
        }
        const w = words(cmd);
        const at = w.indexOf('edgelake');
        if ((w[0] === 'npx' || w[0] === 'edgelake') && at >= 0) {
          assert.doesNotThrow(() => parseCommandLine(w.slice(at + 1)), `${where(block)}: ${cmd}`);
        } else if (w[0] === 'bacalhau' && w[1] === 'job' && w[2] === 'run') {
          const file = w.slice(3).filter((x) => !x.startsWith('--'));
          assert.equal(file.length, 1, `${where(block)}: ${cmd}`);
          assert.ok(existsSync(join(REPO_ROOT, file[0])), `${where(block)}: ${file[0]} exists`);
          jobRuns.push(file[0]);
        } else if (w[0] === 'bacalhau' && w[1] === 'serve') {
          assert.equal(w[2], '--config', `${where(block)}: the node config is passed with --config`);
        } else {
          assert.ok(['docker', 'npm'].includes(w[0]), `${where(block)}: a command this test does not know: ${cmd}`);
        }
      }
    } else if (block.lang === '' || block.lang === 'text') {
      // Plain blocks are prose (the layout tree); one that is really a JSON or YAML example must say so.
      const first = block.text.trimStart();
      assert.ok(!/^[[{]/.test(first) && !/^[A-Za-z_][A-Za-z0-9_]*:(\s|$)/.test(first), `${where(block)}: looks like JSON or YAML: mark it json or yaml so it is checked`);
    } else {
      assert.fail(`${where(block)}: a code block of language "${block.lang}" is not checked; mark it json, yaml or bash`);
    }
  });
}

test('a node set up from jobs/README.md accepts all four jobs', () => {
  assert.equal(nodeConfigs.filter((n) => n.block.doc === 'jobs/README.md').length, 1, 'one node config');
  const node = { config: nodeConfigs.find((n) => n.block.doc === 'jobs/README.md')!.config, hostEnv };
  assert.ok(hostEnv.NODE_ID, 'the host environment sets NODE_ID');
  const specs = ['edgelake-daemon.yaml', 'edgelake-once.yaml', 'edgelake-pipeline-set.yaml', 'edgelake-reprocess.yaml'];
  for (const file of specs) {
    const job = JobSchema.parse(parseYaml(readFileSync(join(REPO_ROOT, 'jobs', file), 'utf8')));
    assert.deepEqual(nodeRefusals(node, job), [], file);
  }
  assert.deepEqual([...new Set(jobRuns)].sort(), specs.map((s) => `jobs/${s}`), 'the README submits each of them');
});

test('the identity example of jobs/README.md is accepted and its hardware figures are what the node snapshot reports', () => {
  const example = identities.find((i) => i.block.doc === 'jobs/README.md');
  assert.ok(example);
  const snap = takeSnapshot(example.identity, {});
  assert.equal(snap.cpu_cores, example.identity.cpu_cores);
  assert.equal(snap.memory_gb, example.identity.memory_gb);
  assert.equal(snap.gpu_count, example.identity.gpu_count);
  assert.equal(snap.location.city, 'New York');
  // Without the figures the host's own are reported.
  const bare = takeSnapshot({ node_id: 'x' }, {});
  assert.ok(bare.cpu_cores >= 1 && bare.memory_gb > 0);
  assert.ok(!NodeIdentitySchema.safeParse({ cpu_cores: 0 }).success && !NodeIdentitySchema.safeParse({ gpu_count: 1.5 }).success);
});

test('node config keys that do not exist in Bacalhau are refused, naming them', () => {
  const problems = nodeConfigProblems(
    parseYaml(['Compute:', '  Labels:', '    role: edge', 'JobAdmissionControl:', '  AcceptNetworkedJobs: true', 'Labels:', '  role: edge'].join('\n')),
  );
  assert.deepEqual(problems, [
    'unknown key Compute.Labels.role (Bacalhau ignores it silently)',
    'unknown key JobAdmissionControl.AcceptNetworkedJobs (Bacalhau ignores it silently)',
  ]);
  assert.match(nodeConfigProblems(parseYaml('Compute:\n  Env:\n    AllowList:\n      - "(unclosed"')).join(), /is not a regular expression/);
  assert.ok(NODE_CONFIG_KEYS.includes('Compute.Env.AllowList') && NODE_CONFIG_KEYS.includes('Labels') && NODE_CONFIG_KEYS.includes('JobAdmissionControl.RejectNetworkedJobs'));
});
