/**
 * The two error kinds edgelake raises on purpose. The CLI maps them to exit codes:
 * ConfigError → 2 (the user must change something), PipelineError → 1 (a runtime fault;
 * the message says what failed, and the checkpoint guarantees nothing was lost).
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export class PipelineError extends Error {
  override readonly name = 'PipelineError';
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** The message of any thrown value, for logs. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
