import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../src/errors.ts';
import { parseArgv, parseCommandLine, type CommandSpec } from '../src/cli/args.ts';
import { parseRunOptions } from '../src/config.ts';

const SPEC: Record<string, CommandSpec> = {
  run: {
    summary: 's',
    usage: 'u',
    flags: {
      db: { type: 'string', help: '' },
      'batch-size': { type: 'string', help: '' },
      once: { type: 'boolean', help: '' },
      progress: { type: 'boolean', negatable: true, help: '' },
      'alert-webhook': { type: 'string', multiple: true, help: '' },
    },
  },
  pipeline: { summary: 's', usage: 'u', subcommands: ['get', 'set', 'history'], flags: { type: { type: 'string', help: '' } } },
};

describe('parseArgv accepts', () => {
  const cases: Array<[string, string[], unknown]> = [
    ['no arguments as help', [], { command: 'help', options: {} }],
    ['--help anywhere as help for the command', ['run', '--db', 'x', '--help'], { command: 'help', subcommand: 'run', options: {} }],
    ['--version', ['--version'], { command: 'version', options: {} }],
    ['a value after the flag', ['run', '--db', 'a.db'], { command: 'run', subcommand: undefined, options: { db: 'a.db' } }],
    ['a value after =', ['run', '--db=a=b.db'], { command: 'run', subcommand: undefined, options: { db: 'a=b.db' } }],
    ['kebab flags as camelCase keys', ['run', '--batch-size', '10'], { command: 'run', subcommand: undefined, options: { batchSize: '10' } }],
    ['a boolean flag', ['run', '--once'], { command: 'run', subcommand: undefined, options: { once: true } }],
    ['a boolean with =false', ['run', '--once=false'], { command: 'run', subcommand: undefined, options: { once: false } }],
    ['--no-x for a negatable flag', ['run', '--no-progress'], { command: 'run', subcommand: undefined, options: { progress: false } }],
    ['--no-x=false as true', ['run', '--no-progress=false'], { command: 'run', subcommand: undefined, options: { progress: true } }],
    [
      'a repeated multiple flag, in order',
      ['run', '--alert-webhook', 'http://a', '--alert-webhook=http://b'],
      { command: 'run', subcommand: undefined, options: { alertWebhook: ['http://a', 'http://b'] } },
    ],
    ['a negative number as a value', ['run', '--batch-size', '-5'], { command: 'run', subcommand: undefined, options: { batchSize: '-5' } }],
    ['a subcommand', ['pipeline', 'set', '--type', 'raw'], { command: 'pipeline', subcommand: 'set', options: { type: 'raw' } }],
  ];
  for (const [name, argv, expected] of cases) {
    test(name, () => assert.deepEqual({ ...parseArgv(argv, SPEC) }, expected));
  }
});

describe('parseArgv rejects, naming the problem and suggesting a fix', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['an unknown command, with the closest one', ['rnu'], /unknown command "rnu" \(did you mean run\?\)/],
    ['an unknown command far from any', ['zzzzzzzz'], /^unknown command "zzzzzzzz"; run edgelake --help$/],
    ['an unknown flag, with the closest one', ['run', '--batchsize', '1'], /unknown option --batchsize for run \(did you mean --batch-size\?\)/],
    ['an unknown flag far from any', ['run', '--colour'], /^unknown option --colour for run$/],
    ['--no-x of a flag that is not negatable', ['run', '--no-once'], /unknown option --no-once/],
    ['--no-x of a string flag', ['run', '--no-db'], /unknown option --no-db/],
    ['a missing value at the end', ['run', '--db'], /--db needs a value/],
    ['a flag where a value should be', ['run', '--db', '--once'], /--db needs a value/],
    ['a non-boolean value for a boolean', ['run', '--once=yes'], /--once takes no value or true\/false, got "yes"/],
    ['a single-valued flag given twice', ['run', '--db', 'a', '--db', 'b'], /--db given twice/],
    ['a stray word', ['run', 'now'], /unexpected argument "now" for run/],
    ['an unknown subcommand, with the closest one', ['pipeline', 'gte'], /unknown "pipeline gte" \(did you mean get\?\); valid: get, set, history/],
    ['a missing subcommand', ['pipeline', '--type', 'raw'], /pipeline needs one of: get, set, history/],
  ];
  for (const [name, argv, message] of cases) {
    test(name, () =>
      assert.throws(
        () => parseArgv(argv, SPEC),
        (err: unknown) => err instanceof ConfigError && message.test(err.message),
      ),
    );
  }
});

describe('the edgelake command table', () => {
  test('parses the contract command lines', () => {
    assert.deepEqual(parseCommandLine(['pipeline', 'set', '--type', 'validated', '--by', 'alice', '--db', 's.db']).options, {
      type: 'validated',
      by: 'alice',
      db: 's.db',
    });
    const run = parseCommandLine(['run', '--db', 's.db', '--once', '--lake', './lake', '--alert-webhook', 'http://h/1', '--alert-webhook', 'http://h/2', '--no-alerts']);
    assert.deepEqual(run.options, { db: 's.db', once: true, lake: './lake', alertWebhook: ['http://h/1', 'http://h/2'], alerts: false });
    const o = parseRunOptions(run.options);
    assert.deepEqual(o.alertWebhook, ['http://h/1', 'http://h/2']);
    assert.equal(o.alerts, false);
    assert.equal(o.batchSize, 50_000);
  });

  test('every run flag is an option of parseRunOptions (no flag the validator would reject as unknown)', () => {
    // A flag in the CLI table but not in the zod schema would fail with "unknown option(s)" only when used.
    const samples: Record<string, string> = {
      's3-endpoint': 'http://127.0.0.1:9', type: 'raw', 'from-id': '1', 'batch-size': '10', 'batch-timeout': '1s', 'poll-interval': '1s',
      'gzip-level': '1', 'node-identity': 'x.json', 'node-id': 'n', 'alert-webhook': 'http://h', kernels: 'ts', 'fuzz-radius-km': '1',
      window: '5m', lateness: '1m', region: 'us-west-2', 'bucket-prefix': 'expanso', db: 'x.db', 'state-db': 's.db', lake: 'l',
    };
    const run = parseCommandLine(['run', '--help']);
    assert.equal(run.command, 'help');
    for (const flag of Object.keys(samples)) {
      const argv = ['run', `--${flag}`, samples[flag]];
      const opts = parseCommandLine(argv).options;
      if (flag === 'from-id') Object.assign(opts, { type: 'raw', once: true });
      if (flag === 's3-endpoint' || flag === 'lake') {
        assert.doesNotThrow(() => parseRunOptions(opts), flag);
        continue;
      }
      assert.doesNotThrow(() => parseRunOptions(opts), `--${flag} ${samples[flag]}`);
    }
  });

  test('run options name the flag and value of a bad setting', () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ batchSize: '0' }, /--batch-size "0" must be at least 1/],
      [{ batchTimeout: 'soon' }, /--batch-timeout.*"soon" is not a duration/],
      [{ type: 'bronze' }, /--type "bronze" is not a pipeline type \(valid: ingestion, validated, enriched, aggregated/],
      [{ bucketPrefix: 's3://x' }, /--bucket-prefix/],
      [{ alertWebhook: ['ftp://x'] }, /--alert-webhook .*http/],
      [{ fromId: '5' }, /--from-id needs --type/],
    ];
    for (const [input, message] of cases) {
      assert.throws(() => parseRunOptions(input), (err: unknown) => err instanceof ConfigError && message.test(err.message), JSON.stringify(input));
    }
  });
});
