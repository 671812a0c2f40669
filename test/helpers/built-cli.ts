/**
 * Runs the compiled `edgelake` CLI (`node build/cli/main.js …`, produced by `npm run build`,
 * which `npm test` runs first). Tests that start the CLI dozens of times (kill chains) use it
 * instead of {@link spawnCli}: without tsx a start costs about half as much.
 */
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, type CliChild, type CliOptions, type CliResult } from './cli.ts';

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
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_NO_WARNINGS: '1' };
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const child = spawn(process.execPath, [BUILT_CLI, ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const exited = new Promise<CliResult>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`edgelake ${args.join(' ')} did not finish within ${timeoutMs} ms; stderr:\n${err}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: out, stderr: err });
    });
  });
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Runs `node build/cli/main.js <args>` to completion. */
export function runBuilt(args: readonly string[], opts: CliOptions = {}): Promise<CliResult> {
  return spawnBuilt(args, opts).exited;
}
