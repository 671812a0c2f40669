/**
 * How the benches start a build's CLI: `node <that build's NODE_FLAGS> build/cli/main.js`, as
 * `npx edgelake`, the Dockerfile and the Bacalhau jobs launch it (src/cli/node-flags.ts), so a
 * bench measures what an operator runs (a build from before the flags existed runs without any), and
 * where that run writes: a lake folder, or a loopback s3rver for a stage named `s3:<stage>`.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The Node options of the build in `root` (a checkout with `npm run build` done). */
export async function nodeFlagsOf(root: string): Promise<string[]> {
  const file = join(resolve(root), 'build', 'cli', 'node-flags.js');
  if (!existsSync(file)) return [];
  return [...((await import(pathToFileURL(file).href)) as { NODE_FLAGS: readonly string[] }).NODE_FLAGS];
}

/** Where a bench's `run --once` writes: its flags, the environment it adds, and how to clean up after it. */
export interface Destination {
  readonly args: string[];
  readonly env: Record<string, string>;
  dispose(): Promise<void>;
}

/**
 * A lake folder under `dir`, or for a stage named `s3:<stage>` a loopback s3rver started in this
 * process (as bench:e2e's S3 phases), with its credentials in `env`.
 */
export async function destinationFor(stage: string, dir: string): Promise<Destination> {
  if (!stage.startsWith('s3:')) return { args: ['--lake', join(dir, 'lake')], env: {}, dispose: async () => {} };
  const { startS3Server, S3RVER_CREDENTIALS } = await import('../test/helpers/s3server.ts');
  const server = await startS3Server();
  return {
    args: ['--s3-endpoint', server.endpoint, '--create-buckets'],
    env: { AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey },
    dispose: () => server.dispose(),
  };
}

/** The stage type of a bench stage name (`s3:validated` → `validated`). */
export const stageType = (stage: string): string => stage.replace(/^s3:/, '');
