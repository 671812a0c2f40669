/**
 * Runs the compiled `edgelake` CLI (`node build/cli/main.js …`, produced by `npm run build`,
 * which `npm test` runs first). Tests that start the CLI dozens of times (kill chains) use it
 * instead of {@link spawnCli}: without tsx a start costs about half as much.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, spawnNode, type CliChild, type CliOptions, type CliResult } from './cli.ts';

/** The compiled CLI entry point. */
export const BUILT_CLI = join(REPO_ROOT, 'build', 'cli', 'main.js');

/**
 * Throws with the command to run when the compiled CLI is missing, or older than the crash-point
 * and runner sources it must contain (a stale build would test yesterday's code).
 */
export function assertBuilt(): void {
  if (!existsSync(BUILT_CLI)) throw new Error(`${BUILT_CLI} is missing: run \`npm run build\` first (npm test does)`);
  const built = statSync(BUILT_CLI).mtimeMs;
  for (const src of ['src/faults.ts', 'src/pipeline/run.ts', 'src/sink/lake.ts']) {
    const js = join(REPO_ROOT, 'build', src.slice('src/'.length).replace(/\.ts$/, '.js'));
    if (!existsSync(js) || statSync(js).mtimeMs < statSync(join(REPO_ROOT, src)).mtimeMs) {
      throw new Error(`build/ is older than ${src} (built CLI at ${new Date(built).toISOString()}): run \`npm run build\``);
    }
  }
}

/** Starts `node build/cli/main.js <args>` without waiting for it. */
export function spawnBuilt(args: readonly string[], opts: CliOptions = {}): CliChild {
  return spawnNode([BUILT_CLI], args, opts);
}

/** Runs `node build/cli/main.js <args>` to completion. */
export function runBuilt(args: readonly string[], opts: CliOptions = {}): Promise<CliResult> {
  return spawnBuilt(args, opts).exited;
}
