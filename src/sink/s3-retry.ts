/**
 * The S3 sink's retry policy, kept apart from the sink so it can be read (and reviewed) as one
 * explicit list. The SDK's own retries are switched off (`maxAttempts: 1` on the client): every
 * retry edgelake makes is decided here, counted, and reported.
 *
 * Retryable — the same request may succeed later, and repeating it is safe because PutObject of a
 * deterministic key overwrites and HeadBucket/CreateBucket are idempotent:
 * - network faults: ECONNREFUSED, ECONNRESET, ETIMEDOUT, EPIPE, ECONNABORTED, EHOSTUNREACH,
 *   ENETUNREACH, ENETDOWN, EAI_AGAIN, ENOTFOUND, "socket hang up", and the SDK's TimeoutError
 *   (connect or request timeout);
 * - HTTP 500, 502, 503, 504 and 429;
 * - S3 error codes SlowDown, RequestTimeout (HTTP 400 when an upload stalls), InternalError,
 *   ServiceUnavailable, Throttling, ThrottlingException, TooManyRequestsException,
 *   RequestTimeTooSkewed (clock drift; the SDK corrects its offset from the response).
 *
 * Everything else (403 AccessDenied, 404 NoSuchBucket, other 4xx) fails at once.
 * Delay before retry n (1-based): full jitter, `random() * min(maxDelayMs, baseMs * 2^(n-1))`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { redact } from '../redact.ts';
import type { SinkErrorClass } from './types.ts';

/** Node/libuv error codes treated as transient network faults. */
export const RETRYABLE_NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ECONNABORTED', 'EHOSTUNREACH',
  'ENETUNREACH', 'ENETDOWN', 'EAI_AGAIN', 'ENOTFOUND',
]);

/** HTTP statuses retried whatever the S3 error code. */
export const RETRYABLE_HTTP_STATUSES: ReadonlySet<number> = new Set([429, 500, 502, 503, 504]);

/** S3 error codes retried whatever the HTTP status. */
export const RETRYABLE_S3_CODES: ReadonlySet<string> = new Set([
  'SlowDown', 'RequestTimeout', 'InternalError', 'ServiceUnavailable', 'Throttling',
  'ThrottlingException', 'TooManyRequestsException', 'RequestTimeTooSkewed',
]);

/** What went wrong with one S3 request, reduced to the fields the policy and messages need. */
export interface S3Fault {
  /** The network code (`ECONNREFUSED`), S3 code (`NoSuchBucket`) or error name; never empty. */
  readonly code: string;
  /** HTTP status when S3 answered; undefined for network faults. */
  readonly status: number | undefined;
  /** True when no HTTP answer came back (refused, reset, DNS, timeout). */
  readonly network: boolean;
  /** True when the policy above retries it. */
  readonly retryable: boolean;
  /** The fault's message with anything that looks like a credential removed. */
  readonly message: string;
}

interface ErrorShape {
  name?: unknown;
  code?: unknown;
  Code?: unknown;
  message?: unknown;
  errors?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

/** Reduces an error thrown by the SDK (or by node:http under it) to an {@link S3Fault}. */
export function classifyS3Error(err: unknown): S3Fault {
  const e: ErrorShape = typeof err === 'object' && err !== null ? (err as ErrorShape) : { message: String(err) };
  const status = typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined;
  const message = redactSecrets(typeof e.message === 'string' ? e.message : String(err));
  // Node 20's happy-eyeballs connect reports an AggregateError whose members carry the code.
  const inner = Array.isArray(e.errors) ? (e.errors[0] as ErrorShape | undefined) : undefined;
  const sysCode = [e.code, inner?.code].find((c): c is string => typeof c === 'string' && /^E[A-Z_]+$/.test(c));

  if (status === undefined) {
    const hangUp = /socket hang up/i.test(message);
    const timeout = e.name === 'TimeoutError';
    const code = sysCode ?? (hangUp ? 'ECONNRESET' : timeout ? 'ETIMEDOUT' : undefined);
    if (code !== undefined) {
      return { code, status, network: true, retryable: RETRYABLE_NETWORK_CODES.has(code) || hangUp || timeout, message };
    }
  }
  const s3Code = [e.Code, e.code, e.name].find((c): c is string => typeof c === 'string' && c !== '' && c !== 'Error');
  const code = s3Code ?? (status !== undefined ? `HTTP${status}` : 'UnknownError');
  const retryable = (status !== undefined && RETRYABLE_HTTP_STATUSES.has(status)) || RETRYABLE_S3_CODES.has(code);
  return { code, status, network: false, retryable, message };
}

/** S3 codes of a service pushing back (HTTP 429 is one too). */
const THROTTLED_S3_CODES: ReadonlySet<string> = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'TooManyRequestsException']);

