/**
 * A real S3-protocol server (s3rver) on 127.0.0.1 for tests: a fresh temporary store, an
 * OS-chosen port, and stop/restart on that same port so tests can cut S3 away mid-run.
 * Objects can be read back through the SDK or straight from s3rver's on-disk store.
 */
import { createRequire } from 'node:module';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';

/** Access key id and secret s3rver expects; set them in the environment before creating a client. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

/** Environment for a CLI child talking to s3rver: its credentials, and nothing of the test machine's own AWS set-up. */
export const S3RVER_ENV = {
  AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
  AWS_REGION: undefined,
  AWS_PROFILE: undefined,
  AWS_ENDPOINT_URL: undefined,
  AWS_ENDPOINT_URL_S3: undefined,
  AWS_SESSION_TOKEN: undefined,
} as const;

/** The part of s3rver's API used here (the package ships no types). */
interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  httpServer?: Server;
}
type S3rverConstructor = new (options: {
  address: string;
  port: number;
  directory: string;
  silent: boolean;
  configureBuckets: { name: string }[];
}) => S3rverInstance;

// s3rver is CommonJS without declarations; load it through require so the import stays typed.
const S3rver = createRequire(import.meta.url)('s3rver') as S3rverConstructor;

// s3rver stores `<bucket>/<key dirs>/<last segment>._S3rver_object` (plus metadata and md5 files).
const OBJECT_SUFFIX = '._S3rver_object';

/** Options of {@link startS3Server}. */
export interface S3ServerOptions {
  /** Buckets created before the server accepts requests. Default: none. */
  buckets?: readonly string[];
}

/** A running (or stopped) s3rver and its store. */
export interface S3ServerHandle {
  /** `http://127.0.0.1:<port>`; stays valid across restart(). */
  readonly endpoint: string;
  /** TCP port chosen by the OS at first start and reused by restart(). */
  readonly port: number;
  /** The temporary store folder (removed by dispose()). */
  readonly dir: string;
  /** True while the server accepts connections. */
  readonly running: boolean;
  /** Stops listening and drops open connections (idempotent); the store is kept. */
  stop(): Promise<void>;
  /** Starts again on the same port with the same store (stops first if running). */
  restart(): Promise<void>;
  /** Stops the server and removes the store folder. */
  dispose(): Promise<void>;
  /** Path of the stored body of `bucket`/`key` in s3rver's store. */
  objectPath(bucket: string, key: string): string;
  /** The stored body of `bucket`/`key`, read from disk. */
  readObject(bucket: string, key: string): Promise<Buffer>;
  /** Every key in `bucket`, sorted, read from disk ([] when the bucket does not exist). */
  listKeys(bucket: string): Promise<string[]>;
}

/** Starts s3rver on 127.0.0.1 with port 0 in a fresh temporary directory. */
export async function startS3Server(options: S3ServerOptions = {}): Promise<S3ServerHandle> {
  const dir = await mkdtemp(path.join(tmpdir(), 'edgelake-s3rver-'));
  const buckets = (options.buckets ?? []).map((name) => ({ name }));
  let server: S3rverInstance | undefined;
  let port = 0;

  const start = async (): Promise<void> => {
    const instance = new S3rver({ address: '127.0.0.1', port, directory: dir, silent: true, configureBuckets: buckets });
    const address = await instance.run();
    port = address.port;
    server = instance;
  };
  const stop = async (): Promise<void> => {
    const instance = server;
    if (!instance) return;
    server = undefined;
    const closed = instance.close();
    // Keep-alive sockets would hold close() open and keep serving; cut them so "stopped" means unreachable.
    instance.httpServer?.closeAllConnections();
    await closed;
  };

  // stop/restart/dispose may be called from concurrent callbacks (one per failing request): run them one at a time.
  let queue: Promise<void> = Promise.resolve();
  const serialized = (op: () => Promise<void>): Promise<void> => {
    const run = queue.then(op);
    queue = run.catch(() => undefined);
    return run;
  };

  await start();
  const objectPath = (bucket: string, key: string): string => path.join(dir, bucket, ...key.split('/')) + OBJECT_SUFFIX;

  return {
    get endpoint() {
      return `http://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    dir,
    get running() {
      return server !== undefined;
    },
    stop: () => serialized(stop),
    restart: () =>
      serialized(async () => {
        await stop();
        await start();
      }),
    dispose: () =>
      serialized(async () => {
        await stop();
        await rm(dir, { recursive: true, force: true });
      }),
    objectPath,
    readObject: (bucket, key) => readFile(objectPath(bucket, key)),
    async listKeys(bucket) {
      const root = path.join(dir, bucket);
      let entries: string[];
      try {
        entries = await readdir(root, { recursive: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw err;
      }
      return entries
        .filter((p) => p.endsWith(OBJECT_SUFFIX))
        .map((p) => p.slice(0, -OBJECT_SUFFIX.length).split(path.sep).join('/'))
        .sort();
    },
  };
}
