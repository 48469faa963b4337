/**
 * Makes sure Debian's Chromium is there for the browser tests (`npm test` runs this first).
 * It never downloads a browser build: it installs the distribution's package with apt-get
 * when running as root, and otherwise says how to, and the browser tests skip.
 */
import { execFileSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';

export function chromiumPath(): string | null {
  for (const name of ['chromium', 'chromium-browser']) {
    try {
      const path = execFileSync('which', [name], { encoding: 'utf8' }).trim();
      if (path) return path;
    } catch {
      // not on PATH
    }
  }
  return null;
}

/** The flags the tests launch it with: headless, no sandbox (containers, root), no background traffic. */
export const chromiumArgs = ['--headless', '--no-sandbox', '--disable-background-networking'];

export function ensureChromium(
  log: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): string | null {
  const found = chromiumPath();
  if (found) return found;
  if (process.platform !== 'linux' || process.getuid?.() !== 0) {
    log(
      'browser tests: chromium is not installed and this is not root; they will be skipped (run: sudo apt-get install -y chromium)',
    );
    return null;
  }
  log('browser tests: installing Debian chromium with apt-get (once)...');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'], env });
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'chromium'], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env,
    });
  } catch (err) {
    log(
      `browser tests: apt-get could not install chromium (${(err as Error).message}); they will be skipped`,
    );
    return null;
  }
  return chromiumPath();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const path = ensureChromium();
  process.stderr.write(path ? `browser tests: chromium at ${path}\n` : '');
}
