/**
 * Writes the generated Databricks artefacts (streaming tables, Auto Loader notebook, demo and
 * dashboard queries) under databricks/ from the zod record schemas in src/schema/.
 * Run: node --import tsx scripts/gen-databricks.ts   (test/databricks.test.ts fails when they drift)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { databricksFiles } from '../src/schema/databricks.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', 'databricks');
for (const [rel, text] of Object.entries(databricksFiles())) {
  const path = join(root, rel);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  console.log(`wrote databricks/${rel} (${text.length} chars)`);
}
