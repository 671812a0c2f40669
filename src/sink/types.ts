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

/**
 * Default of `run --stop-grace`, ms: after a stop request (SIGINT/SIGTERM) the batch in flight and
 * the alert deliveries get this long; then the sink is closed under the uploads still running
 * (their batch stays pending) and webhook POSTs in flight are abandoned (the alerts stay queued).
 */
export const STOP_GRACE_MS = 5_000;

/** A request a sink makes: S3's operations; a lake folder's object writes and reads count as PutObject and GetObject. */
export type SinkOperation = 'HeadBucket' | 'CreateBucket' | 'PutObject' | 'GetObject';

/**
 * Why a sink request failed, in few words (metrics labels must stay few): no answer (`network`,
 * `timeout`), the service pushing back (`throttled`, `server`), a refusal (`access_denied`,
 * `not_found`, `client`, `clock_skew`), the sink closed by a stop (`closed`), a lake folder's
 * disk (`disk_full`, `io`), or `other`.
 */
export type SinkErrorClass = 'network' | 'timeout' | 'throttled' | 'server' | 'access_denied' | 'not_found' | 'client' | 'clock_skew' | 'closed' | 'disk_full' | 'io' | 'other';

/**
 * Told of every request a sink makes (src/ops/metrics.ts implements it). A request is attempted
 * one or more times; it then either succeeded (an answer that it is absent counts: S3 answered)
 * or failed for good, after the retries of its policy.
 */
export interface SinkObserver {
  /** One try of a request is starting. */
  uploadAttempted(op: SinkOperation): void;
  /** A try failed and the request is tried again. */
  uploadRetried(op: SinkOperation, errorClass: SinkErrorClass): void;
  /** The request failed for good; `detail` names the target and the fault, redacted, for health checks. */
  uploadFailed(op: SinkOperation, bucket: string, errorClass: SinkErrorClass, detail: string): void;
  /** The request got its answer: the bucket is reachable. */
  requestSucceeded(op: SinkOperation, bucket: string): void;
  /** An object is durable in its bucket. */
  objectWritten(bucket: string, key: string, bytes: number): void;
}
