/**
 * How the benches start a build's CLI: `node <that build's NODE_FLAGS> build/cli/main.js`, as
 * `npx edgelake`, the Dockerfile and the Bacalhau jobs launch it (src/cli/node-flags.ts), so a
 * bench measures what an operator runs. A build from before the flags existed runs without any.
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
