/**
 * Writes the generated Databricks artefacts under databricks/ from src/schema/: the streaming
 * tables (from the zod record schemas), the Auto Loader and Unity Catalog setup notebooks, the
 * demo and dashboard queries and the AI/BI dashboard edgelake.lvdash.json (from queries.ts); and
 * src/encode/parquet/columns.generated.ts, the Parquet column layouts as plain data for the encoder.
 * Run: npm run gen:databricks   (test/databricks.test.ts, test/lakeview.test.ts and
 * test/parquet-columns.test.ts fail when they drift)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { databricksFiles } from '../src/schema/databricks.ts';
import { PARQUET_COLUMNS_MODULE, parquetColumnsModule } from '../src/schema/parquet-columns.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', 'databricks');
for (const [rel, text] of Object.entries(databricksFiles())) {
  const path = join(root, rel);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  console.log(`wrote databricks/${rel} (${text.length} chars)`);
}
const columns = parquetColumnsModule();
writeFileSync(join(root, '..', PARQUET_COLUMNS_MODULE), columns);
console.log(`wrote ${PARQUET_COLUMNS_MODULE} (${columns.length} chars)`);
