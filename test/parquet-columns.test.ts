/**
 * The Parquet encoder's column layouts are generated plain data (src/encode/parquet/
 * columns.generated.ts), so that worker threads, which encode Parquet, never load zod and the
 * record schemas: that is ≈ 0.15 CPU-s at every worker start, two workers per run. The layouts
 * must stay exactly what the zod schemas derive, and the workers' modules must stay free of zod.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { PARQUET_COLUMNS } from '../src/encode/parquet/columns.generated.ts';
import { DATASET_NAMES } from '../src/schema/datasets.ts';
import { datasetColumns } from '../src/schema/ddl.ts';
import { PARQUET_COLUMNS_MODULE, parquetColumnsModule } from '../src/schema/parquet-columns.ts';
import { assertBuilt } from './helpers/built-cli.ts';
import { REPO_ROOT } from './helpers/cli.ts';

test('the committed Parquet column layouts are what the zod record schemas derive (run npm run gen:databricks when this fails)', () => {
  assert.equal(readFileSync(join(REPO_ROOT, PARQUET_COLUMNS_MODULE), 'utf8'), parquetColumnsModule(), `${PARQUET_COLUMNS_MODULE} is stale: run npm run gen:databricks`);
  assert.deepEqual(Object.keys(PARQUET_COLUMNS).sort(), [...DATASET_NAMES].sort());
  for (const name of DATASET_NAMES) assert.deepEqual(PARQUET_COLUMNS[name], datasetColumns(name, 'parquet'), name);
});

/** Packages reached from `entry` through static imports of the compiled modules, each with the chain that reaches it. */
function packagesReached(entry: string): Map<string, string[]> {
  const seen = new Map<string, string | null>();
  const packages = new Map<string, string[]>();
  const chain = (file: string): string[] => {
    const out: string[] = [];
    for (let f: string | null | undefined = file; f; f = seen.get(f)) out.push(relative(REPO_ROOT, f));
    return out;
  };
  const walk = (file: string, from: string | null): void => {
    if (seen.has(file)) return;
    seen.set(file, from);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]/gms)) {
      const spec = m[1] ?? m[2];
      if (spec.startsWith('.')) walk(resolve(dirname(file), spec), file);
      else if (!spec.startsWith('node:')) {
        const name = spec.split('/').slice(0, spec.startsWith('@') ? 2 : 1).join('/');
        if (!packages.has(name)) packages.set(name, chain(file));
      }
    }
  };
  walk(entry, null);
  return packages;
}

test("a worker thread's modules (the row stages, Parquet, alert records) do not import zod", () => {
  assertBuilt();
  const packages = packagesReached(join(REPO_ROOT, 'build', 'pool', 'worker.js'));
  assert.ok(packages.has('better-sqlite3') && packages.has('piscina'), `the walk follows the imports: ${[...packages.keys()].join(', ')}`);
  assert.equal(packages.get('zod')?.join(' ← '), undefined, 'zod is imported by a worker module');
  // The main thread does load it (configuration): the walk would see it there.
  assert.ok(packagesReached(join(REPO_ROOT, 'build', 'cli', 'commands', 'run.js')).has('zod'));
});
