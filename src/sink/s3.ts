/**
 * The S3 sink: the only code that talks to S3 (STYLE 10). One PutObject per finished object —
 * atomic in S3, and overwriting, so a replayed batch lands on the same keys — with bounded
 * parallelism and the retry policy of `s3-retry.ts`. Credentials come only from the SDK's
 * default chain (environment, profiles, roles) and never appear in `location` or in errors.
 */
import { crashPoint } from '../faults.ts';
import { createHash } from 'node:crypto';
import type * as S3Sdk from '@aws-sdk/client-s3';
import type { BucketLocationConstraint, S3Client } from '@aws-sdk/client-s3';
import { ConfigError, PipelineError } from '../errors.ts';
import { RetryExhausted, errorClassOf, redactSecrets, withRetry } from './s3-retry.ts';
import type { RetryEvent, RetryPolicy, S3Fault } from './s3-retry.ts';
import type { Sink, SinkObject, SinkObserver } from './types.ts';

/** Options of {@link S3Sink.create} and {@link createS3Client}. */
export interface S3SinkOptions {
  /** S3 endpoint URL, e.g. `http://127.0.0.1:4568`. Absent: the SDK's default (AWS_ENDPOINT_URL_S3, or AWS). Userinfo in it is dropped, never used. */
  endpoint?: string;
  /** AWS region used for signing and bucket creation, e.g. `us-west-2`. */
  region: string;
  /** Create missing buckets in prepare() instead of failing with S3_BUCKET_MISSING. */
  createBuckets: boolean;
  /** Path-style addressing (`endpoint/bucket/key`). Default: true when `endpoint` is given, else the SDK's (virtual-host) style. */
  forcePathStyle?: boolean;
  /** Tries per request including the first, our policy (the SDK's retries are off). Default 5. */
  maxAttempts?: number;
  /** PutObject requests in flight at once. Default 4. */
  concurrency?: number;
  /** Limit for one request and its response, ms; the connect phase gets min(this, 10 000). Default 30 000. */
  requestTimeoutMs?: number;
  /** Ceiling of the first retry's full-jitter delay, ms (doubles per retry). Default 200. */
  retryBaseMs?: number;
  /** Largest delay before any retry, ms. Default 10 000. */
  retryMaxDelayMs?: number;
  /** Told of every retry, for logs and metrics; a returned promise delays the next try until it settles. */
  onRetry?: (event: S3RetryEvent) => void | Promise<void>;
  /** Told of every try, retry, failure and durable object (the run's metrics). */
  observer?: SinkObserver;
}

/** One retry of one request, as reported to {@link S3SinkOptions.onRetry}. */
export interface S3RetryEvent extends RetryEvent {
  readonly operation: 'HeadBucket' | 'CreateBucket' | 'PutObject' | 'GetObject';
  readonly bucket: string;
  /** The object key, for PutObject. */
  readonly key?: string;
}

/** Counters of an {@link S3Sink} since it was created. */
export interface S3SinkStats {
  /** PutObject requests that succeeded. */
  readonly puts: number;
  /** Body bytes of those objects. */
  readonly bytes: number;
  /** Requests repeated by the retry policy (all operations). */
  readonly retries: number;
}

/** Defaults of every optional setting, in one place (STYLE 8). */
export const S3_SINK_DEFAULTS = {
  maxAttempts: 5,
  concurrency: 4,
  requestTimeoutMs: 30_000,
  connectTimeoutMaxMs: 10_000,
  retryBaseMs: 200,
  retryMaxDelayMs: 10_000,
} as const;

/**
 * An S3 client configured as the sink uses it: SDK retries off (our policy decides), checksums
 * only when required (s3rver stores aws-chunked framing verbatim otherwise), timeouts, keep-alive.
 * Tests use it to read back what the sink wrote.
 */
export async function createS3Client(opts: S3SinkOptions): Promise<S3Client> {
  return newClient(await loadS3Sdk(), opts);
}

let sdk: Promise<typeof S3Sdk> | null = null;

/** The AWS SDK, loaded on first use: a run writing to a lake folder never pays its ~23 MiB per thread. */
export function loadS3Sdk(): Promise<typeof S3Sdk> {
  return (sdk ??= import('@aws-sdk/client-s3'));
}

