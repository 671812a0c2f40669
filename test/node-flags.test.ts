/**
 * Every launch of edgelake carries the same Node options (src/cli/node-flags.ts): the `#!` line
 * `npx edgelake` runs, the Dockerfile, `npm start` and the demo's nodes (the Bacalhau jobs are
 * held to the Dockerfile in jobs.test.ts) — and Node accepts them (it refuses a mistyped V8
 * option: "bad option"), and the semi-space cap does what it says. What the old generation's
 * growing factor does to a drain's peak is measured, not asserted (bench/README.md): V8's own
 * factor depends on the collector's speed on the machine at hand.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NODE_FLAGS } from '../src/cli/node-flags.ts';
import { cliArgv } from '../src/demo/processes.ts';
import { REPO_ROOT } from './helpers/cli.ts';

const read = (file: string) => readFileSync(join(REPO_ROOT, file), 'utf8');

test('the #! line of the CLI runs node with edgelake\'s Node options', () => {
  const first = read('src/cli/main.ts').split('\n')[0];
  assert.equal(first, `#!/usr/bin/env -S node ${NODE_FLAGS.join(' ')}`);
});

test('the Dockerfile\'s ENTRYPOINT and npm start carry them', () => {
  const entry = /^ENTRYPOINT (.+)$/m.exec(read('Dockerfile'));
  assert.ok(entry, 'the Dockerfile has an ENTRYPOINT');
  assert.deepEqual(JSON.parse(entry[1]), ['node', ...NODE_FLAGS, '/app/build/cli/main.js']);
  const start = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.start;
  assert.equal(start, `node ${NODE_FLAGS.join(' ')} build/cli/main.js demo`);
});

test('the demo starts its nodes with them, before the loader options and the CLI', () => {
  const argv = cliArgv();
  assert.deepEqual(argv.slice(0, NODE_FLAGS.length), NODE_FLAGS);
  assert.match(argv.at(-1)!, /[\\/]cli[\\/]main\.(ts|js)$/);
});

test('node accepts them, and the main thread\'s young generation stays within the cap while it allocates', () => {
  // new_space's size counts both semi-spaces; by default they grow to 16 MiB each under this load.
  const script = `
    const v8 = require('node:v8'); let keep = [], most = 0;
    for (let i = 0; i < 2e6; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 200000) keep = [];
      if (i % 5000 === 0) most = Math.max(most, v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size); }
    console.log(most);`;
  const withFlags = spawnSync(process.execPath, [...NODE_FLAGS, '-e', script], { encoding: 'utf8' });
  assert.equal(withFlags.status, 0, withFlags.stderr);
  const without = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  assert.equal(without.status, 0, without.stderr);
  const semi = Number(/--max-semi-space-size=(\d+)/.exec(NODE_FLAGS.join(' '))![1]) * 2 ** 20;
  assert.ok(Number(withFlags.stdout) <= 2 * semi, `new space ${withFlags.stdout.trim()} bytes with ${NODE_FLAGS.join(' ')}`);
  assert.ok(Number(without.stdout) > 2 * semi, `the default grows past the cap under this load (${without.stdout.trim()} bytes): the test would show nothing otherwise`);
});
