/**
 * Errors across the thread boundary. A worker's error reaches the main thread as a structured
 * clone, which keeps the message but not the class or the `code`, and the run tells a runtime
 * fault (PipelineError: retried when following; SOURCE_FILE_REPLACED: stop) from a configuration
 * one (ConfigError: exit 2) by exactly those. So a task's error crosses as plain data
 * ({@link failureOf}, in the worker: thread.ts) and is made an error of its class again
 * ({@link errorOf}, on the main thread: worker-pool.ts).
 */
import { ConfigError, PipelineError } from '../errors.ts';

/** A task's error as data. */
export interface TaskFailure {
  readonly failed: { readonly kind: 'pipeline' | 'config' | 'other'; readonly code: string; readonly message: string };
}

/** The failure of `err` as data. */
export function failureOf(err: unknown): TaskFailure {
  const kind = err instanceof PipelineError ? 'pipeline' : err instanceof ConfigError ? 'config' : 'other';
  const code = typeof (err as { code?: unknown } | null)?.code === 'string' ? (err as { code: string }).code : 'WORKER_FAILED';
  return { failed: { kind, code, message: err instanceof Error ? err.message : String(err) } };
}

/** True for what {@link failureOf} makes (after its clone). */
export function isTaskFailure(x: unknown): x is TaskFailure {
  const f = (x as { failed?: unknown } | null)?.failed as Record<string, unknown> | undefined;
  return typeof f === 'object' && f !== null && typeof f.kind === 'string' && typeof f.code === 'string' && typeof f.message === 'string';
}

/** The error a {@link TaskFailure} stands for, of its original class. */
export function errorOf(f: TaskFailure['failed']): Error {
  if (f.kind === 'pipeline') return new PipelineError(f.code, f.message);
  if (f.kind === 'config') return new ConfigError(f.code, f.message);
  return new Error(`a worker failed: ${f.message}`);
}
