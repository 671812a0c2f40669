/**
 * Child processes of the fleet harness: how the `edgelake` CLI is launched (the compiled build
 * or tsx), spawning with output kept, knowing when a run is past start-up, and reading a node's
 * progress from its state tables (read-only). Drives edgelake only from outside: imports nothing of src/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';

/** The repository root (cwd of every child). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** How the `edgelake` CLI is started: the compiled build (fast start) or the sources through tsx. */
export interface Launcher {
  readonly argv: readonly string[];
  readonly mode: 'build' | 'tsx';
  /** Why this mode was chosen, for the log. */
  readonly why: string;
}

/**
 * The compiled CLI (`build/cli/main.js`, made by `npm run build`, which `npm test` runs first)
 * when it exists — it starts in ~0.2 s of CPU where tsx takes ~1 s, which matters with dozens of
 * processes on 2 cores — else `node --import tsx src/cli/main.ts`. `EDGELAKE_FLEET_CLI=tsx|build`
 * forces one. A build older than src/ is used all the same, with a warning in `why`.
 */
export function edgelakeLauncher(): Launcher {
  const built = join(REPO_ROOT, 'build/cli/main.js');
  const tsx: Launcher = { argv: ['--import', 'tsx', 'src/cli/main.ts'], mode: 'tsx', why: '' };
  const forced = process.env.EDGELAKE_FLEET_CLI;
  if (forced === 'tsx') return { ...tsx, why: 'EDGELAKE_FLEET_CLI=tsx' };
  if (!existsSync(built)) return { ...tsx, why: 'build/cli/main.js is missing (npm run build makes it)' };
  const builtMs = statSync(built).mtimeMs;
  const newer = (readdirSync(join(REPO_ROOT, 'src'), { recursive: true }) as string[]).find(
    (f) => f.endsWith('.ts') && statSync(join(REPO_ROOT, 'src', f)).mtimeMs > builtMs,
  );
  const why = forced === 'build' ? 'EDGELAKE_FLEET_CLI=build' : 'build/cli/main.js exists';
  return { argv: [built], mode: 'build', why: newer ? `${why}; WARNING: src/${newer} is newer than build/ — run npm run build` : why };
}

/**
 * Resolves true once process `pid` holds `file` open (Linux /proc), i.e. `edgelake run` got past
 * its start-up — it installs its SIGTERM handler before opening the database, so a SIGTERM from
 * then on means "finish and exit 0" rather than the default death by signal. False when the
 * process ends first or `timeoutMs` passes; true at once where /proc is not available.
 */
export async function holdsOpen(proc: Proc, file: string, timeoutMs = 60_000): Promise<boolean> {
  const pid = proc.child.pid;
  if (pid === undefined || !existsSync('/proc/self/fd')) return true;
  const target = resolve(file);
  const deadline = Date.now() + timeoutMs;
  while (proc.child.exitCode === null && proc.child.signalCode === null && Date.now() < deadline) {
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        try {
          if (readlinkSync(`/proc/${pid}/fd/${fd}`) === target) return true;
        } catch {
          // The descriptor closed while listing.
        }
      }
    } catch {
      return false; // gone
    }
    await sleep(50);
  }
  return false;
}

/** A finished child process. */
export interface ProcResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
}

/** A running child process with its stderr kept (stdout too, appended). */
export interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  readonly exited: Promise<ProcResult>;
  output(): string;
}

/**
 * Spawns `node <argv>` in the repository root; output is kept in memory, never inherited. With
 * `host`, the process runs under that host name in a UTS namespace of its own (`unshare --uts`,
 * root only), as a container restarted under a new name would; `exec` keeps signals reaching node.
 */
export function spawnNode(name: string, argv: readonly string[], env: Readonly<Record<string, string | undefined>> = {}, host?: string): Proc {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, NODE_NO_WARNINGS: '1' };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete childEnv[k];
    else childEnv[k] = v;
  }
  const [cmd, args] = host ? ['unshare', ['--uts', 'sh', '-c', 'hostname "$0" && exec "$@"', host, process.execPath, ...argv]] : [process.execPath, argv];
  const child = spawn(cmd, args, { cwd: REPO_ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<ProcResult>((resolve) => {
    child.on('error', (err) => resolve({ code: -1, signal: null, stderr: `${out}\nspawn failed: ${err.message}` }));
    child.on('close', (code, signal) => resolve({ code, signal, stderr: out }));
  });
  return { name, child, exited, output: () => out };
}

/** The S3 environment of s3rver's fixed credentials, with the machine's own AWS set-up removed. */
export function s3Env(accessKeyId: string, secretAccessKey: string): Record<string, string | undefined> {
  return {
    AWS_ACCESS_KEY_ID: accessKeyId,
    AWS_SECRET_ACCESS_KEY: secretAccessKey,
    AWS_REGION: undefined,
    AWS_PROFILE: undefined,
    AWS_ENDPOINT_URL: undefined,
    AWS_ENDPOINT_URL_S3: undefined,
    AWS_SESSION_TOKEN: undefined,
  };
}

/** `last_id` and pending state of the live checkpoint, and max(id), read-only. */
export function progressOf(db: string): { lastId: number; pending: boolean; maxId: number } {
  const h = new Database(db, { readonly: true, fileMustExist: true });
  try {
    h.pragma('busy_timeout = 5000');
    const maxId = (h.prepare('SELECT max(id) AS m FROM sensor_readings').get() as { m: number | null }).m ?? 0;
    let cp: { last_id: number; pending: string | null } | undefined;
    try {
      cp = h.prepare("SELECT last_id, pending FROM edgelake_checkpoints WHERE cursor = 'live'").get() as typeof cp;
    } catch (err) {
      if (!/no such table/.test((err as Error).message)) throw err;
    }
    return { lastId: cp?.last_id ?? 0, pending: Boolean(cp?.pending), maxId };
  } finally {
    h.close();
  }
}

/** True when the live checkpoint of `db` carries stage state (open aggregated windows). */
export function carriesStageState(db: string): boolean {
  const h = new Database(db, { readonly: true, fileMustExist: true });
  try {
    h.pragma('busy_timeout = 5000');
    const row = h.prepare("SELECT stage_state FROM edgelake_checkpoints WHERE cursor = 'live'").get() as { stage_state: string | null } | undefined;
    return Boolean(row?.stage_state);
  } finally {
    h.close();
  }
}
