import { ConfigError } from '../errors.ts';

/** The pipeline types an operator can switch between (contract §2). */
export const PIPELINE_TYPES = ['ingestion', 'validated', 'enriched', 'aggregated'] as const;
export type PipelineType = (typeof PIPELINE_TYPES)[number];

/** Accepted aliases, from the field's earlier tools. */
export const PIPELINE_ALIASES: Readonly<Record<string, PipelineType>> = { raw: 'ingestion', schematized: 'validated' };

/**
 * Resolves a user-given type or alias (case-insensitive, trimmed) to a pipeline type;
 * anything else is a ConfigError listing the valid types.
 */
export function parsePipelineType(value: unknown, flag = '--type'): PipelineType {
  const text = typeof value === 'string' ? value.trim().toLowerCase() : '';
  if ((PIPELINE_TYPES as readonly string[]).includes(text)) return text as PipelineType;
  const alias = PIPELINE_ALIASES[text];
  if (alias) return alias;
  const aliases = Object.entries(PIPELINE_ALIASES)
    .map(([a, t]) => `${a}→${t}`)
    .join(', ');
  throw new ConfigError(
    'BAD_PIPELINE_TYPE',
    `${flag} ${JSON.stringify(value)} is not a pipeline type; valid types: ${PIPELINE_TYPES.join(', ')} (aliases: ${aliases})`,
  );
}
