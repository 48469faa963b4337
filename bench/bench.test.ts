// SLOW TEST (about 1 to 2 minutes): runs the benchmark harness, `npm run bench -- --quick`, as a child
// against the test run's servers, to keep the harness working in CI. It checks the run, never a timing
// (figures depend on the machine and on what else runs on it): the bench exits 0, and its last line
// has the keys of the reference result (bench/results/latest.json) with a value for every figure.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The last line's keys, in order, as the reference run wrote them. */
const referenceKeys = Object.keys(
  (
    JSON.parse(readFileSync(path.join(root, 'bench/results/latest.json'), 'utf8')) as {
      summary: Record<string, unknown>;
    }
  ).summary,
);

/**
 * What is wrong with a finished quick run: a non-zero exit, a last line that is not the summary (other
 * keys, or not JSON), or a figure without a value. A quick run produces every figure, so a null is a
 * step that failed (the bench's notes say which).
 */
function problemsOf(run: { code: number | null; signal: string | null; stdout: string }): string[] {
  const problems: string[] = [];
  if (run.code !== 0)
    problems.push(`exited with ${run.signal ? `signal ${run.signal}` : `code ${run.code}`}`);
  const last = run.stdout.trimEnd().split('\n').at(-1) ?? '';
  let summary: Record<string, unknown>;
  try {
    summary = JSON.parse(last) as Record<string, unknown>;
  } catch {
    return [...problems, `last line is not JSON: ${last}`];
  }
  const keys = Object.keys(summary);
  if (keys.join() !== referenceKeys.join())
    problems.push(`keys ${keys.join(', ')} are not the reference's ${referenceKeys.join(', ')}`);
  for (const key of referenceKeys) {
    const v = summary[key];
    const ok =
      key === 'mix'
        ? typeof v === 'string'
        : key === 'quick'
          ? v === true
          : typeof v === 'number' && Number.isFinite(v);
    if (!ok) problems.push(`${key} = ${JSON.stringify(v)}`);
  }
  return problems;
}

describe('the quick run check', () => {
  const good = Object.fromEntries(
    referenceKeys.map((k) => [k, k === 'mix' ? 'shop' : k === 'quick' ? true : 1.5]),
  );
  const line = (o: Record<string, unknown>) => `table...\nresults: x.json\n${JSON.stringify(o)}\n`;

  it('accepts a run that exited 0 with every figure', () => {
    expect(problemsOf({ code: 0, signal: null, stdout: line(good) })).toEqual([]);
  });

  it('refuses a crash, a null figure, and a line that is not the summary', () => {
    const crashed = Object.fromEntries([...referenceKeys.map((k) => [k, null]), ['error', 'boom']]);
    expect(problemsOf({ code: 1, signal: null, stdout: line(crashed) })).toEqual(
      expect.arrayContaining(['exited with code 1', 'sagasPerSec = null', 'recoverySec = null']),
    );
    expect(problemsOf({ code: 0, signal: null, stdout: line({ ...good, efficiency: null }) })).toEqual([
      'efficiency = null',
    ]);
    expect(problemsOf({ code: null, signal: 'SIGKILL', stdout: 'starting...\n' })).toEqual([
      'exited with signal SIGKILL',
      'last line is not JSON: starting...',
    ]);
    const { recoverySec: _, ...fewer } = good;
    expect(problemsOf({ code: 0, signal: null, stdout: line(fewer) })[0]).toMatch(/^keys /);
  });
});

describe('bench harness (slow: runs the quick benchmark, 1-2 min)', () => {
  it('exits 0 with every figure of the summary as its last line', { timeout: 240_000 }, async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'jetsaga-bench-test-'));
    const out = path.join(dir, 'result.json');
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/bench.ts', '--quick', '--out', out], {
      cwd: root,
      env: { ...process.env, NATS_URL: inject('natsUrl'), MONGO_URL: inject('mongoUrl') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) =>
      child.once('close', (c, s) => resolve([c, s])),
    );
    rmSync(dir, { recursive: true, force: true });
    const notes = stdout
      .split('\n')
      .filter((l) => l.startsWith('note: '))
      .join('\n');
    expect(
      problemsOf({ code, signal, stdout }),
      `${notes}\n--- stderr tail:\n${stderr.slice(-3000)}`,
    ).toEqual([]);
  });
});
