import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { decodeNodeKey, encodeNodeKey, nodeKeyPart } from '../src/sink/key.ts';
import { checkFleet, parseKey, readLakeFolder } from './checker/index.ts';
import { describeResult, runCli } from './helpers/cli.ts';
import { runBuilt, assertBuilt } from './helpers/built-cli.ts';
import { tempDir } from './helpers/tmp.ts';

/**
 * Node ids that collided under the old sanitising (every byte outside [A-Za-z0-9._-] became `-`):
 * `東京-01` and `大阪-01` both became `---01`, `edge nyc 01` became `edge-nyc-01`, `site/7` became
 * `site-7`; the second node of each pair overwrote the first one's objects (issue 10: 20,000 rows
 * lost). Plus a pair that differs only in case.
 */
const COLLIDING = ['東京-01', '大阪-01', 'edge nyc 01', 'edge-nyc-01', 'site/7', 'site-7', 'Edge-NYC-01'];

test('node keys are injective and reversible: ids differing only in non-ASCII characters, spaces, case and / get distinct keys', () => {
  const keys = COLLIDING.map(encodeNodeKey);
  assert.equal(new Set(keys).size, COLLIDING.length, keys.join(' '));
  for (const [i, id] of COLLIDING.entries()) {
    assert.match(keys[i], /^(?:[A-Za-z0-9._-]|%[0-9A-F]{2})+$/, 'only key-safe characters');
    assert.equal(decodeNodeKey(keys[i]), id);
  }
  assert.equal(encodeNodeKey('edge-nyc-01'), 'edge-nyc-01', 'safe ids are unchanged (existing lakes keep their keys)');
  assert.equal(encodeNodeKey('東京-01'), '%E6%9D%B1%E4%BA%AC-01');
  assert.equal(encodeNodeKey('a%b'), 'a%25b', 'a percent sign is encoded too');
  // Generations and roles are suffixes that no encoded id can contain.
  assert.notEqual(nodeKeyPart('x', { generation: 2 }), nodeKeyPart('x~g2'));
  assert.equal(nodeKeyPart('x~g2'), 'x%7Eg2');
  assert.equal(nodeKeyPart('x', { generation: 2, role: 'alerts' }), 'x~g2~alerts');
  // A random sample of ids: injective and reversible.
  const seen = new Map<string, string>();
  for (let i = 0; i < 2000; i++) {
    const id = Array.from({ length: 1 + (i % 9) }, (_, j) => String.fromCodePoint(32 + ((i * 7919 + j * 104729) % 0x2fff))).join('');
    const k = encodeNodeKey(id);
    assert.equal(decodeNodeKey(k), id);
    const before = seen.get(k);
    assert.ok(before === undefined || before === id, `${JSON.stringify(id)} and ${JSON.stringify(before)} share ${k}`);
    seen.set(k, id);
  }
  assert.throws(() => decodeNodeKey('bad key'), RangeError);
});

test('seven nodes whose ids collided under the old sanitising, each with its own database, land into one lake with every (node, id) present exactly once', { timeout: 120_000 }, async (t) => {
  assertBuilt();
  const dir = tempDir(t);
  const template = join(dir, 'template.db');
  const sim = await runCli(['simulate', '--db', template, '--rows', '1500', '--sensors', '4', '--seed', '9']);
  assert.equal(sim.code, 0, describeResult(sim));
  const lake = join(dir, 'lake');
  const nodes = COLLIDING.map((nodeId, i) => {
    mkdirSync(join(dir, `n${i}`));
    const db = join(dir, `n${i}`, 'sensor_data.db');
    copyFileSync(template, db); // the same rows on every node: the worst case for overwrites
    return { nodeId, db };
  });
  const types = ['ingestion', 'validated', 'enriched', 'aggregated'];
  for (const [i, n] of nodes.entries()) {
    const r = await runBuilt(['run', '--once', '--db', n.db, '--lake', lake, '--node-id', n.nodeId, '--type', types[i % types.length], '--batch-size', '400', '--no-progress']);
    assert.equal(r.code, 0, describeResult(r));
  }
  const snapshot = await readLakeFolder(lake);
  const report = checkFleet({ lake: snapshot, nodes });
  assert.deepEqual(report.problems, []);
  for (const f of report.nodes) assert.equal(f.sourceRows, 1500);
  // Every key decodes back to its node's own id.
  const named = new Set(snapshot.objects.map((o) => parseKey(o.key, o.bucket.includes('-aggregated-'))?.node));
  assert.deepEqual([...named].sort(), [...COLLIDING].sort());
});