function newClient({ S3Client }: typeof S3Sdk, opts: S3SinkOptions): S3Client {
  const endpoint = opts.endpoint === undefined ? undefined : parseEndpoint(opts.endpoint);
  const requestTimeout = opts.requestTimeoutMs ?? S3_SINK_DEFAULTS.requestTimeoutMs;
  const agent = { keepAlive: true, maxSockets: Math.max(opts.concurrency ?? S3_SINK_DEFAULTS.concurrency, 1) };
  // Node 20 is supported here (the SDK is pinned to a release that runs on it), so its 9-line
  // NodeVersionSupportWarning says nothing to an operator; this variable is the switch the SDK
  // documents for it (aws-sdk-js-v3 #7983). Set to anything but "true", it is left alone.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return new S3Client({
    region: opts.region,
    ...(endpoint !== undefined ? { endpoint } : {}),
    forcePathStyle: opts.forcePathStyle ?? endpoint !== undefined,
    maxAttempts: 1,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: {
      requestTimeout,
      throwOnRequestTimeout: true,
      connectionTimeout: Math.min(requestTimeout, S3_SINK_DEFAULTS.connectTimeoutMaxMs),
      httpAgent: agent,
      httpsAgent: agent,
    },
  });
}

/** Writes finished objects to S3 with PutObject; see the module comment. */
export class S3Sink implements Sink {
  readonly kind = 's3';
  /** `<endpoint> (region <region>)`, credentials stripped. */
  readonly location: string;
  readonly #ready: Promise<{ sdk: typeof S3Sdk; client: S3Client }>;
  readonly #endpoint: string;
  readonly #opts: S3SinkOptions;
  readonly #concurrency: number;
  readonly #abort = new AbortController();
  #puts = 0;
  #bytes = 0;
  #retries = 0;

  private constructor(opts: S3SinkOptions) {
    this.#opts = opts;
    this.#endpoint = displayEndpoint(opts);
    this.location = `${this.#endpoint} (region ${opts.region})`;
    this.#concurrency = positiveInt('concurrency', opts.concurrency ?? S3_SINK_DEFAULTS.concurrency);
    positiveInt('maxAttempts', opts.maxAttempts ?? S3_SINK_DEFAULTS.maxAttempts);
    if (opts.endpoint !== undefined) parseEndpoint(opts.endpoint); // a bad endpoint is a ConfigError now, not at first use
    this.#ready = loadS3Sdk().then((sdk) => ({ sdk, client: newClient(sdk, opts) }));
    this.#ready.catch(() => {}); // surfaced by the first request
  }

  /** Builds a sink; throws ConfigError S3_ENDPOINT_INVALID for an endpoint that is not an http(s) URL. */
  static create(opts: S3SinkOptions): S3Sink {
    return new S3Sink(opts);
  }

