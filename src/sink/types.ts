/** One finished object: a bucket, a deterministic key and its complete (already compressed) body. */
export interface SinkObject {
  readonly bucket: string;
  readonly key: string;
  readonly body: Uint8Array;
  /** Records in the object, for metrics. */
  readonly records: number;
}

/**
 * Where finished objects go: a local lake folder or S3. A sink must make an object appear
 * atomically (a reader never sees a partial one) and must overwrite an existing key, so a
 * replayed batch replaces rather than duplicates.
 */
export interface Sink {
  /** 'lake' or 's3', for logs and metrics. */
  readonly kind: 'lake' | 's3';
  /** Human-readable destination (folder or endpoint), never containing credentials. */
  readonly location: string;
  /** Checks that the buckets exist and are writable (creating them if configured); named, actionable errors otherwise. */
  prepare(buckets: readonly string[]): Promise<void>;
  /** Writes every object durably; resolves only when all are durable, rejects with a PipelineError otherwise. */
  put(objects: readonly SinkObject[]): Promise<void>;
  /** Reads one object back (the node's manifest at start-up); null when it does not exist, a PipelineError when it cannot be read. */
  get(bucket: string, key: string): Promise<Uint8Array | null>;
  close(): Promise<void>;
}

/** How long a stop request (SIGTERM) waits for uploads in flight before the sink is closed under them, ms. */
export const STOP_GRACE_MS = 5_000;
