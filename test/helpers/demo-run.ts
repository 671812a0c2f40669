/**
 * Runs `edgelake demo` as a child process for the demo and dashboard tests: through the compiled
 * CLI when build/ is newer than every source the demo runs (it starts a dozen edgelake processes,
 * and tsx costs about a second of CPU each on 2 cores), else through tsx from the sources.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, spawnNode, type CliChild } from './cli.ts';

/** The newest modification time of the `.ts` files below `dir`. */
function newestSource(dir: string): number {
  let newest = 0;
  for (const f of readdirSync(dir, { recursive: true }) as string[]) {
    if (f.endsWith('.ts')) newest = Math.max(newest, statSync(join(dir, f)).mtimeMs);
  }
  return newest;
}

/** `node build/cli/main.js` when the build is current, else `node --import tsx src/cli/main.ts`; and why. */
export function demoLauncher(): { argv: string[]; why: string } {
  const built = join(REPO_ROOT, 'build', 'cli', 'main.js');
  if (existsSync(built) && statSync(built).mtimeMs >= newestSource(join(REPO_ROOT, 'src'))) return { argv: [built], why: 'build/ is current' };
  return { argv: ['--import', 'tsx', 'src/cli/main.ts'], why: 'build/ is missing or older than src/ (npm run build makes it): running from sources' };
}

/** Starts `edgelake <args>` with the launcher above. */
export function spawnEdgelake(args: readonly string[], timeoutMs: number): CliChild {
  return spawnNode(demoLauncher().argv, args, { timeoutMs });
}
