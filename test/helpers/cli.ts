/**
 * Runs the real `edgelake` CLI as a child process (cwd at the repository root), the way an
 * operator or a Bacalhau job does: the compiled `node build/cli/main.js` when build/ is newer than
 * every source (npm test builds first; a start costs a third of tsx's second of CPU, and the
 * suite starts the CLI hundreds of times), else `node --import tsx src/cli/main.ts`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (the CLI's cwd). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** What a finished CLI process left: exit code (null if killed), signal, and its output. */
export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of {@link runCli} and {@link spawnCli}. */
export interface CliOptions {
  /** Extra environment variables (merged over the test's environment). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Kill the child (SIGKILL) after this many ms and reject. Default 60 000. */
  readonly timeoutMs?: number;
}

/** A running CLI child: the process, its output so far, and a promise of its end. */
export interface CliChild {
  readonly child: ChildProcess;
  /** Everything written to stdout so far. */
  stdout(): string;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Resolves when the process has exited and its pipes are closed. */
  readonly exited: Promise<CliResult>;
}

/** Starts `edgelake <args>` without waiting for it (for follow mode and kill tests). */
export function spawnCli(args: readonly string[], opts: CliOptions = {}): CliChild {
  return spawnNode(cliLauncher().argv, args, opts);
}

let launcher: { argv: string[]; why: string } | undefined;

/** How the CLI is started (decided once per test process), and why. */
export function cliLauncher(): { argv: string[]; why: string } {
  if (launcher) return launcher;
  const built = join(REPO_ROOT, 'build', 'cli', 'main.js');
  const current = existsSync(built) && statSync(built).mtimeMs >= newestSource(join(REPO_ROOT, 'src'));
  launcher = current
    ? { argv: [built], why: 'build/ is current' }
    : { argv: ['--import', 'tsx', 'src/cli/main.ts'], why: 'build/ is missing or older than src/ (npm run build makes it): running from sources' };
  return launcher;
}

/** The newest modification time of the `.ts` files below `dir`. */
function newestSource(dir: string): number {
  let newest = 0;
  for (const f of readdirSync(dir, { recursive: true }) as string[]) {
    if (f.endsWith('.ts')) newest = Math.max(newest, statSync(join(dir, f)).mtimeMs);
  }
  return newest;
}

/**
 * Starts `node <entry…> <args>` in the repository root with the test's environment (plus
 * `opts.env`), collecting its output; SIGKILLs it and rejects after `opts.timeoutMs`.
 * `entry` is how the CLI is reached: from sources under tsx, or the compiled build.
 */
export function spawnNode(entry: readonly string[], args: readonly string[], opts: CliOptions = {}): CliChild {
  const child = spawn(process.execPath, [...entry, ...args], {
    cwd: REPO_ROOT,
    env: childEnv(opts.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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

/** The test's environment with `extra` merged over it; an `undefined` value removes a variable. */
function childEnv(extra: CliOptions['env'] = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_NO_WARNINGS: '1' };
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** Runs `edgelake <args>` to completion and returns its exit code and output. */
export function runCli(args: readonly string[], opts: CliOptions = {}): Promise<CliResult> {
  return spawnCli(args, opts).exited;
}

/** Asserts-friendly one-line description of a result, for failure messages. */
export function describeResult(r: CliResult): string {
  return `exit ${r.code}${r.signal ? ` (${r.signal})` : ''}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}
