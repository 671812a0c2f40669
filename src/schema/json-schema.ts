import { z } from 'zod';
import { DATASETS, DATASET_NAMES, type DatasetName } from './datasets.ts';

/** A JSON Schema document (draft 2020-12), as zod emits it. */
export type JsonSchema = z.core.JSONSchema.BaseSchema;

/**
 * The JSON Schema (draft 2020-12) of one dataset's records, generated from its zod schema:
 * `additionalProperties: false` everywhere, every property described, optional fields absent
 * from `required`, nullable fields as `anyOf [T, null]` (or a type list).
 */
export function jsonSchemaOf(name: DatasetName): JsonSchema {
  const spec = DATASETS[name];
  if (!spec) throw new RangeError(`unknown dataset "${String(name)}"; known: ${DATASET_NAMES.join(', ')}`);
  // `io: 'input'` describes what a reader of the lake may find, which is what consumers validate against.
  const doc: JsonSchema = z.toJSONSchema(spec.schema, { io: 'input' });
  return { ...doc, title: spec.table };
}

/** JSON Schemas of every dataset, by dataset name. */
export function allJsonSchemas(): Record<DatasetName, JsonSchema> {
  return Object.fromEntries(DATASET_NAMES.map((n) => [n, jsonSchemaOf(n)])) as Record<DatasetName, JsonSchema>;
}
