/**
 * Runs `edgelake demo` as a child process for the demo and dashboard tests, the way every test
 * starts the CLI (test/helpers/cli.ts): compiled when build/ is current, else from the sources.
 */
import { cliLauncher, spawnNode, type CliChild } from './cli.ts';

/** How `edgelake demo` is started, and why (see cliLauncher). */
export const demoLauncher = cliLauncher;

/** Starts `edgelake <args>` with the launcher above. */
export function spawnEdgelake(args: readonly string[], timeoutMs: number): CliChild {
  return spawnNode(cliLauncher().argv, args, { timeoutMs });
}