  /** PutObject requests that succeeded. */
  get puts(): number {
    return this.#puts;
  }
  /** Body bytes written by successful PutObjects. */
  get bytes(): number {
    return this.#bytes;
  }
  /** Requests repeated by the retry policy. */
  get retries(): number {
    return this.#retries;
  }
  /** A snapshot of the three counters. */
  get stats(): S3SinkStats {
    return { puts: this.#puts, bytes: this.#bytes, retries: this.#retries };
  }

  /**
   * HeadBucket on each bucket. Missing: created when `createBuckets`, else ConfigError
   * S3_BUCKET_MISSING. 403: ConfigError S3_ACCESS_DENIED. No answer after the retries:
   * PipelineError S3_UNREACHABLE. Nothing is uploaded here.
   */
  async prepare(buckets: readonly string[]): Promise<void> {
    for (const bucket of new Set(buckets)) {
      try {
        await this.#send('HeadBucket', bucket, undefined, async () => {
          const { sdk, client } = await this.#ready;
          return client.send(new sdk.HeadBucketCommand({ Bucket: bucket }));
        });
        continue;
      } catch (err) {
        const fault = faultOf(err);
        if (fault.status !== 404 && fault.code !== 'NoSuchBucket') throw this.#prepareError(bucket, err);
      }
      if (!this.#opts.createBuckets) {
        throw new ConfigError(
          'S3_BUCKET_MISSING',
          `bucket "${bucket}" does not exist at ${this.location}; create it or pass --create-buckets`,
        );
      }
      await this.#createBucket(bucket);
    }
  }

  /**
   * Uploads every object, at most `concurrency` at a time; resolves when all are stored. On the
   * first failure no new uploads start, those in flight finish, and it rejects with a
   * PipelineError: S3_PUT_FAILED (retries used up), S3_ACCESS_DENIED, S3_BUCKET_MISSING or S3_CLOSED.
   */
  async put(objects: readonly SinkObject[]): Promise<void> {
    let next = 0;
    let failure: PipelineError | undefined;
    const worker = async (): Promise<void> => {
      while (failure === undefined && next < objects.length) {
        const object = objects[next++];
        try {
          await this.#putOne(object);
          crashPoint('object-written');
        } catch (err) {
          failure ??= this.#putError(object, err);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#concurrency, objects.length) }, worker));
    if (failure !== undefined) throw failure;
  }

  /** GetObject with the retry policy; null for NoSuchKey (404). */
  async get(bucket: string, key: string): Promise<Uint8Array | null> {
    try {
      return await this.#send('GetObject', bucket, key, async () => {
        const { sdk, client } = await this.#ready;
        const res = await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: this.#abort.signal });
        return res.Body ? await res.Body.transformToByteArray() : new Uint8Array(0);
      });
    } catch (err) {
      const fault = faultOf(err);
      if (fault.status === 404 || fault.code === 'NoSuchKey') return null;
      const target = `s3://${bucket}/${key}`;
      if (fault.status === 403) {
        return Promise.reject(
          new ConfigError('S3_ACCESS_DENIED', `GetObject ${target} at ${this.location} was denied (HTTP 403 ${fault.code}): the credentials lack s3:GetObject on bucket "${bucket}" (edgelake reads its node manifest back at start-up)`, { cause: causeOf(err) }),
        );
      }
      throw new PipelineError(
        fault.network ? 'S3_UNREACHABLE' : 'S3_GET_FAILED',
        `GetObject ${target} at ${this.location} failed: ${describe(err)}; nothing was uploaded and the checkpoint is unchanged`,
        { cause: causeOf(err) },
      );
    }
  }

  /** Stops pending retries and releases the client's sockets. */
  async close(): Promise<void> {
    this.#abort.abort();
    (await this.#ready.catch(() => null))?.client.destroy();
  }

  async #putOne(object: SinkObject): Promise<void> {
    const { bucket, key, body } = object;
    // Content-MD5 lets S3 reject a body damaged in transit instead of storing it.
    const md5 = createHash('md5').update(body).digest('base64');
    const { sdk, client } = await this.#ready;
    await this.#send('PutObject', bucket, key, () =>
      client.send(
        new sdk.PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: body,
          ContentLength: body.byteLength,
          ContentMD5: md5,
          // The object is a .jsonl.gz file, not a gzip-encoded transfer: no Content-Encoding, so readers get the gzip bytes.
          ContentType: key.endsWith('.parquet') ? 'application/vnd.apache.parquet' : 'application/x-ndjson',
        }),
        { abortSignal: this.#abort.signal },
      ),
    );
    this.#puts++;
    this.#bytes += body.byteLength;
    this.#opts.observer?.objectWritten(bucket, key, body.byteLength);
  }

  async #createBucket(bucket: string): Promise<void> {
    // Outside us-east-1, S3 requires the region as LocationConstraint.
    const config =
      this.#opts.region === 'us-east-1'
        ? undefined
        : { LocationConstraint: this.#opts.region as BucketLocationConstraint };
    try {
      const { sdk, client } = await this.#ready;
      await this.#send('CreateBucket', bucket, undefined, () => client.send(new sdk.CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: config })));
    } catch (err) {
      // Another node created it between our HeadBucket and CreateBucket: that is success.
      if (faultOf(err).code === 'BucketAlreadyOwnedByYou') return;
      if (faultOf(err).code === 'BucketAlreadyExists') {
        throw new ConfigError(
          'S3_BUCKET_TAKEN',
          `bucket "${bucket}" cannot be created at ${this.location}: the name belongs to another account; choose another --bucket-prefix`,
          { cause: causeOf(err) },
        );
      }
      throw this.#prepareError(bucket, err);
    }
  }

  #send<T>(operation: S3RetryEvent['operation'], bucket: string, key: string | undefined, attempt: () => Promise<T>): Promise<T> {
    const policy: RetryPolicy = {
      maxAttempts: this.#opts.maxAttempts ?? S3_SINK_DEFAULTS.maxAttempts,
      baseMs: this.#opts.retryBaseMs ?? S3_SINK_DEFAULTS.retryBaseMs,
      maxDelayMs: this.#opts.retryMaxDelayMs ?? S3_SINK_DEFAULTS.retryMaxDelayMs,
      signal: this.#abort.signal,
    };
    const obs = this.#opts.observer;
    const tried = obs
      ? () => {
          obs.uploadAttempted(operation);
          return attempt();
        }
      : attempt;
    const sent = withRetry(tried, policy, (event) => {
      this.#retries++;
      obs?.uploadRetried(operation, errorClassOf(event.fault));
      return this.#opts.onRetry?.({ ...event, operation, bucket, ...(key !== undefined ? { key } : {}) });
    });
    if (!obs) return sent;
    return sent.then(
      (v) => {
        obs.requestSucceeded(operation, bucket);
        return v;
      },
      (err: unknown) => {
        const fault = faultOf(err);
        const cls = this.#abort.signal.aborted ? 'closed' : errorClassOf(fault);
        // "No such bucket/key" answers HeadBucket and GetObject: S3 is reachable, the caller decides.
        if (cls === 'not_found' && operation !== 'PutObject') obs.requestSucceeded(operation, bucket);
        else obs.uploadFailed(operation, bucket, cls, `${operation} s3://${bucket}${key !== undefined ? `/${key}` : ''}: ${describe(err)}`);
        throw err;
      },
    );
  }

  #prepareError(bucket: string, err: unknown): Error {
    const fault = faultOf(err);
    const cause = causeOf(err);
    if (fault.status === 403) {
      return new ConfigError(
        'S3_ACCESS_DENIED',
        `access to bucket "${bucket}" at ${this.location} was denied (HTTP 403 ${fault.code}): the credentials from the AWS default chain (AWS_ACCESS_KEY_ID, profile or role) lack access to it`,
        { cause },
      );
    }
    if (fault.status === 301 || fault.code === 'PermanentRedirect') {
      return new ConfigError('S3_WRONG_REGION', `bucket "${bucket}" is not in region ${this.#opts.region}; pass its region with --region`, { cause });
    }
    if (fault.network) {
      return new PipelineError(
        'S3_UNREACHABLE',
        `cannot reach S3 at ${this.#endpoint} (${fault.code}); nothing was uploaded and the checkpoint is unchanged`,
        { cause },
      );
    }
    return new PipelineError(
      'S3_PREPARE_FAILED',
      `checking bucket "${bucket}" at ${this.location} failed: ${describe(err)}; nothing was uploaded and the checkpoint is unchanged`,
      { cause },
    );
  }

  #putError(object: SinkObject, err: unknown): PipelineError {
    const fault = faultOf(err);
    const target = `s3://${object.bucket}/${object.key}`;
    const cause = causeOf(err);
    const unchanged = 'the checkpoint is not advanced, so the batch is replayed onto the same keys';
    if (this.#abort.signal.aborted) {
      return new PipelineError('S3_CLOSED', `PutObject ${target} stopped: the S3 sink was closed; ${unchanged}`, { cause });
    }
    if (fault.status === 403) {
      return new PipelineError(
        'S3_ACCESS_DENIED',
        `PutObject ${target} at ${this.location} was denied (HTTP 403 ${fault.code}): the credentials from the AWS default chain lack s3:PutObject on bucket "${object.bucket}"; ${unchanged}`,
        { cause },
      );
    }
    if (fault.code === 'NoSuchBucket') {
      return new PipelineError(
        'S3_BUCKET_MISSING',
        `PutObject ${target} failed: bucket "${object.bucket}" does not exist at ${this.location}; create it or pass --create-buckets; ${unchanged}`,
        { cause },
      );
    }
    const tries = err instanceof RetryExhausted ? err.attempts : 1;
    return new PipelineError(
      'S3_PUT_FAILED',
      `PutObject ${target} at ${this.location} failed after ${tries} attempt${tries === 1 ? '' : 's'}: last error ${describe(err)}; ${unchanged}`,
      { cause },
    );
  }
}

