import { readFileSync } from 'node:fs';

let cached: string | undefined;

/**
 * The pipeline version stamped on every record: the package version, plus `+<commit>` when
 * the code runs from a git checkout (read from .git without spawning git).
 */
export function pipelineVersion(): string {
  if (cached) return cached;
  const root = new URL('../../', import.meta.url);
  let version = '0.0.0';
  try {
    version = (JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { version: string }).version;
  } catch {
    // Packaged without package.json beside: keep the placeholder.
  }
  cached = version + gitSuffix(root);
  return cached;
}

function gitSuffix(root: URL): string {
  try {
    const head = readFileSync(new URL('.git/HEAD', root), 'utf8').trim();
    if (!head.startsWith('ref: ')) return '+' + head.slice(0, 7);
    const ref = head.slice(5);
    try {
      return '+' + readFileSync(new URL('.git/' + ref, root), 'utf8').trim().slice(0, 7);
    } catch {
      const packed = readFileSync(new URL('.git/packed-refs', root), 'utf8');
      const line = packed.split('\n').find((l) => l.endsWith(' ' + ref));
      return line ? '+' + line.slice(0, 7) : '';
    }
  } catch {
    return '';
  }
}
