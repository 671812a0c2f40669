/**
 * A fresh temporary directory per test, removed when the test ends (STYLE 21).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

/**
 * Creates `/tmp/<prefix>XXXXXX` and registers its removal with `t.after`, so every test starts
 * empty and leaves nothing behind (even when it fails).
 */
export function tempDir(t: TestContext, prefix = 'edgelake-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