function faultOf(err: unknown): S3Fault {
  if (err instanceof RetryExhausted) return err.fault;
  // Only RetryExhausted reaches here in practice; anything else is reported as an unknown fault.
  return { code: 'UnknownError', status: undefined, network: false, retryable: false, message: redactSecrets(String(err)) };
}

function describe(err: unknown): string {
  const f = faultOf(err);
  return `${f.code}${f.status !== undefined ? ` (HTTP ${f.status})` : ''}: ${f.message}`;
}

/**
 * The cause attached to our errors: a plain Error built from the classified fault, never the SDK's
 * exception, whose properties can echo request details such as the access key id.
 */
function causeOf(err: unknown): Error {
  const f = faultOf(err);
  return Object.assign(new Error(describe(err)), { code: f.code, ...(f.status !== undefined ? { status: f.status } : {}) });
}

/** The endpoint as shown to people: scheme, host, port and path, no userinfo, query or fragment. */
function displayEndpoint(opts: S3SinkOptions): string {
  const env = process.env;
  const [configured, source] =
    opts.endpoint !== undefined ? [opts.endpoint, 'S3 endpoint'] : env.AWS_ENDPOINT_URL_S3 ? [env.AWS_ENDPOINT_URL_S3, 'AWS_ENDPOINT_URL_S3'] : [env.AWS_ENDPOINT_URL, 'AWS_ENDPOINT_URL'];
  if (configured === undefined || configured === '') return `https://s3.${opts.region}.amazonaws.com`;
  return parseEndpoint(configured, source);
}

/** Validates an endpoint URL and returns it without userinfo (never passed to the SDK, never shown). */
function parseEndpoint(raw: string, source = 'S3 endpoint'): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    url = new URL('invalid:');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    const shown = redactSecrets(raw.replace(/\/\/[^/@]*@/, '//'));
    throw new ConfigError('S3_ENDPOINT_INVALID', `${source} "${shown}" is not an http(s) URL; expected e.g. http://127.0.0.1:9000`);
  }
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}

function positiveInt(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`S3 sink option ${name} must be an integer >= 1, got ${value}`);
  return value;
}
