import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import type { LakeLocation } from '../schema/duckdb.ts';
import { syncS3Cache, type S3CacheSummary } from './cache.ts';

/**
 * Where `edgelake query` and `edgelake dashboard` read the lake: a local `--lake` folder, or the
 * S3 buckets (`--s3-endpoint`, or `--s3` for the AWS default endpoint) mirrored into `--cache`.
 */

const bucketPrefix = z
  .string()
  .regex(/^[a-z0-9][a-z0-9.-]{0,40}$/, 'must be lowercase letters, digits, dots or hyphens (S3 bucket naming), e.g. expanso')
  .refine((s) => !s.startsWith('s3://'), 'must not start with s3://');

const httpUrl = z.string().refine((s) => {
  try {
    return ['http:', 'https:'].includes(new URL(s).protocol);
  } catch {
    return false;
  }
}, 'must be an http:// or https:// URL, e.g. http://127.0.0.1:9000');

/** The lake-location flags shared by `query` and `dashboard` (camelCase keys of the CLI flags). */
export const LakeSourceFields = {
  lake: z.string().min(1).optional().describe('Local lake folder, as given to run --lake. Default ./lake'),
  s3: z.boolean().default(false).describe('Read the buckets from S3 through the AWS default chain and endpoint'),
  s3Endpoint: httpUrl.optional().describe('S3-compatible endpoint URL, e.g. http://127.0.0.1:4568'),
  region: z
    .string()
    .regex(/^[a-z0-9-]{2,32}$/, 'is not a region name (example: us-west-2)')
    .default('us-west-2')
    .describe('Region in the bucket names (and for S3). Default us-west-2'),
  bucketPrefix: bucketPrefix.default('expanso').describe('Bucket name prefix. Default expanso'),
  cache: z.string().min(1).optional().describe('S3 only: local cache folder. Default .cache/edgelake/<prefix>-<region>'),
} as const;

/** The parsed lake-location flags. */
export interface LakeSourceOptions {
  readonly lake?: string;
  readonly s3: boolean;
  readonly s3Endpoint?: string;
  readonly region: string;
  readonly bucketPrefix: string;
  readonly cache?: string;
}

/** A lake ready to query, and how it was obtained. */
export interface ResolvedLake {
  readonly location: LakeLocation;
  /** For people: the folder, or the endpoint and cache. */
  readonly description: string;
  /** The S3 sync's figures, when the lake came from S3. */
  readonly sync?: S3CacheSummary;
}

/**
 * Turns the flags into a local lake folder: checks a `--lake` folder exists (ConfigError
 * LAKE_MISSING naming it), or syncs the S3 buckets into the cache folder first.
 */
export async function resolveLake(o: LakeSourceOptions): Promise<ResolvedLake> {
  const fromS3 = o.s3 || o.s3Endpoint !== undefined;
  if (fromS3 && o.lake !== undefined) {
    throw new ConfigError('BAD_OPTION', '--lake and --s3-endpoint/--s3 are exclusive: read a local lake folder or S3, not both');
  }
  if (!fromS3 && o.cache !== undefined) throw new ConfigError('BAD_OPTION', '--cache is for S3 only: add --s3-endpoint URL (or --s3)');
  if (!fromS3) {
    const lake = resolve(o.lake ?? 'lake');
    if (!existsSync(lake) || !statSync(lake).isDirectory()) {
      throw new ConfigError('LAKE_MISSING', `--lake ${lake} does not exist or is not a folder; pass the folder given to edgelake run --lake`);
    }
    return { location: { lake, prefix: o.bucketPrefix, region: o.region }, description: lake };
  }
  const cacheDir = resolve(o.cache ?? join('.cache', 'edgelake', `${o.bucketPrefix}-${o.region}`));
  const sync = await syncS3Cache({ endpoint: o.s3Endpoint, region: o.region, bucketPrefix: o.bucketPrefix, cacheDir });
  const where = o.s3Endpoint ?? `S3 ${o.region}`;
  return {
    location: { lake: cacheDir, prefix: o.bucketPrefix, region: o.region },
    description: `${where} (${sync.buckets.length} buckets, ${sync.listed} objects; ${sync.downloaded} downloaded, ${sync.unchanged} cached) via ${cacheDir}`,
    sync,
  };
}