/** The few-word class of a fault, for metrics labels (see {@link SinkErrorClass}). */
export function errorClassOf(fault: S3Fault): SinkErrorClass {
  if (fault.network) return fault.code === 'ETIMEDOUT' ? 'timeout' : 'network';
  if (fault.status === 429 || THROTTLED_S3_CODES.has(fault.code)) return 'throttled';
  if (fault.code === 'RequestTimeout') return 'timeout';
  if (fault.code === 'RequestTimeTooSkewed') return 'clock_skew';
  if ((fault.status !== undefined && fault.status >= 500) || fault.code === 'InternalError' || fault.code === 'ServiceUnavailable') return 'server';
  if (fault.status === 403) return 'access_denied';
  if (fault.status === 404 || fault.code === 'NoSuchBucket' || fault.code === 'NoSuchKey') return 'not_found';
  if (fault.status !== undefined && fault.status >= 400) return 'client';
  return 'other';
}

/** Error texts may echo request details: everything secret is removed by the one redactor (src/redact.ts). */
export const redactSecrets = redact;

/** Backoff settings of {@link withRetry}. */
export interface RetryPolicy {
  /** Total tries including the first, >= 1. */
  readonly maxAttempts: number;
  /** Ceiling of the first retry's delay, ms. */
  readonly baseMs: number;
  /** Largest delay before any retry, ms. */
  readonly maxDelayMs: number;
  /** Aborts pending backoff sleeps (the sink's close()). */
  readonly signal?: AbortSignal;
}

/** Passed to the retry observer before each backoff sleep. */
export interface RetryEvent {
  /** The try that just failed, 1-based. */
  readonly attempt: number;
  /** Sleep before the next try, ms. */
  readonly delayMs: number;
  readonly fault: S3Fault;
}

/** Full-jitter delay before retry `retry` (1-based), ms: uniform in [0, min(maxDelayMs, baseMs * 2^(retry-1))). */
export function backoffDelayMs(retry: number, baseMs: number, maxDelayMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxDelayMs, baseMs * 2 ** Math.max(0, retry - 1));
  return Math.floor(random() * ceiling);
}

/** Thrown by {@link withRetry} when it gives up; carries the last fault and how many tries were made. */
export class RetryExhausted extends Error {
  override readonly name = 'RetryExhausted';
  constructor(
    readonly fault: S3Fault,
    readonly attempts: number,
  ) {
    super(`${fault.code}${fault.status !== undefined ? ` (HTTP ${fault.status})` : ''}: ${fault.message}`);
  }
}

/**
 * Runs `attempt` until it resolves, a non-retryable fault occurs, or `maxAttempts` tries are used;
 * then rejects with {@link RetryExhausted}. `onRetry` runs before each sleep; when it returns a
 * promise the next try also waits for it (a caller may pause retries, e.g. a test restarting S3).
 */
export async function withRetry<T>(
  attempt: () => Promise<T>,
  policy: RetryPolicy,
  onRetry?: (event: RetryEvent) => void | Promise<void>,
): Promise<T> {
  for (let tryNo = 1; ; tryNo++) {
    try {
      return await attempt();
    } catch (err) {
      const fault = classifyS3Error(err);
      if (!fault.retryable || tryNo >= policy.maxAttempts || policy.signal?.aborted) throw new RetryExhausted(fault, tryNo);
      const delayMs = backoffDelayMs(tryNo, policy.baseMs, policy.maxDelayMs);
      await Promise.all([onRetry?.({ attempt: tryNo, delayMs, fault }), sleepUnlessAborted(delayMs, policy.signal)]);
      if (policy.signal?.aborted) throw new RetryExhausted(fault, tryNo);
    }
  }
}

async function sleepUnlessAborted(ms: number, signal: AbortSignal | undefined): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch {
    // Aborted: the caller checks the signal and stops retrying.
  }
}
