/**
 * Installs Schemathesis, the OpenAPI fuzzer test/integration/openapi-fuzz.test.ts runs, into a
 * virtual environment under ~/.cache/jetsaga (once; `npm test` runs this first). From PyPI, at a
 * pinned version; without python3 it says so and that test skips.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { cacheBinDir } from '../../runtime/dev/cache.ts';

export const schemathesisVersion = '4.32.5';

// A virtual environment is not relocatable (its scripts name their interpreter by absolute path), so
// it is built in place, and a marker written after pip succeeded tells a whole one from a broken one.
const venv = join(cacheBinDir(), '..', `schemathesis-${schemathesisVersion}`);
const marker = join(venv, '.installed');

/** The `st` command of the installed Schemathesis, or null when it is not installed. */
export function schemathesisPath(): string | null {
  return existsSync(marker) ? join(venv, 'bin', 'st') : null;
}

export function ensureSchemathesis(
  log: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): string | null {
  const found = schemathesisPath();
  if (found) return found;
  log(`api fuzzing: installing Schemathesis ${schemathesisVersion} into ${venv} (once)...`);
  try {
    rmSync(venv, { recursive: true, force: true });
    execFileSync('python3', ['-m', 'venv', venv], { stdio: ['ignore', 'ignore', 'inherit'] });
    execFileSync(
      join(venv, 'bin', 'pip'),
      ['install', '--quiet', '--disable-pip-version-check', `schemathesis==${schemathesisVersion}`],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    writeFileSync(marker, `${schemathesisVersion}\n`);
  } catch (err) {
    log(`api fuzzing: could not install Schemathesis (${(err as Error).message}); that test will be skipped`);
    return null;
  }
  return schemathesisPath();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const path = ensureSchemathesis();
  process.stderr.write(path ? `api fuzzing: Schemathesis at ${path}\n` : '');
}
