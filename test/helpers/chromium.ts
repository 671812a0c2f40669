/**
 * Headless Debian Chromium for report tests: the DOM after load (`--dump-dom`) and PNG
 * screenshots of a local HTML file, each run with a fresh profile and every background network
 * feature off, so a page that needed the network would render broken instead of fetching.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Where Debian's `chromium` package installs the browser. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** True when the browser is installed (CI installs it; tests skip with a message otherwise). */
export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM_PATH);
}

const BASE_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--hide-scrollbars',
];

function runChromium(args: readonly string[], timeoutMs: number): Promise<string> {
  const profile = mkdtempSync(join(tmpdir(), 'edgelake-chromium-'));
  return new Promise<string>((resolve, reject) => {
    execFile(
      CHROMIUM_PATH,
      [...BASE_FLAGS, `--user-data-dir=${profile}`, ...args],
      { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        rmSync(profile, { recursive: true, force: true });
        if (err) reject(new Error(`chromium ${args.join(' ')} failed: ${err.message}\n${stderr.slice(-2000)}`));
        else resolve(stdout);
      },
    );
  });
}

/** A local file as a file:// URL; an http(s):// URL (a served page) as it is. */
const target = (fileOrUrl: string) => (/^https?:\/\//.test(fileOrUrl) ? fileOrUrl : pathToFileURL(fileOrUrl).href);

/** The serialised DOM of `htmlFile` (or an http:// URL) after it loaded (scripts, if any, have run). */
export function dumpDom(htmlFile: string, timeoutMs = 30_000): Promise<string> {
  return runChromium(['--dump-dom', target(htmlFile)], timeoutMs);
}

/** Writes a PNG screenshot of `htmlFile` (or an http:// URL) at `width` × `height` CSS px to `pngFile`. */
export async function screenshot(htmlFile: string, pngFile: string, width = 1280, height = 2400, timeoutMs = 30_000): Promise<void> {
  await runChromium([`--screenshot=${pngFile}`, `--window-size=${width},${height}`, target(htmlFile)], timeoutMs);
  if (!existsSync(pngFile)) throw new Error(`chromium wrote no screenshot at ${pngFile}`);
}
