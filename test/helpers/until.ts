/**
 * Waiting for an effect of a concurrent part (the alert router, a worker, a child process) instead
 * of sleeping a guessed time: the condition is polled until it holds or the deadline passes.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** Resolves with the first truthy value of `probe`; rejects naming `what` after `timeoutMs`. */
export async function until<T>(what: string, probe: () => T | undefined | false, timeoutMs = 10_000, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}
