import { ConfigError } from '../errors.ts';
import { LakeSink } from './lake.ts';
import { S3Sink } from './s3.ts';
import type { Sink, SinkObserver } from './types.ts';

/** Where `run` writes, decided from its options and the environment. */
export interface SinkChoice {
  lake?: string;
  s3Endpoint?: string;
  region: string;
  createBuckets: boolean;
  /** Told of every request and durable object (the run's metrics). */
  observer?: SinkObserver;
}

/** True when the environment configures S3 the usual AWS way (endpoint, keys or a profile). */
export function awsEnvironmentConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || env.AWS_ACCESS_KEY_ID || env.AWS_PROFILE || env.AWS_WEB_IDENTITY_TOKEN_FILE);
}

/**
 * `--lake DIR` → the lake folder; `--s3-endpoint URL` or an AWS environment → S3; neither →
 * the embedded default, a `./lake` folder (no cloud account needed).
 */
export function createSink(choice: SinkChoice, env: NodeJS.ProcessEnv = process.env): Sink {
  if (choice.lake && choice.s3Endpoint) throw new ConfigError('BAD_OPTION', '--lake and --s3-endpoint are exclusive');
  if (choice.lake) return new LakeSink({ dir: choice.lake, observer: choice.observer });
  if (choice.s3Endpoint || awsEnvironmentConfigured(env)) {
    return S3Sink.create({ endpoint: choice.s3Endpoint, region: choice.region, createBuckets: choice.createBuckets, observer: choice.observer });
  }
  return new LakeSink({ dir: 'lake', observer: choice.observer });
}
